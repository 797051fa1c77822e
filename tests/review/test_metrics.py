"""The calibration metrics reproduce the published figures from the published reviews."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scientist.errors import UsageError
from scientist.review.labels import read_decisions, read_overall_scores
from scientist.review.metrics import score

BENCH = Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "iclr2022"
GPT4O = BENCH / "llm_reviews" / "gpt-4o-2024-05-13_temp_0_1_fewshot_1_reflect_5_ensemble_5_pages_all.csv"
needs_bench = pytest.mark.skipif(not GPT4O.is_file(), reason=f"benchmark data not found at {BENCH}")


def test_perfect_and_inverted_reviewers():
    labels = [True, True, False, False]
    perfect = score(labels, [8, 7, 3, 4], bootstrap=50)
    assert (perfect.balanced_accuracy, perfect.accuracy, perfect.f1, perfect.auc) == (1, 1, 1, 1)
    assert (perfect.fpr, perfect.fnr) == (0, 0)
    inverted = score(labels, [3, 4, 8, 7], bootstrap=50)
    assert (inverted.balanced_accuracy, inverted.auc, inverted.fpr, inverted.fnr) == (0, 0, 1, 1)


def test_threshold_is_at_least_six():
    report = score([True, False], [6.0, 5.99], bootstrap=10)
    assert report.accuracy == 1.0


def test_intervals_contain_the_point_estimate():
    labels = [i % 3 == 0 for i in range(90)]
    scores = [7 if (i % 3 == 0) == (i % 5 != 0) else 4 for i in range(90)]
    report = score(labels, scores, bootstrap=300)
    for name in ("balanced_accuracy", "accuracy", "f1", "fpr", "fnr"):
        interval = report.intervals[name]
        assert interval.low <= getattr(report, name) <= interval.high


def test_bad_files_are_clear_errors(tmp_path):
    bad = tmp_path / "x.tsv"
    bad.write_text("id\tdecision\n")
    with pytest.raises(UsageError, match="paper_id"):
        read_decisions(bad)
    with pytest.raises(UsageError, match="not found"):
        read_overall_scores(tmp_path / "nope.csv")


@needs_bench
def test_published_gpt4o_figures_are_reproduced():
    decisions = read_decisions(BENCH / "ratings_subset.tsv")
    overall = read_overall_scores(GPT4O)
    ids = sorted(set(decisions) & set(overall))
    report = score([decisions[i] for i in ids], [overall[i] for i in ids])
    assert report.n == 500
    assert (round(report.balanced_accuracy, 2), round(report.accuracy, 2), round(report.f1, 2)) == (
        0.65, 0.66, 0.57)


@needs_bench
def test_review_bench_cli_from_csv_json():
    done = subprocess.run(
        [sys.executable, "-c", "from scientist.cli import main; main()", "review-bench",
         "--labels", str(BENCH / "ratings_subset.tsv"), "--from-csv", str(GPT4O), "--json"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "SCIENTIST_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {"balanced_accuracy", "accuracy", "f1", "auc", "fpr", "fnr", "n"} <= report.keys()
    assert (round(report["balanced_accuracy"], 2), round(report["accuracy"], 2), round(report["f1"], 2),
            report["n"]) == (0.65, 0.66, 0.57, 500)
    assert report["intervals"]["balanced_accuracy"]["low"] < 0.65 < report["intervals"]["balanced_accuracy"]["high"]


def test_an_offset_is_fitted_and_checked_on_held_out_folds():
    from scientist.review.metrics import cross_validated_scores, fit_offset, folds_of, score

    labels = [True, True, True, False, False, False] * 2
    scores = [7.6, 7.4, 7.2, 7.0, 6.8, 6.6] * 2  # perfectly ranked, all above 6: the raw rule accepts everything
    assert score(labels, scores, bootstrap=10).balanced_accuracy == 0.5
    offset = fit_offset(labels, scores)
    assert offset == pytest.approx(6.0 - 7.1)
    assert score(labels, [s + offset for s in scores], bootstrap=10).balanced_accuracy == 1.0
    folds = folds_of(labels, 3)
    for fold in range(3):  # stratified: each fold holds accepted and rejected papers alike
        members = [labels[i] for i, f in enumerate(folds) if f == fold]
        assert members.count(True) == members.count(False) == 2
    shifted, offsets = cross_validated_scores(labels, scores, folds=3)
    assert len(offsets) == 3 and score(labels, shifted, bootstrap=10).balanced_accuracy >= 0.8
    # a held-out paper's own score never moves its offset: change it and the others' shifts stay
    moved = list(scores)
    moved[0] = 1.0
    again, _ = cross_validated_scores(labels, moved, folds=3)
    same_fold = [i for i, f in enumerate(folds) if f == folds[0]]
    assert all(again[i] - moved[i] == pytest.approx(shifted[i] - scores[i]) for i in same_fold)
    noisy = [7.0, 6.6, 7.4, 7.2, 6.8, 7.6] * 2  # no signal: the held-out reading must not invent any
    assert score(labels, cross_validated_scores(labels, noisy, folds=3)[0], bootstrap=10).balanced_accuracy <= 0.6
