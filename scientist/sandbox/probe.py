"""Which sandbox backends this machine offers, each with the reason when it does not."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel

CGROUP_ROOT = Path("/sys/fs/cgroup")


class BackendStatus(BaseModel):
    """Whether one backend works here, and why not."""

    ok: bool
    reason: str


def docker_status(timeout_s: float = 3.0) -> BackendStatus:
    """A docker engine answers ``ping()``."""
    import docker  # imported on use: the SDK is slow to import and only needed here

    try:
        client = docker.from_env(timeout=int(max(1, timeout_s)))
        client.ping()
        version = client.version().get("Version", "?")
        client.close()
    except docker.errors.DockerException as exc:
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return BackendStatus(ok=False, reason=f"no docker engine answers ({first}); "
                                               "install docker.io and start dockerd")
    return BackendStatus(ok=True, reason=f"docker engine {version} answers")


def bwrap_status(timeout_s: float = 5.0) -> BackendStatus:
    """bubblewrap is installed and can unshare every namespace here."""
    path = shutil.which("bwrap")
    if path is None:
        return BackendStatus(ok=False, reason="bwrap not found; install the Debian package bubblewrap")
    cmd = [path, "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/",
           "--dev", "/dev", "--proc", "/proc", "true"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return BackendStatus(ok=False, reason="bwrap did not finish a trivial command in time")
    if done.returncode != 0:
        return BackendStatus(ok=False, reason=f"bwrap cannot create namespaces here: "
                                              f"{done.stderr.strip()[:160]}")
    return BackendStatus(ok=True, reason="bwrap unshares all namespaces")


def cgroup_status() -> BackendStatus:
    """The cgroup tree is writable, so memory, pids and CPU limits can be set from outside."""
    if (CGROUP_ROOT / "cgroup.controllers").is_file():
        writable = os.access(CGROUP_ROOT, os.W_OK)
        return BackendStatus(ok=writable, reason="cgroup v2 " + ("writable" if writable else
                                                                 "read-only: rlimits will be used"))
    if (CGROUP_ROOT / "memory").is_dir():
        writable = os.access(CGROUP_ROOT / "memory", os.W_OK)
        return BackendStatus(ok=writable, reason="cgroup v1 " + ("writable" if writable else
                                                                 "read-only: rlimits will be used"))
    return BackendStatus(ok=False, reason="no cgroup tree mounted: rlimits will be used")


def process_status() -> BackendStatus:
    """The plain-process backend always runs, and is never safe."""
    return BackendStatus(ok=True, reason="always available but UNSAFE: only with an explicit opt-in")
