"""The sandbox interface: limits in, ``ExecResult`` out, and what every backend shares.

Every backend runs a command with the run's work directory as the only writable place,
a scrubbed environment (no API keys, tokens or the user's home), no network, and limits
enforced from outside the code being run: the harness's clock, cgroups or rlimits, and
a disk watchdog over the work directory.
"""

from __future__ import annotations

import os
import sys
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO

from pydantic import BaseModel, Field

TRUNCATION_MARKER = "\n[... output truncated by scientist: {dropped} bytes dropped ...]\n"
# Variables passed through from the parent when set: none of them can hold a secret.
PASSTHROUGH_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "TZ")


class Limits(BaseModel):
    """What a sandboxed command may use. The harness enforces these; the command cannot change them."""

    timeout_s: float = Field(600.0, gt=0)
    memory_mb: int = Field(2048, ge=32)
    cpus: float = Field(2.0, gt=0)
    pids: int = Field(256, ge=8)
    disk_mb: int = Field(1024, ge=1, description="bytes the command may add to its work directory")
    tmp_mb: int = Field(256, ge=1)
    output_bytes: int = Field(1_000_000, ge=1024, description="cap on each of stdout and stderr")


class ExecResult(BaseModel):
    """How a sandboxed command ended."""

    backend: str
    command: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float | None = None
    peak_memory_mb: float | None = None
    timed_out: bool = False
    oom_killed: bool = False
    killed_by_limit: str | None = Field(None, description="which limit killed it: time, memory, disk, pids")
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    unsafe: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.oom_killed

    def one_line(self) -> str:
        """A one-line summary for a person."""
        state = "ok" if self.ok else (f"killed by {self.killed_by_limit} limit" if self.killed_by_limit
                                      else f"exit {self.returncode}")
        extra = f", peak {self.peak_memory_mb:.0f} MB" if self.peak_memory_mb else ""
        cpu = f", cpu {self.cpu_s:.2f}s" if self.cpu_s is not None else ""
        return f"[{self.backend}] {state} in {self.wall_s:.2f}s{cpu}{extra}"


class Sandbox(ABC):
    """Runs one command under limits in a work directory."""

    name: str = "abstract"

    @abstractmethod
    def run(self, command: list[str], workdir: Path, limits: Limits) -> ExecResult:
        """Run ``command`` in ``workdir``, its only writable directory, and return how it ended.

        Isolating backends mount the work directory at its own path, so paths in the output
        mean the same inside and outside."""


def interpreter_paths() -> list[Path]:
    """The interpreter and environment a sandboxed Python needs, read-only: base prefix and venv."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(paths)


def sandbox_env(limits: Limits, *, home: str = "/tmp") -> dict[str, str]:
    """The whole environment of a sandboxed command: nothing from the parent but harmless knobs."""
    threads = str(max(1, int(limits.cpus)))
    env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "VIRTUAL_ENV": sys.prefix,
    }
    env.update({k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ})
    return env


class CappedReader:
    """Drains a pipe in a thread, keeping at most ``limit`` bytes (the rest is counted, not kept)."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.dropped = 0
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[bytes]) -> None:
        with stream:
            while block := stream.read(65536):
                room = self.limit - len(self.kept)
                if room > 0:
                    self.kept += block[:room]
                self.dropped += max(0, len(block) - max(room, 0))

    def text(self, join_timeout: float = 5.0) -> tuple[str, bool]:
        """The kept text, with a marker when something was dropped."""
        self._thread.join(join_timeout)
        text = self.kept.decode("utf-8", errors="replace")
        if self.dropped:
            text += TRUNCATION_MARKER.format(dropped=self.dropped)
        return text, bool(self.dropped)


def cap_text(data: bytes, limit: int) -> tuple[str, bool]:
    """Cap already-collected output the same way ``CappedReader`` does."""
    text = data[:limit].decode("utf-8", errors="replace")
    if len(data) > limit:
        return text + TRUNCATION_MARKER.format(dropped=len(data) - limit), True
    return text, False


def directory_bytes(path: Path) -> int:
    """Bytes allocated under ``path`` (files only; links not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total
