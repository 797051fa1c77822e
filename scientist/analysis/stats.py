"""Comparisons of a run against its baseline over seeds: the difference of means with a 95% interval,
a p-value, Holm's correction across an idea's runs, and a verdict. scipy does the distributions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from scientist.analysis.preregistration import Direction, Test

CONFIDENCE = 0.95


@dataclass
class TestResult:
    """One comparison before correction."""

    n_baseline: int
    n_run: int
    paired: bool
    difference: float  # run mean minus baseline mean
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: str | None
    note: str = ""


def _exact_sign_flip_p(differences: np.ndarray) -> float:
    """Two-sided exact p-value of the mean of paired differences under random sign flips."""
    result = stats.permutation_test((differences,), np.mean, permutation_type="samples",
                                    alternative="two-sided", n_resamples=np.inf)
    return float(min(1.0, result.pvalue))


def _paired(base: np.ndarray, run: np.ndarray, test: Test) -> TestResult:
    d = run - base
    n, mean = len(d), float(np.mean(d))
    if np.allclose(d, d[0], rtol=0, atol=1e-12 * max(1.0, float(np.max(np.abs(d))))):
        if mean == 0 or abs(mean) < 1e-15:
            name = "exact sign-flip permutation" if test == "permutation" else "paired t-test"
            return TestResult(n, n, True, 0.0, 0.0, 0.0, 1.0, name, "every seed gave the baseline's value")
        # no spread in the differences: the t statistic is undefined; the exact sign-flip test is not
        return TestResult(n, n, True, mean, mean, mean, _exact_sign_flip_p(d), "exact sign-flip permutation",
                          "the difference was the same at every seed")
    t = stats.ttest_rel(run, base)
    ci = t.confidence_interval(CONFIDENCE)
    if test == "permutation":
        return TestResult(n, n, True, mean, float(ci.low), float(ci.high), _exact_sign_flip_p(d),
                          "exact sign-flip permutation")
    return TestResult(n, n, True, mean, float(ci.low), float(ci.high), float(t.pvalue), "paired t-test")


def _unpaired(base: np.ndarray, run: np.ndarray) -> TestResult:
    mean = float(np.mean(run) - np.mean(base))
    if np.ptp(base) == 0 and np.ptp(run) == 0:
        if mean == 0:
            return TestResult(len(base), len(run), False, 0.0, 0.0, 0.0, 1.0, "identical values",
                              "every seed gave the same value")
        result = stats.permutation_test((run, base), lambda a, b: np.mean(a) - np.mean(b),
                                        permutation_type="independent", n_resamples=np.inf)
        return TestResult(len(base), len(run), False, mean, mean, mean, float(result.pvalue),
                          "exact permutation", "no spread within either run")
    t = stats.ttest_ind(run, base, equal_var=False)
    ci = t.confidence_interval(CONFIDENCE)
    return TestResult(len(base), len(run), False, mean, float(ci.low), float(ci.high), float(t.pvalue),
                      "Welch t-test")


def compare(base: list[float], run: list[float], *, test: Test = "paired_t",
            base_seeds: list[str] | None = None, run_seeds: list[str] | None = None) -> TestResult:
    """Compare per-seed values of a run with the baseline's. Seeds are paired when both runs report the
    same seeds (by label, or by position when neither labels them and the counts match) and the test
    is a paired one; otherwise Welch's t-test."""
    if base_seeds is not None and run_seeds is not None and sorted(base_seeds) == sorted(run_seeds):
        order = {s: i for i, s in enumerate(run_seeds)}
        run = [run[order[s]] for s in base_seeds]
        pairable = True
    else:
        pairable = base_seeds is None and run_seeds is None and len(base) == len(run)
    b, r = np.asarray(base, dtype=float), np.asarray(run, dtype=float)
    if min(len(b), len(r)) < 2:
        return TestResult(len(b), len(r), False, float(np.mean(r) - np.mean(b)), None, None, None, None,
                          "fewer than 2 seeds: no test")
    if pairable and test != "welch_t":
        return _paired(b, r, test)
    result = _unpaired(b, r)
    if test != "welch_t" and not pairable:
        result.note = "; ".join(filter(None, [result.note, "seeds could not be paired"]))
    return result


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None)."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m, adjusted, running = len(present), list(p_values), 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


Verdict = str  # "better" | "worse" | "higher" | "lower" | "no_difference" | "untested"


def verdict(difference: float, p_adjusted: float | None, *, alpha: float, min_effect: float,
            direction: Direction) -> Verdict:
    """better/worse (or higher/lower when the direction is unknown) when the corrected p-value is below
    alpha and the effect is at least the smallest one that counts; no_difference otherwise; untested
    without a p-value."""
    if p_adjusted is None or math.isnan(p_adjusted):
        return "untested"
    if p_adjusted >= alpha or abs(difference) < max(min_effect, 1e-300):
        return "no_difference"
    if direction == "unknown":
        return "higher" if difference > 0 else "lower"
    return "better" if (difference > 0) == (direction == "max") else "worse"
