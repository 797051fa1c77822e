"""Prompts are package data: YAML files of Jinja templates rendered with ``StrictUndefined``.

A missing variable is an error at render time, never a silently empty hole in a prompt.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2
import yaml

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


@cache
def _load(group: str) -> dict[str, str]:
    text = resources.files(__package__).joinpath(f"{group}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"prompt file {group}.yaml must map names to template strings")
    return data


def render(group: str, name: str, **variables: Any) -> str:
    """Render prompt ``name`` of ``<group>.yaml`` with ``variables``."""
    return _ENV.from_string(_load(group)[name]).render(**variables).strip()
