"""Novelty: until the literature search lands (issue 4), every idea is honestly marked unchecked."""

from __future__ import annotations

import json
from typing import Any

from langgraph.runtime import Runtime

from scientist.runstore import write_atomic
from scientist.services import Services
from scientist.state import RunState

UNCHECKED_NOTE = ("novelty: not checked against the literature (the literature search is not available yet); "
                  "every idea's verdict is 'unchecked'")


def novelty(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Write an 'unchecked' verdict per idea and say so in the run summary."""
    services = runtime.context
    verdicts = {}
    for idea in state.get("ideas", []):
        verdict = {"idea": idea["name"], "verdict": "unchecked", "closest_papers": [], "queries": [],
                   "sources_used": [], "sources_unreachable": [],
                   "reason": "literature search not available yet"}
        write_atomic(services.folder.path / "ideas" / "novelty" / f"{idea['name']}.json",
                     json.dumps(verdict, indent=2) + "\n")
        verdicts[idea["name"]] = verdict
    return {"novelty": verdicts, "notes": [UNCHECKED_NOTE]}
