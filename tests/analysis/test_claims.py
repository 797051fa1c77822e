"""The claims check against the ledger: comparative claims must match a verdict; settings are not results."""

from __future__ import annotations

from scientist.analysis.ledger import Comparison
from scientist.claims import check_claims, claim_kinds, numbers_in


def comparison(run: str, verdict: str, difference: float, metric: str = "test_accuracy", primary: bool = True):
    return Comparison(id=f"i:{run}", idea="i", run=run, change="set HIDDEN_SIZES to (128,)", setting="digits",
                      metric=metric, primary=primary, direction="max", baseline_mean=0.97, run_mean=0.97 + difference,
                      difference=difference, p_value=0.4, p_adjusted=0.4, verdict=verdict, test="paired t-test",
                      n_run=3, n_baseline=3)


LEDGER = [comparison("run_1", "no_difference", 0.002)]


def check(text: str, ledger=LEDGER, settings=()):
    return check_claims({"results": text}, [0.97, 0.972], set(), ledger, settings)


def test_an_improvement_the_ledger_does_not_support_is_flagged():
    report = check("The wider layer improves test accuracy over the baseline.")
    assert [c.claim for c in report.unsupported_claims] == ["improvement"]
    assert "no_difference" in report.unsupported_claims[0].reason


def test_significance_without_a_test_is_flagged_and_no_difference_with_one_is_not():
    untested = [comparison("run_1", "untested", 0.002)]
    assert check("The improvement is not statistically significant.", untested).unsupported_claims
    assert not check("The improvement is not statistically significant.").unsupported_claims
    assert check("run_1 is significantly better than the baseline.").unsupported_claims


def test_a_supported_claim_and_hypotheses_pass():
    better = [comparison("run_1", "better", 0.01)]
    assert not check("run_1 improves test accuracy.", better).unsupported_claims
    assert not check("Test accuracy is higher for run_1.", better).unsupported_claims
    assert check("Test accuracy is lower for run_1.", better).unsupported_claims
    assert not check("We hypothesise that a wider layer improves accuracy.").unsupported_claims
    assert not check("Wider layers improve accuracy [@he2016].").unsupported_claims


def test_claims_are_read_for_the_run_and_metric_they_name():
    ledger = [comparison("run_1", "better", 0.01), comparison("run_2", "no_difference", 0.0)]
    assert not check("run_1 outperforms the baseline.", ledger).unsupported_claims
    assert check("run_2 outperforms the baseline.", ledger).unsupported_claims


def test_a_setting_is_not_an_unmatched_result():
    settings = numbers_in("set HIDDEN_SIZES to (128,)")
    report = check("With 128 hidden units the accuracy is 0.972 and 97.3 elsewhere.", settings=settings)
    assert report.unmatched_numbers == {"results": ["97.3"]} and report.settings_recognised == ["128"]
    assert report.unmatched_sentences[0].numbers == ["97.3"] and "97.3" in report.unmatched_sentences[0].sentence


def test_claim_kinds():
    assert claim_kinds("Dropout did not improve accuracy.", True) == ["no_difference"]
    assert claim_kinds("Accuracy was comparable to the baseline.", True) == ["no_difference"]
    assert claim_kinds("Could this improve accuracy?", True) == []
    assert claim_kinds("We train for 20 epochs.", True) == []


def test_each_clause_is_its_own_claim_and_negation_is_local():
    ledger = [comparison("run_1", "no_difference", 0.007),
              comparison("run_1", "better", -0.007, metric="final_train_loss", primary=False)]
    text = ("Adding a wider hidden layer does not improve the test accuracy, with a significant difference over "
            "the baseline.")
    assert [c.claim for c in check(text, ledger).unsupported_claims] == ["significant"]
    fine = "The wider layer does not improve test accuracy, but the final training loss is significantly better."
    assert not check(fine, ledger).unsupported_claims
    wrong = "The wider layer improves test accuracy, but the final training loss is not significantly different."
    assert [c.claim for c in check(wrong, ledger).unsupported_claims] == ["improvement"]
