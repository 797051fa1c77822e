"""Decision metrics of a reviewer against real outcomes, each with a bootstrap 95% interval.

The literature's rule: predict Accept when the Overall score is at least 6.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel
from sklearn.metrics import roc_auc_score

ACCEPT_THRESHOLD = 6.0
METRICS = ("balanced_accuracy", "accuracy", "f1", "auc", "fpr", "fnr")


class Interval(BaseModel):
    """A bootstrap percentile interval."""

    low: float
    high: float


class CalibrationReport(BaseModel):
    """What ``scientist review-bench`` prints."""

    n: int
    accepted: int
    rejected: int
    balanced_accuracy: float
    accuracy: float
    f1: float
    auc: float | None
    fpr: float
    fnr: float
    intervals: dict[str, Interval]
    threshold: float = ACCEPT_THRESHOLD
    bootstrap: int
    notes: list[str] = []
    calibration: dict[str, object] | None = None  # review-bench --papers: offsets and the leave-one-out reading


def _point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = scores >= threshold
    tp = float(np.sum(labels & predicted))
    tn = float(np.sum(~labels & ~predicted))
    fp = float(np.sum(~labels & predicted))
    fn = float(np.sum(labels & ~predicted))
    tpr = tp / (tp + fn) if tp + fn else 0.0
    tnr = tn / (tn + fp) if tn + fp else 0.0
    both_classes = labels.any() and (~labels).any()
    return {
        "balanced_accuracy": (tpr + tnr) / 2,
        "accuracy": (tp + tn) / len(labels),
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "auc": float(roc_auc_score(labels, scores)) if both_classes else float("nan"),
        "fpr": fp / (fp + tn) if fp + tn else 0.0,
        "fnr": fn / (fn + tp) if fn + tp else 0.0,
    }


def score(labels: list[bool], scores: list[float], *, threshold: float = ACCEPT_THRESHOLD,
          bootstrap: int = 1000, seed: int = 0) -> CalibrationReport:
    """Point metrics and bootstrap 95% intervals (papers resampled with replacement)."""
    if not labels or len(labels) != len(scores):
        raise ValueError("need one score per labelled paper, and at least one paper")
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    point = _point(y, s, threshold)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in METRICS}
    for _ in range(bootstrap):
        idx = rng.integers(0, len(y), len(y))
        for name, value in _point(y[idx], s[idx], threshold).items():
            draws[name].append(value)
    intervals = {}
    for name, values in draws.items():
        finite = np.asarray(values)[np.isfinite(values)]
        if finite.size:
            intervals[name] = Interval(low=float(np.percentile(finite, 2.5)),
                                       high=float(np.percentile(finite, 97.5)))
    auc = point["auc"]
    return CalibrationReport(
        n=len(y), accepted=int(y.sum()), rejected=int((~y).sum()),
        balanced_accuracy=point["balanced_accuracy"], accuracy=point["accuracy"], f1=point["f1"],
        auc=None if np.isnan(auc) else auc, fpr=point["fpr"], fnr=point["fnr"],
        intervals=intervals, threshold=threshold, bootstrap=bootstrap)


def fit_offset(labels: list[bool], scores: list[float], *, threshold: float = ACCEPT_THRESHOLD) -> float:
    """The shift added to every score that maximises balanced accuracy under the accept rule.

    The candidate cut points are midpoints between neighbouring distinct scores (and beyond both ends);
    among equally good cuts the middle one is taken, so the fit does not hug one paper's score.
    """
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    values = np.unique(s)
    cuts = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1.0]])
    quality = np.array([_point(y, s, cut)["balanced_accuracy"] for cut in cuts])
    best = cuts[np.isclose(quality, quality.max())]
    return float(threshold - best[len(best) // 2])


def folds_of(labels: list[bool], folds: int, seed: int = 0) -> list[int]:
    """A fold number for each paper: stratified (each fold gets its share of accepted and rejected
    papers), shuffled with ``seed``."""
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    rng = np.random.default_rng(seed)
    assigned = [0] * len(labels)
    position = 0
    for cls in (True, False):
        members = [i for i, label in enumerate(labels) if label == cls]
        for k, i in enumerate(rng.permutation(members)):
            assigned[int(i)] = (position + k) % folds
        position += len(members)
    return assigned


def cross_validated_scores(labels: list[bool], scores: list[float], *, folds: int = 5, seed: int = 0,
                           threshold: float = ACCEPT_THRESHOLD) -> tuple[list[float], list[float]]:
    """Each paper's score shifted by the offset fitted on the other folds only, so no paper is scored
    by a fit it took part in; also returns the offset fitted for each fold."""
    folds = min(folds, len(labels))
    assigned = folds_of(labels, folds, seed)
    shifted = list(scores)
    offsets = []
    for fold in range(folds):
        train = [i for i, f in enumerate(assigned) if f != fold]
        offset = fit_offset([labels[i] for i in train], [scores[i] for i in train], threshold=threshold)
        offsets.append(offset)
        for i, f in enumerate(assigned):
            if f == fold:
                shifted[i] = scores[i] + offset
    return shifted, offsets
