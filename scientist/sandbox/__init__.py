"""Sandboxes for generated code: docker, bubblewrap, and an explicitly unsafe plain process."""

from importlib import resources


def program(name: str) -> str:
    """The source of a helper program the sandbox runs with ``python -c`` (package data that imports
    nothing of ours: ``resolve_names.py``, ``failing_values.py``)."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
