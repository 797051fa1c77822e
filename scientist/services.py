"""The services every node uses, injected through LangGraph's runtime context (never imported globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from scientist.config import Settings
from scientist.failures import FailureLog
from scientist.literature.search import Literature
from scientist.llm.gateway import Gateway
from scientist.runstore import RunFolder
from scientist.sandbox.base import Sandbox
from scientist.template.manifest import Template

Progress = Callable[[str, str], None]


def _quiet(stage: str, message: str) -> None:
    return None


@dataclass
class Services:
    """The run's gateway, sandbox, folder, failure log and template; ``progress`` reports to the terminal."""

    settings: Settings
    gateway: Gateway
    sandbox: Sandbox
    folder: RunFolder
    failures: FailureLog
    template: Template
    literature: Literature
    progress: Progress = field(default=_quiet)
