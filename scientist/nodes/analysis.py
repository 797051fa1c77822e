"""Analysis: each idea's runs against its baseline under the pre-registered analysis (``analysis.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from scientist.analysis.ledger import analyse_idea
from scientist.analysis.preregistration import AnalysisPlan, default_analysis
from scientist.analysis.record import diff_text
from scientist.runstore import write_atomic
from scientist.services import Services
from scientist.state import RunState


def write_diffs(workdir: Path, outcome: dict[str, Any]) -> None:
    """``run_k/diff.patch``: each successful run's experiment.py against the baseline's."""
    base = workdir / "run_0" / "experiment.py"
    for run in outcome.get("runs", []):
        code = workdir / run["run"] / "experiment.py"
        if run.get("ok") and base.is_file() and code.is_file():
            write_atomic(workdir / run["run"] / "diff.patch",
                         diff_text(base.read_text(encoding="utf-8"), code.read_text(encoding="utf-8")))


def analysis(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Compute and save ``experiments/<idea>/analysis.json`` for every idea that ran."""
    services = runtime.context
    metrics = [(m.name, m.direction) for m in services.template.manifest.metrics]
    found, notes = {}, []
    for name, outcome in state.get("experiments", {}).items():
        services.progress("analysis", f"testing the runs of '{name}' against the baseline")
        plan = state.get("plans", {}).get(name) or {}
        frozen_raw = state.get("preregistered", {}).get(name)
        frozen = AnalysisPlan.model_validate(frozen_raw) if frozen_raw else None
        used = (AnalysisPlan.model_validate(plan["analysis"]) if plan.get("analysis")
                else frozen or default_analysis(metrics))
        workdir = services.folder.path / "experiments" / name
        write_diffs(workdir, outcome)
        result = analyse_idea(name, outcome, workdir, used, frozen, metrics)
        write_atomic(services.folder.path / "experiments" / name / "analysis.json",
                     result.model_dump_json(indent=2) + "\n")
        found[name] = result.model_dump(mode="json")
        notes += [f"analysis of {name}: deviation from the pre-registered analysis: {d}" for d in result.deviations]
        if result.comparisons and all(c.verdict == "untested" for c in result.comparisons):
            notes.append(f"analysis of {name}: no test was run: the template reports no per-seed values")
    return {"analysis": found, "notes": notes}
