"""Graph fixtures: the scripted research model behind a loopback server, and the CLI as a user types it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scientist.llm.scripted.research import ResearchModel
from scientist.llm.scripted.server import FakeOpenAI
from scientist.sandbox.probe import bwrap_status

TOY = Path(__file__).parent / "toy_template"
CLI = [sys.executable, "-c", "from scientist.cli import main; main()"]


@pytest.fixture(autouse=True)
def _needs_sandbox_and_latex() -> None:
    import shutil

    status = bwrap_status()
    if not status.ok:
        pytest.fail(f"the bubblewrap sandbox the graph tests need is unavailable: {status.reason}", pytrace=False)
    if shutil.which("latexmk") is None:
        pytest.fail("LaTeX (latexmk) is not installed: run scripts/setup.sh", pytrace=False)


@pytest.fixture
def research_model() -> ResearchModel:
    return ResearchModel(ideas=("bigger_step",), runs=2)


@pytest.fixture
def fake_server(research_model: ResearchModel) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(responder=research_model) as fake:
        yield fake


@pytest.fixture
def cli_env(fake_server: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "SCIENTIST_MODEL": "openai/fake-model", "SCIENTIST_API_BASE": fake_server.api_base,
            "SCIENTIST_OFFLINE": "1", "SCIENTIST_REVIEWERS": "2", "SCIENTIST_RUNS_DIR": str(tmp_path / "runs"),
            "SCIENTIST_SANDBOX": "bwrap",
            # no revision round unless a test asks for it (tests/graph/test_run.py runs the default, one)
            "SCIENTIST_REVISIONS": "0"}


@pytest.fixture
def scientist(cli_env: dict[str, str]):
    def call(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=cli_env, capture_output=True, text=True, timeout=timeout)

    return call


def only_run(tmp_path: Path) -> Path:
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    return run
