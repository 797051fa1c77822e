"""Drive a run's graph: start, resume after a crash, answer a checkpoint; keep ``run.json`` true.

One process works on a run at a time (a lock file in the run folder). The graph checkpoints
synchronously after every step, so a process killed at any moment loses at most the step
in progress, and that step's finished pieces (experiment runs, model replies) are reused.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.types import Command
from pydantic import BaseModel

from scientist.checkpoints import CheckpointRequest, Decision, validate_edit
from scientist.config import ROLES, Settings
from scientist.errors import ScientistError, UsageError
from scientist.failures import FailureLog
from scientist.graph import compile_graph, open_checkpointer
from scientist.literature.search import build_literature
from scientist.llm.gateway import Gateway
from scientist.llm.ledger import Budget, Ledger, ResponseCache
from scientist.runstore import RunFolder, RunStatus, Totals
from scientist.sandbox.base import Sandbox
from scientist.services import Progress, Services
from scientist.state import RunState
from scientist.template.manifest import load_template


class RunReport(BaseModel):
    """Where a run stands after the controller drove it."""

    run_id: str
    status: RunStatus
    stage: str | None
    pending: CheckpointRequest | None = None
    summary: str | None = None
    error: str | None = None


def lock_is_held(folder: RunFolder) -> bool:
    """Whether a live process holds the run's lock (a run marked running whose lock is free was killed)."""
    path = folder.path / ".lock"
    if not path.is_file():
        return False
    with path.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def shown_status(folder: RunFolder, status: RunStatus) -> str:
    """The run's recorded ``status`` as a person should read it: a run marked running whose lock nobody
    holds was killed or crashed, and is shown as interrupted."""
    if status == RunStatus.RUNNING and not lock_is_held(folder):
        return "interrupted"
    return status.value


@contextmanager
def run_lock(folder: RunFolder) -> Iterator[None]:
    """Refuse a second process on the same run."""
    path = folder.path / ".lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UsageError(f"run {folder.run_id} is being worked on by another scientist process") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class RunController:
    """Owns one run's services and graph."""

    def __init__(self, settings: Settings, folder: RunFolder, sandbox: Sandbox,
                 progress: Progress | None = None, on_node: Callable[[str, float], None] | None = None) -> None:
        self.settings = settings
        self.folder = folder
        self.manifest = folder.read_manifest()
        template = load_template(Path(self.manifest.template))
        ledger = Ledger(folder.llm_calls_path, Budget(usd=settings.budget_usd, tokens=settings.budget_tokens))
        gateway = Gateway(settings, ledger, cache=ResponseCache(folder.path / "llm_cache.jsonl"))
        self._progress = progress or (lambda stage, message: None)
        self.on_node = on_node or (lambda node, seconds: None)
        literature = build_literature(settings)
        self.services = Services(settings=settings, gateway=gateway, sandbox=sandbox, folder=folder,
                                 failures=FailureLog(folder.failures_path), template=template,
                                 literature=literature, progress=self._report_progress)
        self.checkpointer = open_checkpointer(folder.checkpoints_path)
        self.graph = compile_graph(self.checkpointer)
        self.config: dict[str, Any] = {"configurable": {"thread_id": self.manifest.run_id},
                                       "max_concurrency": settings.concurrency, "recursion_limit": 200}

    def _report_progress(self, stage: str, message: str) -> None:
        if self.manifest.stage != stage:
            self.manifest.stage = stage
            self._save()
        self.folder.add_event("progress", stage, message)
        self._progress(stage, message)

    def _save(self) -> None:
        ledger = self.services.gateway.ledger
        self.manifest.totals = Totals(calls=ledger.calls, tokens_in=ledger.tokens_in, tokens_out=ledger.tokens_out,
                                      cost_usd=ledger.cost_usd)
        self.folder.write_manifest(self.manifest)

    # -- reading the checkpoint --------------------------------------------------------------
    def snapshot(self) -> Any:
        return read_snapshot(self.graph, self.config, self.folder)

    def pending(self) -> CheckpointRequest | None:
        """The checkpoint the run waits at, if any."""
        return pending_in(self.snapshot())

    # -- driving -------------------------------------------------------------------------------
    def start(self, initial: RunState) -> RunReport:
        return self._drive(initial)

    def resume(self) -> RunReport:
        """Continue a run that stopped (killed, failed, budget spent) from its last checkpoint."""
        if self.manifest.status in (RunStatus.FINISHED, RunStatus.ABORTED):
            raise UsageError(f"run {self.manifest.run_id} is already {self.manifest.status.value}; nothing to resume")
        pending = self.pending()
        if pending is not None:
            return self._paused(pending)
        return self._drive(None)

    def answer(self, decision: Decision) -> RunReport:
        """Answer the pending checkpoint and continue."""
        pending = self.pending()
        if pending is None:
            raise UsageError(f"run {self.manifest.run_id} is not paused at a checkpoint "
                             f"(status: {self.manifest.status.value})")
        if decision.action not in pending.actions:
            raise UsageError(f"'{decision.action}' is not allowed at the '{pending.checkpoint}' checkpoint "
                             f"(allowed: {', '.join(pending.actions)})")
        if decision.action == "edit":
            decision.artifact = validate_edit(pending.checkpoint, decision.artifact,
                                              self.services.template.metric_names)
        return self._drive(Command(resume=decision.model_dump(mode="json")))

    def _drive(self, graph_input: Any) -> RunReport:
        self.manifest.status = RunStatus.RUNNING
        self._save()
        self.folder.add_event("status", self.manifest.stage or "start", "running")
        try:
            last = time.perf_counter()
            for chunk in self.graph.stream(graph_input, self.config, stream_mode="updates", durability="sync",
                                           context=self.services):
                now = time.perf_counter()
                for node in chunk:
                    if node != "__interrupt__":
                        self.on_node(node, now - last)
                        self._time(node, now - last)
                        self.folder.add_event("node", node, f"{node} done ({now - last:.1f}s)")
                last = now
                self._save()
        except ScientistError as exc:
            self._stopped(exc.one_line())
            raise
        except BaseException as exc:  # any other stop (a bug, Ctrl-C): record it, then let it propagate
            self._stopped(f"{type(exc).__name__}: {exc}")
            raise
        pending = self.pending()
        if pending is not None:
            return self._paused(pending)
        values = self.snapshot().values
        self.manifest.status = RunStatus.ABORTED if values.get("outcome") == "aborted" else RunStatus.FINISHED
        self.manifest.stage = "done"
        self._save()
        self.folder.add_event("status", "done", self.manifest.status.value)
        return RunReport(run_id=self.manifest.run_id, status=self.manifest.status, stage="done",
                         summary=str(self.folder.path / "summary.md"))

    def _time(self, node: str, seconds: float) -> None:
        """Append the step's wall time to ``timings.jsonl`` (the per-stage profile of the run)."""
        with (self.folder.path / "timings.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"node": node, "seconds": round(seconds, 3)}) + "\n")

    def _stopped(self, reason: str) -> None:
        self.manifest.status = RunStatus.FAILED
        self.manifest.notes.append(f"stopped: {reason[:300]} (continue with: scientist resume {self.manifest.run_id})")
        self._save()
        self.folder.add_event("status", self.manifest.stage or "-", f"failed: {reason[:300]}")

    def _paused(self, pending: CheckpointRequest) -> RunReport:
        self.manifest.status = RunStatus.PAUSED
        self.manifest.stage = f"checkpoint:{pending.checkpoint}"
        self._save()
        self.folder.add_event("status", self.manifest.stage, f"paused at the '{pending.checkpoint}' checkpoint")
        return RunReport(run_id=self.manifest.run_id, status=RunStatus.PAUSED, stage=self.manifest.stage,
                         pending=pending)

    def close(self) -> None:
        self.services.literature.close()
        self.services.failures.close()
        self.checkpointer.conn.close()


def read_snapshot(graph: Any, config: dict[str, Any], folder: RunFolder) -> Any:
    """The graph's last checkpoint; a damaged checkpoint file is a one-line error."""
    try:
        return graph.get_state(config)
    except (sqlite3.DatabaseError, ValueError, KeyError) as exc:
        raise UsageError(f"{folder.checkpoints_path} is damaged ({type(exc).__name__}: {exc}); "
                         "the run cannot be resumed") from exc


def pending_in(snapshot: Any) -> CheckpointRequest | None:
    for interrupt in getattr(snapshot, "interrupts", ()) or ():
        return CheckpointRequest.model_validate(interrupt.value)
    return None


def pending_of(folder: RunFolder) -> CheckpointRequest | None:
    """The pending checkpoint of a run, read without starting anything."""
    return pending_with_id(folder)[0]


def pending_with_id(folder: RunFolder) -> tuple[CheckpointRequest | None, str | None]:
    """The pending checkpoint and the id of the graph checkpoint it belongs to: an answer given for
    one id is stale once the run has moved past it (the web view refuses a second answer by it)."""
    if not folder.checkpoints_path.is_file():
        return None, None
    checkpointer = open_checkpointer(folder.checkpoints_path)
    try:
        graph = compile_graph(checkpointer)
        config = {"configurable": {"thread_id": folder.read_manifest().run_id}}
        snapshot = read_snapshot(graph, config, folder)
        checkpoint_id = ((getattr(snapshot, "config", None) or {}).get("configurable") or {}).get("checkpoint_id")
        return pending_in(snapshot), checkpoint_id
    finally:
        checkpointer.conn.close()


def initial_state(run_id: str, seed_idea: str | None, num_ideas: int, checkpoints: list[str]) -> RunState:
    return {"run_id": run_id, "seed_idea": seed_idea, "num_ideas": num_ideas, "checkpoints": checkpoints,
            "notes": []}


def models_of(settings: Settings) -> dict[str, str]:
    return {role: settings.model_for(role) for role in ROLES}

