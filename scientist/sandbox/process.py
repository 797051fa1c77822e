"""The plain-process backend: rlimits and cgroups only, no isolation. UNSAFE; opt-in only."""

from __future__ import annotations

from pathlib import Path

from scientist.errors import UsageError
from scientist.sandbox.base import ExecResult, Limits, Sandbox, sandbox_env
from scientist.sandbox.supervise import supervise


class ProcessSandbox(Sandbox):
    """Runs commands as plain subprocesses. It sees the network and the host's files."""

    name = "process"

    def __init__(self, *, allow_unsafe: bool = False) -> None:
        if not allow_unsafe:
            raise UsageError("the 'process' backend does not isolate generated code and is refused",
                             hint="install bubblewrap or docker, or opt in with allow_unsafe / "
                                  "SCIENTIST_ALLOW_UNSAFE_SANDBOX=1")

    def run(self, command: list[str], workdir: Path, limits: Limits) -> ExecResult:
        return supervise(command, backend=self.name, env=sandbox_env(limits, home=str(workdir)),
                         cwd=workdir, workdir=workdir, limits=limits, shown_command=command, unsafe=True)
