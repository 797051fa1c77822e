"""Plan: for each idea, the experiment runs that test it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from scientist.analysis.preregistration import AnalysisPlan, default_analysis
from scientist.experiments.checks.names import module_constants
from scientist.experiments.facts.change import (
    SET_VALUE,
    adds_computation,
    clauses,
    drops_the_idea,
    one_setting,
    unrequested_setting,
)
from scientist.experiments.loop import code_head, code_system
from scientist.prompts import render
from scientist.runstore import write_atomic
from scientist.schemas import ExperimentPlan, PlannedRun
from scientist.services import Services
from scientist.state import RunState

# "None (baseline experiment remains unchanged)": a planned change that says it changes nothing
NO_CHANGE = re.compile(r"^\W*(?:none|nothing|no changes?|n/?a)\b|^\W*(?:the\s+)?baseline(?:\s+experiment)?\s+"
                       r"(?:remains|stays|is)\s+unchanged", re.I)
# "set method A with option 0.9 to the metric of method B": a "set" whose object is no single name
MISFORMED_SET = re.compile(r"^\W*set\s+(?![A-Za-z_]\w*\s+to\b)", re.I)


def runs_to_replan(plan: ExperimentPlan, code: str, idea_text: str = "") -> dict[str, str]:
    """Runs that cannot be made as written, or do not test the idea, by name, with the reason: a
    "set NAME to VALUE" whose VALUE the baseline already has, or whose lower-case NAME is no constant
    of the code ("set alpha to 0.05 in fit" makes a small model add an unused variable ``alpha``); a
    run whose change says it changes nothing ("None (baseline experiment remains unchanged)"); and a
    run that only sets constants when the idea adds computation ("Add a ... to ..." planned as "set
    RATE to 0.001"); a "set" clause whose object is no single name ("set method A with ... to ...");
    a run made only of settings that sets a constant the code does not have ("set LOSS to 'mse'" says
    nothing of what computes it); a run whose change drops the idea's method words or values
    (``drops_the_idea``);
    and a run that sets a constant the idea did not ask for (``unrequested_setting``)."""
    constants, found = module_constants(code), {}
    verb = adds_computation(idea_text)
    for run in plan.runs:
        if NO_CHANGE.search(run.change):
            found[run.name] = "the run changes nothing; every run must differ from the baseline"
            continue
        dropped = drops_the_idea(run.change, idea_text, code) if idea_text else None
        if dropped is not None:
            found[run.name] = dropped
        parts = clauses(run.change)
        settings_only = _only_settings(parts, constants, verb)
        if settings_only is not None:
            found[run.name] = settings_only
        for clause in parts:
            match = SET_VALUE.search(clause)
            if match is None and MISFORMED_SET.match(clause):
                found[run.name] = ("'set' names one constant of the code ('set NAME to VALUE'); for anything "
                                   "else, say which function changes and what it computes")
                continue
            if match is None or (match.group(1) not in constants and match.group(1).isupper()):
                continue
            if match.group(1) not in constants:
                found[run.name] = f"experiment.py has no constant {match.group(1)}"
                continue
            if _unrequested(match, constants, idea_text):
                found[run.name] = f"the idea does not ask to change {match.group(1)}: change only what it asks"
                continue
            try:
                value = ast.literal_eval(match.group(2).strip().rstrip(".;"))
            except (ValueError, SyntaxError):
                continue
            if value == constants[match.group(1)]:
                found[run.name] = f"{match.group(1)} is already {value!r} in the baseline"
    return found


def usable_runs(plan: ExperimentPlan, code: str, idea_text: str = "") -> list[PlannedRun]:
    """The plan's runs that ``runs_to_replan`` finds nothing wrong with, each judged on its own (a
    small model may give every run of a plan the same name); a run that is wrong only for settings
    the idea did not ask for is used without them (``without_unrequested``)."""
    usable = []
    for run in plan.runs:
        if not runs_to_replan(plan.model_copy(update={"runs": [run]}), code, idea_text):
            usable.append(run)
            continue
        trimmed = without_unrequested(run, code, idea_text)
        if trimmed is not None and not runs_to_replan(plan.model_copy(update={"runs": [trimmed]}), code, idea_text):
            usable.append(trimmed)
    return usable


def without_unrequested(run: PlannedRun, code: str, idea_text: str) -> PlannedRun | None:
    """``run`` with its clauses that set a constant the idea did not ask for taken out ("set MODE to
    'foo' and change TOL to 1e-4" for an idea about foo keeps its first clause), or ``None`` when there
    is none to take out or nothing else is left."""
    constants, parts = module_constants(code), clauses(run.change)
    kept = [clause for clause in parts
            if not ((match := SET_VALUE.search(clause)) and _unrequested(match, constants, idea_text))]
    if not kept or len(kept) == len(parts):
        return None
    return run.model_copy(update={"change": "; ".join(kept)})


def _only_settings(parts: list[str], constants: dict[str, object], verb: str | None) -> str | None:
    """Why a change made only of "set NAME to VALUE" clauses cannot be made: the idea adds computation
    (``verb``), or one NAME is no constant of the code (a new setting computes nothing by itself, and
    the change says nothing of what does); ``None`` otherwise."""
    matches = [SET_VALUE.search(clause) for clause in parts]
    if not matches or not all(matches):
        return None
    if verb:
        return (f"the idea adds computation ({verb} ...): a run that only "
                "sets constants does not test it; say which function changes and what it computes")
    invented = [m.group(1) for m in matches if m is not None and m.group(1) not in constants]
    if not invented:
        return None
    return (f"experiment.py has no constant {invented[0]}, and a new setting computes nothing by itself: "
            "state the idea's change in its own words and which function computes it")


def _unrequested(setting: re.Match[str], constants: dict[str, object], idea_text: str) -> bool:
    """Whether a "set NAME to VALUE" clause sets a constant of the code the idea did not ask for."""
    name, value = setting.group(1), setting.group(2)
    return bool(idea_text) and name in constants and unrequested_setting(name, value, idea_text)


def plan_idea(idea: dict[str, Any], feedback: str | None, services: Services) -> ExperimentPlan:
    """The runs for one idea (at most ``settings.runs_per_idea``). Runs that change nothing, or do
    not test the idea, are dropped (asked to compare three values, one of them the baseline's, a
    model plans all three). When fewer usable runs remain than
    wanted, the plan is asked for once more, told why, and its usable runs are added; when none is
    usable after that (or the model echoes the reason back), the one run is the idea's own experiment
    text, the change as the idea states it. A sweep in a run ('k in {1, 2, 4}') is narrowed to one
    value ('k = 2')."""
    template = services.template
    code = (template.path / "experiment.py").read_text(encoding="utf-8")
    limit = services.settings.runs_per_idea

    # the experiments' own opening: their prompts reuse its prefill
    system, head = code_system(services), code_head(services, code)

    def ask(note: str | None) -> ExperimentPlan:
        user = render("plan", "plan", code_head=head,
                      idea=json.dumps({k: idea[k] for k in ("name", "title", "hypothesis", "experiment_plan")},
                                      indent=1),
                      runs=limit, metrics=", ".join(template.metric_names) or "its metrics", feedback=note)
        return services.gateway.structured([{"role": "system", "content": system},
                                            {"role": "user", "content": user}], ExperimentPlan,
                                           role="coding", stage="plan", max_tokens=600)

    plan = ask(feedback)
    text = str(idea.get("experiment_plan") or "")
    runs, wrong = usable_runs(plan, code, text), runs_to_replan(plan, code, text)
    if wrong and len(runs) < limit:
        reasons = "; ".join(f"{name}: {why}" for name, why in wrong.items())
        plan = ask("; ".join(filter(None, [feedback, f"some runs cannot be used ({reasons}); plan the idea's "
                                           "own change"])))
        planned = {run.change for run in runs}
        runs += [run for run in usable_runs(plan, code, text)
                 if run.change not in planned and not any(why in run.change for why in wrong.values())]
        if not runs:
            runs = [plan.runs[0].model_copy(update={"change": text})]
    plan.runs = runs[:limit]
    for index, run in enumerate(plan.runs):
        run.change = one_setting(run.change, index)
    plan.idea = idea["name"]
    return plan


def next_free_run(folder: Path) -> int:
    """The first run number after the runs already in ``folder`` (a re-plan never overwrites results)."""
    numbers = [int(p.name[4:]) for p in folder.glob("run_*") if p.name[4:].isdigit()]
    return max([0, *numbers]) + 1


def analysis_for(idea: str, state: RunState, services: Services) -> AnalysisPlan:
    """The analysis a plan commits to: the one frozen at an earlier approval (a re-plan keeps it), else
    the default from the template's metrics."""
    frozen = state.get("preregistered", {}).get(idea)
    if frozen:
        return AnalysisPlan.model_validate(frozen)
    return default_analysis([(m.name, m.direction) for m in services.template.manifest.metrics])


def plan(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Plan every idea's runs and its pre-registered analysis; save ``experiments/<idea>/plan.json``."""
    services = runtime.context
    plans, offsets = {}, {}
    feedback = state.get("feedback", {})
    for idea in state.get("ideas", []):
        services.progress("plan", f"planning runs for '{idea['name']}'")
        planned = plan_idea(idea, feedback.get("plan") or feedback.get("results"), services)
        planned.analysis = analysis_for(idea["name"], state, services)
        offsets[idea["name"]] = next_free_run(services.folder.path / "experiments" / idea["name"])
        write_atomic(services.folder.path / "experiments" / idea["name"] / "plan.json",
                     planned.model_dump_json(indent=2) + "\n")
        plans[idea["name"]] = planned.model_dump(mode="json")
    return {"plans": plans, "run_offsets": offsets}
