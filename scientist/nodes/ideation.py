"""Ideation: ideas from the template's prompt and seed ideas and the user's idea, improved by reflection."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from scientist.prompts import render
from scientist.runstore import write_atomic
from scientist.schemas import Idea, IdeaBatch, IdeaReflection
from scientist.services import Services
from scientist.state import RunState


def _limits_text(services: Services) -> str:
    lim = services.template.manifest.limits
    return f"{lim.timeout_s:.0f} s per run, {lim.memory_mb} MB, {lim.cpus:g} CPU cores"


def _system(services: Services) -> dict[str, str]:
    return {"role": "system", "content": render("ideation", "system",
                                                template_system=services.template.prompt.system,
                                                limits=_limits_text(services))}


def earlier_ideas(services: Services) -> list[dict[str, Any]]:
    """Ideas that earlier runs proposed for the same template (read from their run folders)."""
    found = []
    runs_dir = services.folder.path.parent
    for ideas_file in sorted(runs_dir.glob("*/ideas/ideas.json")):
        run = ideas_file.parents[1]
        if run == services.folder.path:
            continue
        try:
            manifest = json.loads((run / "run.json").read_text())
            if Path(manifest.get("template", "")).resolve() == services.template.path:
                found += json.loads(ideas_file.read_text())
        except (OSError, json.JSONDecodeError):
            continue
    return found


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3}


def near_duplicate(idea: Idea, others: list[dict[str, Any]], threshold: float = 0.6) -> bool:
    """Same name, or titles sharing most of their words (Jaccard >= threshold)."""
    mine = _words(idea.title)
    for other in others:
        theirs = _words(other.get("title", ""))
        if idea.name == other.get("name") or (mine and theirs and len(mine & theirs) / len(mine | theirs) >= threshold):
            return True
    return False


def propose(state: RunState, services: Services, earlier: list[dict[str, Any]]) -> list[Idea]:
    """One structured call for the batch of new ideas."""
    template = services.template
    code = (template.path / "experiment.py").read_text(encoding="utf-8")
    user = render("ideation", "propose", task_description=template.prompt.task_description, code=code,
                  seed_ideas=[f"{s.title}: {s.experiment}" for s in template.seed_ideas],
                  previous=[f"{i['title']}" for i in [*state.get("ideas", []), *earlier]][-20:],
                  seed_idea=state.get("seed_idea"), feedback=state.get("feedback", {}).get("ideas"),
                  n=state.get("num_ideas", 1), metrics=", ".join(template.metric_names) or "its metrics")
    batch = services.gateway.structured([_system(services), {"role": "user", "content": user}], IdeaBatch,
                                        role="ideation", stage="ideation", max_tokens=700 * state.get("num_ideas", 1))
    return batch.ideas[: state.get("num_ideas", 1)]


def reflect(idea: Idea, services: Services) -> Idea:
    """Up to ``settings.reflections`` rounds of self-critique, stopping early when the model is done."""
    for round_no in range(services.settings.reflections):
        services.progress("ideation", f"reflecting on '{idea.name}' (round {round_no + 1})")
        user = render("ideation", "reflect", idea=idea.model_dump_json(indent=1), limits=_limits_text(services))
        answer = services.gateway.structured([_system(services), {"role": "user", "content": user}], IdeaReflection,
                                             role="ideation", stage="ideation", max_tokens=900)
        idea = answer.improved
        if answer.done:
            break
    return idea


def unique(ideas: list[Idea]) -> list[Idea]:
    """Drop ideas whose name repeats an earlier one."""
    seen: set[str] = set()
    kept = []
    for idea in ideas:
        if idea.name not in seen:
            seen.add(idea.name)
            kept.append(idea)
    return kept


def ideation(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Propose ideas, reflect on each, save ``ideas/ideas.json``."""
    services = runtime.context
    services.progress("ideation", f"proposing {state.get('num_ideas', 1)} idea(s)")
    earlier = earlier_ideas(services)
    proposed = propose(state, services, earlier)
    fresh = [idea for idea in proposed if not near_duplicate(idea, earlier)] or proposed[:1]
    ideas = unique([reflect(idea, services) for idea in fresh])
    notes = [f"ideation: dropped {len(proposed) - len(fresh)} idea(s) that repeated earlier runs' ideas"] \
        if len(fresh) < len(proposed) else []
    dumped = [idea.model_dump(mode="json") for idea in ideas]
    write_atomic(services.folder.path / "ideas" / "ideas.json", json.dumps(dumped, indent=2) + "\n")
    return {"ideas": dumped, "notes": notes}
