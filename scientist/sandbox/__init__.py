"""Sandboxes for generated code: docker, bubblewrap, and an explicitly unsafe plain process."""

from __future__ import annotations

import json
import logging
import shutil
from importlib import resources
from pathlib import Path

from scientist.errors import SandboxUnavailable
from scientist.sandbox.base import ExecResult, Limits, Sandbox

log = logging.getLogger(__name__)


def program(name: str) -> str:
    """The source of a harness program the sandbox runs with ``python -c``: ``protocol.py`` (the
    report marks), then ``harness/<name>`` (package data, not importable, that imports nothing of
    ours: ``resolve_names.py``, ``failing_values.py``, ``lines_run.py``)."""
    package = resources.files(__name__)
    protocol = package.joinpath("protocol.py").read_text(encoding="utf-8")
    return protocol + "\n" + package.joinpath("harness", name).read_text(encoding="utf-8")


def reported(stdout: str, mark: str) -> object | None:
    """What a helper program reported: the JSON after ``mark`` on the last line of ``stdout`` that
    starts with it, or ``None`` when there is none or it does not parse."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(mark):
            try:
                return json.loads(line[len(mark):])
            except json.JSONDecodeError:
                return None
    return None


def run_helper(sandbox: Sandbox, workdir: Path, name: str, args: list[str], limits: Limits, mark: str,
               purpose: str, scratch: str | None = None,
               files: dict[str, str] | None = None) -> tuple[object | None, ExecResult] | None:
    """Run helper program ``name`` on the experiment in ``workdir`` (``python -c <program> <args>``):
    its report after ``mark`` (``reported``) and the run's result, or ``None`` (logged, saying
    ``purpose``) when the sandbox could not run it. ``scratch``: the ``--out_dir`` the script writes
    to, appended to ``args``; ``files``: written into ``workdir`` for the run. Both are removed after,
    so the run folder keeps only what the real run left."""
    for path, text in (files or {}).items():
        (workdir / path).write_text(text, encoding="utf-8")
    try:
        result = sandbox.run(["python", "-c", program(name), *args, *(["--out_dir", scratch] if scratch else [])],
                             workdir, limits)
    except SandboxUnavailable as exc:
        log.warning("could not run %s: %s", purpose, exc.one_line())
        return None
    finally:
        for path in files or {}:
            (workdir / path).unlink(missing_ok=True)
        if scratch:
            shutil.rmtree(workdir / scratch, ignore_errors=True)
    return reported(result.stdout, mark), result
