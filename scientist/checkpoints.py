"""Human checkpoints: what the run shows a person, and what the person may answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from scientist.errors import UsageError
from scientist.schemas import ExperimentPlan, Idea

Action = Literal["approve", "edit", "reject", "abort"]
MAX_REJECTIONS = 2
EDITABLE: dict[str, TypeAdapter[Any]] = {
    "ideas": TypeAdapter(list[Idea]),
    "plan": TypeAdapter(dict[str, ExperimentPlan]),
}


class CheckpointRequest(BaseModel):
    """What a paused run waits on: the interrupt payload, saved in the checkpoint."""

    checkpoint: Literal["ideas", "plan", "results", "paper"]
    proposal: Any
    cost_usd: float
    tokens: int
    failures: dict[str, Any]
    actions: list[Action]
    rejections_left: int
    edit_format: str | None = None
    figures: list[str] = Field(default_factory=list)


class Decision(BaseModel):
    """A person's answer to a checkpoint."""

    action: Action
    artifact: Any = None
    feedback: str | None = None


def validate_edit(checkpoint: str, artifact: Any, metrics: list[str] | None = None) -> Any:
    """The edited artifact as plain JSON, or a ``UsageError`` saying what is wrong with it. ``metrics``
    are the template's metrics: an edited plan's analysis may only name those."""
    adapter = EDITABLE.get(checkpoint)
    if adapter is None:
        raise UsageError(f"the '{checkpoint}' checkpoint cannot be edited; approve, reject or abort it")
    try:
        value = adapter.validate_python(artifact)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise UsageError(f"the edited {checkpoint} do not validate: {where}: {err['msg']}") from exc
    if checkpoint == "plan":
        for name, plan in value.items():
            problem = plan.analysis.check_metrics(metrics or []) if plan.analysis is not None else None
            if problem:
                raise UsageError(f"the edited plan do not validate: {name}.analysis: {problem}")
    return adapter.dump_python(value, mode="json")


def allowed_actions(checkpoint: str, rejections: int) -> list[Action]:
    actions: list[Action] = ["approve"]
    if checkpoint in EDITABLE:
        actions.append("edit")
    if rejections < MAX_REJECTIONS:
        actions.append("reject")
    actions.append("abort")
    return actions


def edit_format(checkpoint: str) -> str | None:
    if checkpoint == "ideas":
        return "a JSON list of ideas, the same shape as the proposal"
    if checkpoint == "plan":
        return "a JSON object: idea name -> plan, the same shape as the proposal"
    return None
