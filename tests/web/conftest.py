"""Web view fixtures: a runs folder holding one fabricated run (no graph), and the app over it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scientist.llm.scripted.research import ResearchModel
from scientist.llm.scripted.server import FakeOpenAI
from scientist.runstore import RunStore
from scientist.web.app import create_app

TOY = Path(__file__).resolve().parents[1] / "graph" / "toy_template"


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def one_run(runs_dir: Path):
    folder = RunStore(runs_dir).create("/nowhere/toy_template", "a seed idea", {"coding": "openai/fake"}, {})
    (folder.path / "summary.md").write_text("# summary\n", encoding="utf-8")
    folder.add_event("progress", "ideation", "proposing ideas")
    return folder


@pytest.fixture
def client(runs_dir: Path, one_run) -> TestClient:
    return TestClient(create_app(runs_dir), base_url="http://127.0.0.1:8765")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a CLI process whose every model call goes to a scripted research model."""
    model = ResearchModel(ideas=("bigger_step",), runs=2)
    with FakeOpenAI(responder=model) as fake:
        yield {**os.environ, "SCIENTIST_MODEL": "openai/fake-model", "SCIENTIST_API_BASE": fake.api_base,
               "SCIENTIST_OFFLINE": "1", "SCIENTIST_REVIEWERS": "1", "SCIENTIST_RUNS_DIR": str(tmp_path / "runs"),
               "SCIENTIST_SANDBOX": "bwrap"}
