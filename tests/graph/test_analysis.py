"""The pre-registered analysis through the CLI: an edit at the plan checkpoint is what the paper uses, a
metric switch after approval is a deviation, and a draft whose claims the ledger does not support is
rewritten once and then flagged."""

from __future__ import annotations

import json

import pytest

from scientist.llm.scripted.research import PAPER
from tests.graph.conftest import TOY, only_run

pytestmark = pytest.mark.slow


def analysis_of(run):
    return json.loads((run / "experiments" / "bigger_step" / "analysis.json").read_text())


def edit_plan(scientist, tmp_path, run, run_id, **analysis):
    plan = json.loads((run / "checkpoint_plan.json").read_text())
    assert plan["bigger_step"]["analysis"]["primary_metric"] == "mean_value", "the default is shown at the checkpoint"
    plan["bigger_step"]["analysis"].update(analysis)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return scientist("approve", run_id, "--edit", str(path))


def test_an_edited_analysis_is_what_the_paper_uses(scientist, tmp_path):
    assert scientist("run", str(TOY), "--num-ideas", "1", "--checkpoints", "plan").returncode == 0
    run = only_run(tmp_path)
    bad = edit_plan(scientist, tmp_path, run, run.name, primary_metric="no_such_metric")
    assert bad.returncode == 2 and "not a metric of the template" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    done = edit_plan(scientist, tmp_path, run, run.name, primary_metric="max_value", secondary_metrics=[],
                     alpha=0.01)
    assert done.returncode == 0, done.stderr
    analysis = analysis_of(run)
    assert analysis["preregistered"]["primary_metric"] == "max_value" == analysis["used"]["primary_metric"]
    assert analysis["deviations"] == []
    assert {c["metric"] for c in analysis["comparisons"]} == {"max_value"}
    tex = (run / "paper" / "paper.tex").read_text()
    assert "registered comparisons with the baseline on max\\_value" in tex and "alpha 0.01" in tex
    summary = (run / "summary.md").read_text()
    assert "primary metric max_value" in summary and "| run_1 |" in summary
    status = scientist("status", run.name)
    assert "analysis of bigger_step" in status.stdout and "max_value (primary)" in status.stdout
    assert f"paper: {run / 'paper' / 'paper.pdf'}" in status.stdout and "review: reject" in status.stdout
    assert f"diff: {run / 'experiments' / 'bigger_step' / 'run_1' / 'diff.patch'}" in summary
    assert "+STEP = 1.0" in (run / "experiments" / "bigger_step" / "run_1" / "diff.patch").read_text()
    assert "## Wall time per stage" in summary and "- experiments: " in summary
    assert "fidelity" in summary or "code judged" in summary
    assert "uncalibrated reviewer: a critique, not a verdict" in summary
    assert "Reviewer: openai/fake-model; no measurement" in (run / "reviews" / "review.md").read_text()


def test_a_metric_switch_after_approval_is_a_deviation_in_the_paper(scientist, tmp_path):
    assert scientist("run", str(TOY), "--num-ideas", "1", "--checkpoints", "plan,results").returncode == 0
    run = only_run(tmp_path)
    assert scientist("approve", run.name).returncode == 0  # the plan: mean_value is frozen
    assert scientist("reject", run.name, "--feedback", "try again").returncode == 0  # results: re-plan
    done = edit_plan(scientist, tmp_path, run, run.name, primary_metric="max_value",
                     secondary_metrics=["mean_value"])
    assert done.returncode == 0, done.stderr
    assert scientist("approve", run.name).returncode == 0
    analysis = analysis_of(run)
    assert analysis["preregistered"]["primary_metric"] == "mean_value"
    assert any("primary_metric changed after approval from 'mean_value' to 'max_value'" in d
               for d in analysis["deviations"])
    assert "Deviations from the pre-registered analysis" in (run / "paper" / "paper.tex").read_text()
    assert "deviation: primary_metric changed" in (run / "summary.md").read_text()


UNSUPPORTED = {**PAPER, "results": "The baseline has mean_value 2.25. Doubling the step gives a statistically "
                                   "significant improvement in mean_value over the baseline. A magic 97.3 appears."}


def test_an_unsupported_claim_and_an_invented_number_are_rewritten_once_then_flagged(scientist, research_model,
                                                                                     tmp_path):
    research_model.overrides["PaperSections"] = lambda body: UNSUPPORTED
    assert scientist("run", str(TOY), "--num-ideas", "1", "--checkpoints", "plan").returncode == 0
    run = only_run(tmp_path)
    # the smallest effect that counts is larger than any the toy can make: no verdict can be "better"
    assert edit_plan(scientist, tmp_path, run, run.name, min_effect=100).returncode == 0
    assert {c["verdict"] for c in analysis_of(run)["comparisons"] if c["primary"]} == {"no_difference"}
    assert research_model.calls["PaperSections"] == 2, "one rewrite was asked for"
    claims = json.loads((run / "paper" / "claims_check.json").read_text())
    assert claims["rewrites"] == 1
    assert [c["claim"] for c in claims["unsupported_claims"]] == ["improvement"]
    assert "no_difference" in claims["unsupported_claims"][0]["reason"]
    assert claims["unmatched_numbers"] == {"results": ["97.3"]}
    assert "FLAGGED" in (run / "summary.md").read_text()
    assert "[FLAGGED: a claim the analysis does not support" in (run / "paper" / "paper.tex").read_text()


def test_a_rewrite_that_states_the_verdict_is_clean(scientist, research_model, tmp_path):
    fixed = {**PAPER, "results": "The baseline has mean_value 2.25; run_1 reaches 4.5, better than the baseline."}
    answers = iter([{**UNSUPPORTED, "results": UNSUPPORTED["results"].replace("significant improvement",
                                                                              "significant decline")}, fixed])
    research_model.overrides["PaperSections"] = lambda body: next(answers)
    assert scientist("run", str(TOY), "--auto", "--num-ideas", "1").returncode == 0
    run = only_run(tmp_path)
    assert {c["verdict"] for c in analysis_of(run)["comparisons"] if c["primary"]} == {"better"}
    claims = json.loads((run / "paper" / "claims_check.json").read_text())
    assert claims["unsupported_claims"] == [] and claims["unmatched_numbers"] == {} and claims["rewrites"] == 1
