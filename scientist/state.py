"""The graph's state, in one place, with explicit reducers.

Values are plain JSON (pydantic models dumped with ``mode="json"``) so every checkpoint is
readable and portable.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

STAGES = ("ideation", "novelty", "plan", "experiments", "analysis", "plots", "writeup", "review", "revise")
CHECKPOINT_STAGES = ("ideas", "plan", "results", "paper")
STATE_KEY_FOR_CHECKPOINT = {"ideas": "ideas", "plan": "plans", "results": "experiments", "paper": "paper"}


def merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: later keys win; keys not mentioned are kept (parallel experiment branches merge)."""
    return {**(left or {}), **(right or {})}


class RunState(TypedDict, total=False):
    """Everything a run has decided so far."""

    run_id: str
    seed_idea: str | None
    num_ideas: int
    checkpoints: list[str]
    ideas: list[dict[str, Any]]
    novelty: Annotated[dict[str, dict[str, Any]], merge]
    plans: Annotated[dict[str, dict[str, Any]], merge]
    run_offsets: Annotated[dict[str, int], merge]
    preregistered: Annotated[dict[str, dict[str, Any]], merge]  # idea -> the analysis frozen at plan approval
    analysis: Annotated[dict[str, dict[str, Any]], merge]  # idea -> analysis.json
    experiments: Annotated[dict[str, dict[str, Any]], merge]
    figures: list[str]
    paper: dict[str, Any]
    reviews: dict[str, Any]  # the meta-review of the draft
    revisions: list[dict[str, Any]]  # one per revision round: what it rewrote, its paper, its review
    feedback: Annotated[dict[str, str], merge]
    rejections: Annotated[dict[str, int], merge]
    notes: Annotated[list[str], operator.add]
    outcome: str


class IdeaTask(TypedDict):
    """What one experiment branch (a ``Send``) receives."""

    idea: dict[str, Any]
    plan: dict[str, Any]
    first_run: int
