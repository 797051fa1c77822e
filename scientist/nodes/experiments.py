"""The experiments node: one idea's experiments (a parallel ``Send`` branch), run by the loop in
``scientist/experiments/``."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from scientist.experiments.loop import IdeaExperiments
from scientist.services import Services
from scientist.state import IdeaTask


def experiments(task: IdeaTask, runtime: Runtime[Services]) -> dict[str, Any]:
    """Run one idea's experiments (a parallel branch of the graph)."""
    result = IdeaExperiments(runtime.context, task).run_all()
    return {"experiments": {task["idea"]["name"]: result}}
