"""Plan: for each idea, the experiment runs that test it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from scientist.prompts import render
from scientist.runstore import write_atomic
from scientist.schemas import ExperimentPlan
from scientist.services import Services
from scientist.state import RunState


def plan_idea(idea: dict[str, Any], feedback: str | None, services: Services) -> ExperimentPlan:
    """One structured call: the runs for one idea (at most ``settings.runs_per_idea``)."""
    template = services.template
    user = render("plan", "plan", task_description=template.prompt.task_description,
                  code=(template.path / "experiment.py").read_text(encoding="utf-8"),
                  idea=json.dumps({k: idea[k] for k in ("name", "title", "hypothesis", "experiment_plan")}, indent=1),
                  runs=services.settings.runs_per_idea, metrics=", ".join(template.metric_names) or "its metrics",
                  feedback=feedback)
    plan = services.gateway.structured([{"role": "system", "content": template.prompt.system},
                                        {"role": "user", "content": user}], ExperimentPlan,
                                       role="coding", stage="plan", max_tokens=600)
    plan.idea = idea["name"]
    plan.runs = plan.runs[: services.settings.runs_per_idea]
    return plan


def next_free_run(folder: Path) -> int:
    """The first run number after the runs already in ``folder`` (a re-plan never overwrites results)."""
    numbers = [int(p.name[4:]) for p in folder.glob("run_*") if p.name[4:].isdigit()]
    return max([0, *numbers]) + 1


def plan(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Plan every idea's runs and save ``experiments/<idea>/plan.json``."""
    services = runtime.context
    plans, offsets = {}, {}
    feedback = state.get("feedback", {})
    for idea in state.get("ideas", []):
        services.progress("plan", f"planning runs for '{idea['name']}'")
        planned = plan_idea(idea, feedback.get("plan") or feedback.get("results"), services)
        offsets[idea["name"]] = next_free_run(services.folder.path / "experiments" / idea["name"])
        write_atomic(services.folder.path / "experiments" / idea["name"] / "plan.json",
                     planned.model_dump_json(indent=2) + "\n")
        plans[idea["name"]] = planned.model_dump(mode="json")
    return {"plans": plans, "run_offsets": offsets}
