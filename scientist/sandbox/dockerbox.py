"""The docker backend: a locally built, nearly empty image; the host's system and environment read-only.

Containers have no network, run as user 65534 with no capabilities and
``no-new-privileges``, a read-only root, a size-limited tmpfs /tmp, memory (no swap), CPU
and pids limits, and a capped log. The harness's clock kills them through the engine.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from scientist.errors import SandboxUnavailable
from scientist.sandbox.base import (
    ExecResult,
    Limits,
    Sandbox,
    cap_text,
    directory_bytes,
    interpreter_paths,
    sandbox_env,
)
from scientist.sandbox.bwrap import ETC_FILES
from scientist.sandbox.image import ensure_image

POLL_S = 0.05
DISK_POLL_S = 0.25
SANDBOX_UID = 65534


def _volumes(workdir: Path) -> dict[str, dict[str, str]]:
    volumes = {"/usr": {"bind": "/usr", "mode": "ro"}}
    for name in ETC_FILES:
        host = Path("/etc") / name
        if host.exists():
            volumes[str(host)] = {"bind": str(host), "mode": "ro"}
    for path in interpreter_paths():
        volumes[str(path)] = {"bind": str(path), "mode": "ro"}
    volumes[str(workdir)] = {"bind": str(workdir), "mode": "rw"}
    return volumes


def _chown_tree(workdir: Path, uid: int, gid: int) -> None:
    for root, dirs, files in os.walk(workdir):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), uid, gid)
    os.chown(workdir, uid, gid)


def _container_user() -> str:
    """Never root: as root the container runs as 65534 (the work directory is lent to it)."""
    return f"{SANDBOX_UID}:{SANDBOX_UID}" if os.geteuid() == 0 else f"{os.getuid()}:{os.getgid()}"


class DockerSandbox(Sandbox):
    """Runs commands in throwaway containers."""

    name = "docker"

    def __init__(self, client: Any = None) -> None:
        import docker

        self._errors = docker.errors
        try:
            self.client = client or docker.from_env(timeout=30)
            self.client.ping()
        except docker.errors.DockerException as exc:
            raise SandboxUnavailable(f"no docker engine answers: {exc}",
                                     hint="install docker.io and start dockerd") from exc
        self.image = ensure_image(self.client)

    def run(self, command: list[str], workdir: Path, limits: Limits) -> ExecResult:
        workdir = workdir.resolve()
        owner = workdir.stat()
        lend = os.geteuid() == 0
        if lend:
            _chown_tree(workdir, SANDBOX_UID, SANDBOX_UID)
        try:
            return self._run(command, workdir, limits)
        finally:
            if lend:  # everything the container made goes back to the work directory's owner
                _chown_tree(workdir, owner.st_uid, owner.st_gid)

    def _run(self, command: list[str], workdir: Path, limits: Limits) -> ExecResult:
        from docker.types import LogConfig

        disk_base = directory_bytes(workdir)
        memory = f"{limits.memory_mb}m"
        started = time.perf_counter()
        try:
            container = self.client.containers.run(
                self.image, command, detach=True, network_mode="none", user=_container_user(), cap_drop=["ALL"],
                security_opt=["no-new-privileges"], read_only=True, hostname="sandbox",
                tmpfs={"/tmp": f"size={limits.tmp_mb}m,mode=1777"}, mem_limit=memory, memswap_limit=memory,
                pids_limit=limits.pids, nano_cpus=int(limits.cpus * 1e9), environment=sandbox_env(limits),
                working_dir=str(workdir), volumes=_volumes(workdir), stdin_open=False,
                log_config=LogConfig(type="json-file", config={"max-size": str(2 * limits.output_bytes),
                                                               "max-file": "1"}))
        except self._errors.DockerException as exc:
            raise SandboxUnavailable(f"docker could not start the container: {exc}") from exc
        try:
            killed_by = self._watch(container, workdir, limits, started, disk_base)
            wall = time.perf_counter() - started
            container.reload()
            state = container.attrs["State"]
            stdout, out_cut = cap_text(container.logs(stdout=True, stderr=False), limits.output_bytes)
            stderr, err_cut = cap_text(container.logs(stdout=False, stderr=True), limits.output_bytes)
        finally:
            container.remove(force=True)
        oom = bool(state.get("OOMKilled"))
        if oom and killed_by is None:
            killed_by = "memory"
        return ExecResult(backend=self.name, command=command, returncode=state.get("ExitCode"), stdout=stdout,
                          stderr=stderr, wall_s=wall, timed_out=killed_by == "time", oom_killed=oom,
                          killed_by_limit=killed_by, stdout_truncated=out_cut, stderr_truncated=err_cut)

    def _watch(self, container: Any, workdir: Path, limits: Limits, started: float, disk_base: int) -> str | None:
        next_disk = started + DISK_POLL_S
        while True:
            container.reload()
            if container.status in ("exited", "dead"):
                return None
            now = time.perf_counter()
            reason = None
            if now - started > limits.timeout_s:
                reason = "time"
            elif now >= next_disk:
                next_disk = now + DISK_POLL_S
                if directory_bytes(workdir) - disk_base > limits.disk_mb * 2**20:
                    reason = "disk"
            if reason is not None:
                container.kill()
                container.wait(timeout=30)
                return reason
            time.sleep(POLL_S)
