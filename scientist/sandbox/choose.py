"""Pick a sandbox backend: the one asked for, else docker when an engine answers, else bubblewrap."""

from __future__ import annotations

import os

from scientist.errors import SandboxUnavailable, UsageError
from scientist.sandbox.base import Sandbox
from scientist.sandbox.probe import bwrap_status, docker_status

BACKENDS = ("docker", "bwrap", "process")
UNSAFE_ENV = "SCIENTIST_ALLOW_UNSAFE_SANDBOX"


def unsafe_allowed() -> bool:
    """The user's explicit opt-in to running generated code unsandboxed."""
    return os.environ.get(UNSAFE_ENV, "") == "1"


def open_sandbox(backend: str | None = None, *, allow_unsafe: bool | None = None) -> Sandbox:
    """A ready sandbox. ``process`` is refused unless unsafe execution is allowed."""
    if backend is not None and backend not in BACKENDS:
        raise UsageError(f"unknown sandbox backend '{backend}' (choose from {', '.join(BACKENDS)})")
    allow = unsafe_allowed() if allow_unsafe is None else allow_unsafe
    if backend == "docker" or (backend is None and docker_status(timeout_s=2).ok):
        from scientist.sandbox.dockerbox import DockerSandbox

        return DockerSandbox()
    if backend == "bwrap" or backend is None:
        status = bwrap_status()
        if not status.ok:
            raise SandboxUnavailable(f"no sandbox can run here: {status.reason}",
                                     hint="install bubblewrap or docker.io; see 'scientist doctor'")
        from scientist.sandbox.bwrap import BwrapSandbox

        return BwrapSandbox()
    from scientist.sandbox.process import ProcessSandbox

    return ProcessSandbox(allow_unsafe=allow)
