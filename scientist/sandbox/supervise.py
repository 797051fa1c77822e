"""Run a host process under the harness's limits and watch it from outside.

Shared by the bubblewrap and plain-process backends: the clock, the disk watchdog, the
cgroup (or rlimits), output capping, and killing the whole process tree.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from scientist.sandbox.base import CappedReader, ExecResult, Limits, directory_bytes
from scientist.sandbox.cgroups import Cgroup, create_cgroup

POLL_S = 0.02
DISK_POLL_S = 0.25


def _rlimits(limits: Limits, *, with_cgroup: bool) -> list[tuple[int, int]]:
    disk = limits.disk_mb * 2**20
    pairs = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, disk), (resource.RLIMIT_NOFILE, 1024),
             (resource.RLIMIT_CPU, int(limits.timeout_s * max(1.0, limits.cpus)) + 5)]
    if not with_cgroup:
        pairs += [(resource.RLIMIT_AS, limits.memory_mb * 2**20), (resource.RLIMIT_NPROC, limits.pids)]
    return pairs


def _preexec(limits: Limits, group: Cgroup | None) -> Callable[[], None]:
    pairs = _rlimits(limits, with_cgroup=group is not None)

    def setup() -> None:
        for kind, value in pairs:
            resource.setrlimit(kind, (value, value))
        if group is not None:
            group.join_self()

    return setup


def _kill_tree(pid: int, group: Cgroup | None) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group leader is gone; its members are reached through the cgroup below
    if group is not None:
        group.kill_all()


class _ExitWaiter:
    """Sleeps until a process exits or a timeout passes: a pidfd where the kernel has one, else short naps."""

    def __init__(self, pid: int) -> None:
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._fd = None

    def wait(self, timeout: float) -> None:
        if self._fd is None:
            time.sleep(min(timeout, POLL_S))
        else:
            select.select([self._fd], [], [], timeout)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def supervise(argv: list[str], *, backend: str, env: dict[str, str], cwd: Path, workdir: Path,
              limits: Limits, shown_command: list[str], unsafe: bool = False,
              pass_fds: tuple[int, ...] = ()) -> ExecResult:
    """Run ``argv`` (a backend's full command line) and enforce ``limits`` from outside."""
    group = create_cgroup(limits)
    disk_base = directory_bytes(workdir)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, pass_fds=pass_fds,
                            preexec_fn=_preexec(limits, group))
    out = CappedReader(proc.stdout, limits.output_bytes)  # type: ignore[arg-type]
    err = CappedReader(proc.stderr, limits.output_bytes)  # type: ignore[arg-type]
    killed_by: str | None = None
    next_disk = started + DISK_POLL_S
    exited = _ExitWaiter(proc.pid)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        now = time.perf_counter()
        if killed_by is None and now - started > limits.timeout_s:
            killed_by = "time"
            _kill_tree(proc.pid, group)
        elif killed_by is None and now >= next_disk:
            next_disk = now + DISK_POLL_S
            if directory_bytes(workdir) - disk_base > limits.disk_mb * 2**20:
                killed_by = "disk"
                _kill_tree(proc.pid, group)
        deadline = started + limits.timeout_s if killed_by is None else now + POLL_S
        exited.wait(max(0.0, min(next_disk, deadline) - time.perf_counter()))
    exited.close()
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if group is not None:
        group.kill_all()  # leftovers: children that left the process group
    else:
        _kill_tree(proc.pid, None)
    stdout, out_cut = out.text()
    stderr, err_cut = err.text()
    oom = bool(group is not None and group.oom_kills() > 0)
    if oom and killed_by is None:
        killed_by = "memory"
    result = ExecResult(
        backend=backend, command=shown_command, returncode=proc.returncode, stdout=stdout, stderr=stderr,
        wall_s=wall, timed_out=killed_by == "time", oom_killed=oom, killed_by_limit=killed_by,
        stdout_truncated=out_cut, stderr_truncated=err_cut, unsafe=unsafe,
        cpu_s=(group.cpu_s() if group is not None else None) or (usage.ru_utime + usage.ru_stime if usage else None),
        peak_memory_mb=(group.peak_memory_mb() if group is not None else None)
        or (usage.ru_maxrss / 1024 if usage else None),
    )
    if group is not None:
        group.remove()
    return result
