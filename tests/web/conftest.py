"""Web view fixtures: a runs folder holding one fabricated run (no graph), and the app over it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scientist.runstore import RunStore
from scientist.web.app import create_app


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
