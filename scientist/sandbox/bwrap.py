"""The bubblewrap backend: every namespace unshared, system and interpreter read-only.

Only the work directory (at its own path) and a size-limited /tmp are writable; there is no
network (a fresh network namespace), no capabilities, no view of other processes, and
the sandbox dies with its parent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from scientist.errors import UsageError
from scientist.sandbox.base import ExecResult, Limits, Sandbox, interpreter_paths, sandbox_env
from scientist.sandbox.supervise import supervise

ROOT_ENTRIES = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "fonts",
             "mime.types", "ssl/openssl.cnf")
PASSWD = "root:x:0:0:root:/tmp:/usr/sbin/nologin\nsandbox:x:65534:65534:sandbox:/tmp:/usr/sbin/nologin\n"
GROUP = "root:x:0:\nsandbox:x:65534:\n"


def _system_mounts() -> list[str]:
    args: list[str] = []
    for entry in ROOT_ENTRIES:
        host = Path("/") / entry
        if host.is_symlink():
            args += ["--symlink", str(host.readlink()), f"/{entry}"]
        elif host.is_dir():
            args += ["--ro-bind", str(host), f"/{entry}"]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


class BwrapSandbox(Sandbox):
    """Runs commands under bubblewrap."""

    name = "bwrap"

    def __init__(self, bwrap: str | None = None) -> None:
        found = bwrap or shutil.which("bwrap")
        if found is None:
            raise UsageError("bubblewrap is not installed", hint="apt-get install bubblewrap")
        self.bwrap = found

    def argv(self, command: list[str], workdir: Path, limits: Limits, *, passwd_fd: int,
             group_fd: int) -> list[str]:
        """The full bwrap command line for ``command``."""
        args = [self.bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
                "--cap-drop", "ALL", "--uid", "65534", "--gid", "65534", "--hostname", "sandbox",
                *_system_mounts(), "--proc", "/proc", "--dev", "/dev",
                # /tmp first: the venv or the work directory may live under it, and later
                # mounts land on top of this tmpfs instead of being hidden by it.
                "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp"]
        for path in interpreter_paths():
            args += ["--ro-bind", str(path), str(path)]
        work = str(workdir.resolve())
        args += ["--file", str(passwd_fd), "/etc/passwd", "--file", str(group_fd), "/etc/group",
                 "--bind", work, work, "--chdir", work, "--remount-ro", "/", "--"]
        return args + command

    def run(self, command: list[str], workdir: Path, limits: Limits) -> ExecResult:
        passwd_fd, group_fd = _pipe_with(PASSWD), _pipe_with(GROUP)
        try:
            argv = self.argv(command, workdir, limits, passwd_fd=passwd_fd, group_fd=group_fd)
            return supervise(argv, backend=self.name, env=sandbox_env(limits), cwd=workdir,
                             workdir=workdir, limits=limits, shown_command=command,
                             pass_fds=(passwd_fd, group_fd))
        finally:
            os.close(passwd_fd)
            os.close(group_fd)


def _pipe_with(text: str) -> int:
    """A pipe's read end, already holding ``text`` (bwrap copies it into a file)."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, text.encode())
    os.close(write_fd)
    return read_fd
