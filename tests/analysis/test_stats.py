"""The statistics against known values: scipy computed directly, and cases worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from scientist.analysis.stats import compare, holm, verdict

BASE = [0.961, 0.972, 0.955]
RUN = [0.968, 0.979, 0.965]


def test_paired_t_matches_scipy_with_three_seeds():
    result = compare(BASE, RUN)
    d = np.subtract(RUN, BASE)
    expected = stats.ttest_rel(RUN, BASE)
    assert result.paired and result.test == "paired t-test"
    assert result.difference == pytest.approx(d.mean())
    assert result.p_value == pytest.approx(expected.pvalue)
    # the interval by hand: mean +- t_{0.975, n-1} * sd / sqrt(n)
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    assert result.ci_low == pytest.approx(d.mean() - half) and result.ci_high == pytest.approx(d.mean() + half)


def test_identical_results_are_no_difference_without_dividing_by_zero():
    result = compare(BASE, list(BASE))
    assert result.difference == 0 and result.p_value == 1.0 and result.ci_low == 0 == result.ci_high
    assert verdict(result.difference, result.p_value, alpha=0.05, min_effect=0, direction="max") == "no_difference"


def test_a_constant_shift_uses_the_exact_sign_flip_p_value():
    result = compare(BASE, [b + 0.01 for b in BASE])
    assert result.difference == pytest.approx(0.01)
    assert result.p_value == pytest.approx(2 / 8), "3 seeds: 2 of the 8 sign patterns are as extreme"


def test_exact_permutation_on_request_matches_scipy():
    base, run = [1.0, 2.0, 3.0, 4.0, 5.0], [1.4, 2.1, 3.9, 4.2, 5.8]
    d = np.subtract(run, base)
    expected = stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=np.inf)
    assert compare(base, run, test="permutation").p_value == pytest.approx(expected.pvalue)


def test_seeds_pair_by_label_and_unpaired_runs_use_welch():
    paired = compare([1.0, 2.0, 3.0], [3.1, 1.2, 2.05], base_seeds=["0", "1", "2"], run_seeds=["2", "0", "1"])
    # the run's seeds reordered to 0, 1, 2: 1.2, 2.05, 3.1; differences 0.2, 0.05, 0.1
    assert paired.paired and paired.difference == pytest.approx(0.35 / 3)
    assert paired.p_value == pytest.approx(stats.ttest_rel([1.2, 2.05, 3.1], [1.0, 2.0, 3.0]).pvalue)
    welch = compare([1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0])
    expected = stats.ttest_ind([2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0], equal_var=False)
    assert not welch.paired and welch.test == "Welch t-test" and welch.p_value == pytest.approx(expected.pvalue)


def test_one_seed_is_not_tested():
    result = compare([1.0], [2.0])
    assert result.p_value is None and "fewer than 2 seeds" in result.note


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04 over m=3: 0.03, max(0.03, 0.04) = 0.04, max(0.04, 0.04) = 0.04
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, None, 0.9]) == [pytest.approx(1.0), None, pytest.approx(1.0)]


def test_verdicts_follow_direction_alpha_and_smallest_effect():
    assert verdict(0.02, 0.01, alpha=0.05, min_effect=0, direction="max") == "better"
    assert verdict(0.02, 0.01, alpha=0.05, min_effect=0, direction="min") == "worse"
    assert verdict(-0.02, 0.01, alpha=0.05, min_effect=0, direction="unknown") == "lower"
    assert verdict(0.02, 0.2, alpha=0.05, min_effect=0, direction="max") == "no_difference"
    assert verdict(0.02, 0.01, alpha=0.05, min_effect=0.05, direction="max") == "no_difference"
    assert verdict(0.02, None, alpha=0.05, min_effect=0, direction="max") == "untested"
