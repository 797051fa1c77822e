"""The human checkpoints as graph nodes: pause with ``interrupt()``, then route by the person's decision."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command, Send, interrupt

from scientist.checkpoints import (
    MAX_REJECTIONS,
    CheckpointRequest,
    Decision,
    allowed_actions,
    edit_format,
    validate_edit,
)
from scientist.failures import summarise
from scientist.services import Services
from scientist.state import STATE_KEY_FOR_CHECKPOINT, RunState

Goto = Callable[[RunState], str | Sequence[Send]]


def proposal_of(checkpoint: str, state: RunState) -> Any:
    if checkpoint == "ideas":
        return [{**idea, "novelty_verdict": state.get("novelty", {}).get(idea["name"], {}).get("verdict")}
                for idea in state.get("ideas", [])]
    if checkpoint == "plan":
        return {name: plan for name, plan in state.get("plans", {}).items()
                if name in {i["name"] for i in state.get("ideas", [])}}
    return state.get(STATE_KEY_FOR_CHECKPOINT[checkpoint])


def frozen_analyses(state: RunState, plans: dict[str, Any]) -> dict[str, Any]:
    """The analyses of approved plans not frozen before (the first approval of an idea's plan freezes
    its analysis; a later one may change it, and the change is then a recorded deviation)."""
    done = state.get("preregistered", {})
    return {name: plan["analysis"] for name, plan in plans.items()
            if name not in done and isinstance(plan, dict) and plan.get("analysis")}


def approved(checkpoint: str, state: RunState, goto: str | Sequence[Send], update: dict[str, Any] | None = None,
             ) -> Command[Any]:
    """Go on past ``checkpoint``; approving a plan freezes its pre-registered analysis."""
    update = dict(update or {})
    if checkpoint == "plan":
        frozen = frozen_analyses(state, update.get("plans") or state.get("plans", {}))
        if frozen:
            update["preregistered"] = frozen
    return Command(goto=goto, update=update or None)


def make_checkpoint(checkpoint: str, *, redo: str, goto_next: Goto) -> Callable[..., Command[Any]]:
    """A node that pauses at ``checkpoint`` when the run asked for it, and otherwise passes through."""

    def node(state: RunState, runtime: Runtime[Services]) -> Command[Any]:
        if checkpoint not in state.get("checkpoints", []):
            return approved(checkpoint, state, goto_next(state))
        services = runtime.context
        rejections = state.get("rejections", {}).get(checkpoint, 0)
        ledger = services.gateway.ledger
        request = CheckpointRequest(
            checkpoint=checkpoint, proposal=proposal_of(checkpoint, state), cost_usd=round(ledger.cost_usd, 6),
            tokens=ledger.tokens, failures=summarise(services.failures.attempts()).model_dump(mode="json"),
            actions=allowed_actions(checkpoint, rejections), rejections_left=max(0, MAX_REJECTIONS - rejections),
            edit_format=edit_format(checkpoint), figures=state.get("figures", []))
        decision = Decision.model_validate(interrupt(request.model_dump(mode="json")))
        if decision.action == "abort":
            return Command(goto="finish", update={"outcome": "aborted",
                                                  "notes": [f"aborted by the user at the '{checkpoint}' checkpoint"]})
        if decision.action == "reject" and decision.action in request.actions:
            return Command(goto=redo, update={"feedback": {checkpoint: decision.feedback or ""},
                                              "rejections": {checkpoint: rejections + 1}})
        if decision.action == "edit":
            key = STATE_KEY_FOR_CHECKPOINT[checkpoint]
            edited = validate_edit(checkpoint, decision.artifact, services.template.metric_names)
            new_state: RunState = {**state, key: edited}  # type: ignore[misc]
            return approved(checkpoint, new_state, goto_next(new_state),
                            {key: edited, "notes": [f"{checkpoint}: edited by the user"]})
        return approved(checkpoint, state, goto_next(state))

    node.__name__ = f"checkpoint_{checkpoint}"
    return node

