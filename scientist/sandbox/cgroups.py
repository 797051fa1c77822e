"""Memory, pids and CPU limits through cgroups (v1 or v2), set from outside the sandbox.

A ``Cgroup`` is made per command, joined by the child before it executes (so every
descendant is inside), read for peak memory, CPU time and OOM kills, and removed after.
Where the tree is not writable, ``create_cgroup`` returns ``None`` and rlimits are used.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import time
from pathlib import Path

from scientist.sandbox.base import Limits

log = logging.getLogger(__name__)
ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _events(path: Path) -> dict[str, int]:
    try:
        pairs = (line.split() for line in path.read_text().splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}
    except OSError:
        return {}


class Cgroup:
    """One command's cgroup directories (one per controller on v1, one on v2)."""

    def __init__(self, dirs: dict[str, Path], version: int) -> None:
        self.dirs = dirs
        self.version = version

    # -- joined from the child, between fork and exec: no allocation-heavy work ------------
    def join_self(self) -> None:
        """Move the calling process into every directory of this cgroup."""
        pid = str(os.getpid())
        for path in dict.fromkeys(self.dirs.values()):
            with open(path / "cgroup.procs", "w") as handle:
                handle.write(pid)

    # -- read after the run -------------------------------------------------------------------
    def pids(self) -> list[int]:
        found: set[int] = set()
        for path in self.dirs.values():
            try:
                found.update(int(x) for x in (path / "cgroup.procs").read_text().split())
            except OSError:
                continue
        return sorted(found)

    def kill_all(self) -> None:
        """SIGKILL every process still in the cgroup (double-forked children included)."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
            time.sleep(0.02)
        log.warning("processes survived in cgroup %s", self.dirs)

    def oom_kills(self) -> int:
        mem = self.dirs.get("memory")
        if mem is None:
            return 0
        if self.version == 2:
            return _events(mem / "memory.events").get("oom_kill", 0)
        events = _events(mem / "memory.oom_control")
        if "oom_kill" in events:
            return events["oom_kill"]
        return 1 if (_read_int(mem / "memory.failcnt") or 0) > 0 and events.get("under_oom", 0) else 0

    def peak_memory_mb(self) -> float | None:
        mem = self.dirs.get("memory")
        if mem is None:
            return None
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        value = _read_int(mem / name)
        return None if value is None else value / 2**20

    def cpu_s(self) -> float | None:
        if self.version == 2:
            usage = _events(self.dirs["memory"] / "cpu.stat").get("usage_usec") if "memory" in self.dirs else None
            return None if usage is None else usage / 1e6
        acct = self.dirs.get("cpuacct")
        value = None if acct is None else _read_int(acct / "cpuacct.usage")
        return None if value is None else value / 1e9

    def remove(self) -> None:
        """Kill what is left and remove the directories."""
        self.kill_all()
        for path in dict.fromkeys(self.dirs.values()):
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _create_v2(name: str, limits: Limits) -> Cgroup | None:
    parent = ROOT
    needed = {"memory", "pids", "cpu"}
    enabled = set((parent / "cgroup.subtree_control").read_text().split())
    if not needed <= enabled:
        try:
            _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in needed - enabled))
        except OSError:
            return None
    path = parent / name
    path.mkdir()
    group = Cgroup({"memory": path, "pids": path, "cpu": path}, 2)
    try:
        _write(path / "memory.max", str(limits.memory_mb * 2**20))
        if (path / "memory.swap.max").exists():
            _write(path / "memory.swap.max", "0")
        _write(path / "pids.max", str(limits.pids))
        _write(path / "cpu.max", f"{int(limits.cpus * PERIOD_US)} {PERIOD_US}")
    except OSError:
        group.remove()
        return None
    return group


def _create_v1(name: str, limits: Limits) -> Cgroup | None:
    dirs: dict[str, Path] = {}
    for controller in ("memory", "pids", "cpu", "cpuacct"):
        base = ROOT / controller
        if not base.is_dir():
            continue
        real = base.resolve()
        existing = next((p for c, p in dirs.items() if (ROOT / c).resolve() == real), None)
        if existing is not None:
            dirs[controller] = existing
            continue
        path = base / name
        path.mkdir()
        dirs[controller] = path
    group = Cgroup(dirs, 1)
    if "memory" not in dirs or "pids" not in dirs:
        group.remove()
        return None
    try:
        mem = dirs["memory"]
        _write(mem / "memory.limit_in_bytes", str(limits.memory_mb * 2**20))
        if (mem / "memory.memsw.limit_in_bytes").exists():
            _write(mem / "memory.memsw.limit_in_bytes", str(limits.memory_mb * 2**20))
        _write(dirs["pids"] / "pids.max", str(limits.pids))
        if "cpu" in dirs:
            _write(dirs["cpu"] / "cpu.cfs_period_us", str(PERIOD_US))
            _write(dirs["cpu"] / "cpu.cfs_quota_us", str(int(limits.cpus * PERIOD_US)))
    except OSError:
        group.remove()
        return None
    return group


def create_cgroup(limits: Limits) -> Cgroup | None:
    """A fresh cgroup with ``limits`` set, or ``None`` where cgroups are not writable here."""
    name = f"scientist-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        if (ROOT / "cgroup.controllers").is_file():
            return _create_v2(name, limits)
        return _create_v1(name, limits)
    except OSError as exc:
        log.info("cgroup limits unavailable (%s); using rlimits", exc)
        return None
