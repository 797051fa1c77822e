"""Sandboxes for generated code: docker, bubblewrap, and an explicitly unsafe plain process."""

import json
from importlib import resources


def program(name: str) -> str:
    """The source of a helper program the sandbox runs with ``python -c`` (package data that imports
    nothing of ours: ``resolve_names.py``, ``failing_values.py``, ``lines_run.py``)."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


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
