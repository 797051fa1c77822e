"""Sandboxed runs as Ray tasks: ``RaySandbox`` is a ``Sandbox`` whose ``run`` ships the work folder
to a worker, runs the same sandbox backend there (bubblewrap or docker, chosen and checked on the
worker), and brings the folder's files and the result back to the driver.

- Each task asks for one CPU, one unit of the custom ``sandbox`` resource and the run's memory
  limit, so no node runs more sandboxes than the slots it offers (``ray start --resources
  '{"sandbox": N}'``).
- A task whose worker process or node dies is run again by Ray (``max_retries``), in a fresh
  temporary folder; its sandbox dies with the worker (bwrap's ``--die-with-parent``, and the
  supervisor's process group). An error raised by the task itself is not retried.
- The result reaches the driver once, whatever the retries, so the failure log (written on the
  driver) has one row per attempt of the code and the ledger counts nothing twice.
- Nothing of the driver's environment goes with the task: the sandbox's environment is built
  on the worker from the limits alone (``sandbox_env``), so API keys never reach generated code.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scientist.config import ExecutorSettings
from scientist.errors import SandboxUnavailable, UsageError
from scientist.executor.archive import pack, unpack
from scientist.sandbox.base import ExecResult, Limits, Sandbox

log = logging.getLogger(__name__)
SANDBOX_RESOURCE = "sandbox"
INSTALL_HINT = "install the extra: pip install 'scientist[ray]' (or uv sync --extra ray)"


class Placement(BaseModel):
    """Where and when one task ran (kept by the driver for reports and tests)."""

    node_id: str
    host: str
    pid: int
    started: float
    ended: float
    seconds_in_sandbox: float


def import_ray() -> Any:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # A driver started with `uv run` would otherwise make Ray start each worker with `uv run` in the
    # driver's working directory, where no project may be: workers use the cluster's own Python.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError as exc:
        raise UsageError("executor 'ray' needs Ray, which is not installed", hint=INSTALL_HINT) from exc
    return ray


def connect(address: str) -> Any:
    """Ray, connected to the cluster at ``address`` (once per process)."""
    ray = import_ray()
    if not ray.is_initialized():
        reachable(address)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise SandboxUnavailable(f"no Ray cluster at '{address}': {str(exc).splitlines()[0][:200]}",
                                     hint="start one: ray start --head --resources '{\"sandbox\": 2}'") from exc
    return ray


def reachable(address: str, timeout_s: float = 5.0) -> None:
    """Check that something listens at a ``host:port`` GCS address (Ray itself would wait minutes for a
    cluster that is not there); ``auto`` and ``ray://`` addresses are left to Ray."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return
    except (OSError, ValueError) as exc:
        raise SandboxUnavailable(f"no Ray cluster answers at '{address}': {exc}",
                                 hint="start one: ray start --head --resources '{\"sandbox\": 2}'") from exc


def run_on_worker(archive: bytes, command: list[str], limits: dict[str, Any], backend: str | None,
                  allow_unsafe: bool) -> dict[str, Any]:
    """The task: unpack the folder into a fresh directory, run the command in this node's sandbox,
    pack the folder again."""
    from scientist.sandbox.choose import open_sandbox

    ray = import_ray()
    work = Path(tempfile.mkdtemp(prefix="scientist-task-"))
    try:
        unpack(archive, work)
        sandbox = open_sandbox(backend, allow_unsafe=allow_unsafe)
        started = time.time()
        result = sandbox.run(command, work, Limits.model_validate(limits))
        ended = time.time()
        return {"result": result.model_dump(mode="json"), "files": pack(work),
                "placement": {"node_id": ray.get_runtime_context().get_node_id(), "host": socket.gethostname(),
                              "pid": os.getpid(), "started": started, "ended": ended,
                              "seconds_in_sandbox": result.wall_s}}
    finally:
        shutil.rmtree(work, ignore_errors=True)


class RaySandbox(Sandbox):
    """A ``Sandbox`` whose runs are Ray tasks on the cluster's sandbox slots."""

    name = "ray"

    def __init__(self, settings: ExecutorSettings, backend: str | None = None, *, allow_unsafe: bool = False) -> None:
        self.ray = connect(settings.address)
        self.slots = int(self.ray.cluster_resources().get(SANDBOX_RESOURCE, 0))
        if self.slots < 1:
            raise SandboxUnavailable(f"the Ray cluster at '{settings.address}' offers no '{SANDBOX_RESOURCE}' "
                                     "slots, so no task could ever be placed",
                                     hint="start its nodes with --resources '{\"sandbox\": N}'")
        self.backend = backend
        self.allow_unsafe = allow_unsafe
        self.retries = settings.retries
        self.placements: list[Placement] = []
        self._lock = threading.Lock()
        self._task = self.ray.remote(run_on_worker)

    def run(self, command: list[str], workdir: Path, limits: Limits) -> ExecResult:
        ref = self._task.options(num_cpus=1, resources={SANDBOX_RESOURCE: 1}, memory=limits.memory_mb * 2**20,
                                 max_retries=self.retries, retry_exceptions=False).remote(
            pack(workdir), list(command), limits.model_dump(mode="json"), self.backend, self.allow_unsafe)
        try:
            out = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            raise SandboxUnavailable(f"the Ray task running {' '.join(command)[:80]} failed after "
                                     f"{self.retries} retries: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                                     hint="see 'scientist doctor' for the cluster's nodes") from exc
        skipped = unpack(out["files"], workdir)
        if skipped:
            log.warning("left out of %s on its way back (not regular files): %s", workdir, ", ".join(skipped[:5]))
        with self._lock:
            self.placements.append(Placement.model_validate(out["placement"]))
        result = ExecResult.model_validate(out["result"])
        return result.model_copy(update={"backend": f"ray/{result.backend}"})


class NodeReport(BaseModel):
    """One node of the cluster, as ``scientist doctor`` shows it."""

    node_id: str
    host: str
    alive: bool
    cpus: float
    sandbox_slots: float
    backend_ok: bool | None = None
    backend: str | None = None
    detail: str = ""


def check_backend(backend: str | None) -> dict[str, Any]:
    """Run on one node: open its sandbox and run ``true`` in it."""
    from scientist.sandbox.choose import open_sandbox

    work = Path(tempfile.mkdtemp(prefix="scientist-check-"))
    try:
        sandbox = open_sandbox(backend)
        result = sandbox.run(["python", "-c", "print('ok')"], work, Limits(timeout_s=60))
        return {"ok": result.ok and result.stdout.strip() == "ok", "backend": sandbox.name,
                "detail": result.one_line()}
    except Exception as exc:  # noqa: BLE001 - reported per node: the check is the product here
        return {"ok": False, "backend": backend, "detail": f"{type(exc).__name__}: {exc}"[:200]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cluster_report(settings: ExecutorSettings, backend: str | None, timeout_s: float = 120) -> list[NodeReport]:
    """Each node's CPUs and sandbox slots, and a sandbox check run on each live node."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ray = connect(settings.address)
    reports = []
    pending = {}
    checker = ray.remote(check_backend)
    for node in ray.nodes():
        resources = node.get("Resources", {})
        report = NodeReport(node_id=node["NodeID"], host=node.get("NodeManagerHostname", "?"), alive=node["Alive"],
                            cpus=resources.get("CPU", 0), sandbox_slots=resources.get(SANDBOX_RESOURCE, 0))
        reports.append(report)
        if report.alive:
            pending[report.node_id] = checker.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
                node_id=report.node_id, soft=False)).remote(backend)
    for report in reports:
        ref = pending.get(report.node_id)
        if ref is None:
            continue
        try:
            found = ray.get(ref, timeout=timeout_s)
        except ray.exceptions.GetTimeoutError:
            found = {"ok": False, "backend": backend, "detail": f"no answer within {timeout_s:.0f}s"}
        except ray.exceptions.RayError as exc:
            found = {"ok": False, "backend": backend, "detail": f"{type(exc).__name__}"}
        report.backend_ok, report.backend, report.detail = found["ok"], found["backend"], found["detail"]
    return reports
