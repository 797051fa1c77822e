"""The analysis of an idea from its run folders: per-seed values, Holm across runs, verdicts, deviations,
and a template without per-seed values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from scientist.analysis.ledger import NO_PER_SEED, analyse_idea, statement
from scientist.analysis.per_seed import parse_per_seed
from scientist.analysis.preregistration import AnalysisPlan, default_analysis, deviations

METRICS = [("acc", "max"), ("loss", "min")]


def write_run(folder: Path, run: str, acc: list[float], loss: list[float], per_seed: bool = True) -> dict:
    entry = {"means": {"acc": sum(acc) / len(acc), "loss": sum(loss) / len(loss)},
             "stderrs": {"acc": 0.001, "loss": 0.01}}
    if per_seed:
        entry["per_seed"] = [{"acc": a, "loss": lo} for a, lo in zip(acc, loss, strict=True)]
    (folder / run).mkdir(parents=True)
    (folder / run / "final_info.json").write_text(json.dumps({"data": entry}))
    return {"data": entry["means"]}


def outcome(folder: Path, per_seed: bool = True) -> dict:
    base = write_run(folder, "run_0", [0.90, 0.91, 0.92], [1.0, 1.1, 1.2], per_seed)
    good = write_run(folder, "run_1", [0.95, 0.97, 0.96], [0.9, 1.0, 1.1], per_seed)
    same = write_run(folder, "run_2", [0.90, 0.91, 0.92], [1.0, 1.1, 1.2], per_seed)
    return {"baseline": base, "runs": [
        {"run": "run_1", "name": "wide", "change": "set WIDTH to 128", "ok": True, "means": good},
        {"run": "run_2", "change": "set DEPTH to 2", "ok": True, "means": same},
        {"run": "run_3", "change": "add dropout", "ok": False, "failure": "runtime_error: NameError"}]}


def test_the_analysis_tests_each_run_and_corrects_across_runs(tmp_path):
    used = default_analysis(METRICS)
    result = analyse_idea("idea", outcome(tmp_path), tmp_path, used, used, METRICS)
    primary = {c.run: c for c in result.primary()}
    assert set(primary) == {"run_1", "run_2"} and all(c.metric == "acc" for c in primary.values())
    raw = stats.ttest_rel([0.95, 0.97, 0.96], [0.90, 0.91, 0.92]).pvalue
    assert primary["run_1"].p_value == pytest.approx(raw)
    assert primary["run_1"].p_adjusted == pytest.approx(min(1, 2 * raw)), "Holm over the idea's two runs"
    assert primary["run_1"].verdict == "better" and primary["run_2"].verdict == "no_difference"
    loss = next(c for c in result.comparisons if c.metric == "loss" and c.run == "run_1")
    assert loss.direction == "min" and loss.difference == pytest.approx(-0.1)
    assert result.failed_runs[0].run == "run_3"
    assert any("run_3" in d and "not compared" in d for d in result.deviations)
    assert result.seeds == 3
    line = statement(primary["run_2"], 0.05)
    assert "no detectable difference at 3 seeds" in line and "paired t-test" in line


def test_a_template_without_per_seed_values_is_marked_untested(tmp_path):
    used = default_analysis(METRICS)
    result = analyse_idea("idea", outcome(tmp_path, per_seed=False), tmp_path, used, used, METRICS)
    assert result.comparisons and all(c.verdict == "untested" and c.note == NO_PER_SEED for c in result.comparisons)
    assert "no test: per-seed values not reported" in statement(result.comparisons[0], 0.05)


def test_a_metric_switch_after_approval_is_a_deviation(tmp_path):
    frozen = default_analysis(METRICS)
    switched = frozen.model_copy(update={"primary_metric": "loss", "direction": "min", "secondary_metrics": ["acc"]})
    result = analyse_idea("idea", outcome(tmp_path), tmp_path, switched, frozen, METRICS)
    assert any("primary_metric changed after approval from 'acc' to 'loss'" in d for d in result.deviations)
    assert {c.metric for c in result.primary()} == {"loss"}
    assert deviations(frozen, frozen) == []


def test_pre_registered_seeds_not_reported_are_a_deviation(tmp_path):
    used = AnalysisPlan(primary_metric="acc", direction="max", seeds=5)
    result = analyse_idea("idea", outcome(tmp_path), tmp_path, used, used, METRICS)
    assert any("3 seeds were reported where 5 were pre-registered" in d for d in result.deviations)


def test_per_seed_shapes():
    assert parse_per_seed({"per_seed": {"acc": [1, 2], "loss": [3, 4]}}).values == {"acc": [1, 2], "loss": [3, 4]}
    labelled = parse_per_seed({"per_seed": [{"seed": 7, "acc": 1.0}, {"seed": 8, "acc": 2.0}]})
    assert labelled.seeds == ["7", "8"] and labelled.values == {"acc": [1.0, 2.0]}
    assert parse_per_seed({"means": {"acc": 1}}) is None


def test_an_edited_analysis_must_name_template_metrics():
    from scientist.checkpoints import validate_edit
    from scientist.errors import UsageError

    plan = {"idea": "x", "runs": [{"name": "a_run", "change": "set WIDTH to 128"}], "measure": "acc",
            "analysis": {"primary_metric": "accuracy", "direction": "max"}}
    with pytest.raises(UsageError, match="'accuracy' is not a metric of the template"):
        validate_edit("plan", {"x": plan}, ["acc", "loss"])
    plan["analysis"]["alpha"] = 2
    with pytest.raises(UsageError, match="alpha"):
        validate_edit("plan", {"x": plan}, ["acc", "loss"])
    plan["analysis"] = {"primary_metric": "loss", "direction": "min", "alpha": 0.01}
    assert validate_edit("plan", {"x": plan}, ["acc", "loss"])["x"]["analysis"]["alpha"] == 0.01
