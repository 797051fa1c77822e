"""The run folder: layout, the ``run.json`` manifest, and run ids that sort by time.

```
runs/<run_id>/
  run.json  checkpoints.sqlite  failures.sqlite  llm_calls.jsonl  events.jsonl  console.log
  ideas/  ideas/novelty/  experiments/  figures/  paper/  reviews/
```
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from scientist.errors import RunNotFound, UsageError

RUN_SUBDIRS = ("ideas", "ideas/novelty", "experiments", "figures", "paper", "reviews")
MANIFEST = "run.json"


class RunStatus(StrEnum):
    """Where a run stands."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    FAILED = "failed"
    ABORTED = "aborted"


class Totals(BaseModel):
    """Running totals over every model call of the run."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


class RunManifest(BaseModel):
    """The ``run.json`` of a run folder."""

    run_id: str
    template: str
    idea: str | None = None
    models: dict[str, str] = Field(default_factory=dict)
    config: dict[str, object] = Field(default_factory=dict)
    status: RunStatus = RunStatus.CREATED
    stage: str | None = None
    created_at: datetime
    updated_at: datetime
    totals: Totals = Totals()
    notes: list[str] = Field(default_factory=list)


def new_run_id(now: datetime | None = None) -> str:
    """A run id like ``20261129-072458-3fa1c2``: sorts by creation time, unique by its suffix."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunFolder:
    """One run's folder and its manifest."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).absolute()  # every path a run reports is absolute, wherever it was started

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def paper_dir(self, version: int = 0) -> Path:
        """Where version ``version`` of the paper is: ``paper/`` for the draft, ``revisions/<k>/`` for
        the k-th revision."""
        return self.path / "paper" if version == 0 else self.path / "revisions" / str(version)

    def reviews_dir(self, version: int = 0) -> Path:
        """Where the reviews of version ``version`` of the paper are."""
        return self.path / "reviews" if version == 0 else self.paper_dir(version) / "reviews"

    def revision_versions(self) -> list[int]:
        """The revision rounds this run has written (each has its ``response.md``), in order."""
        versions = []
        while (self.paper_dir(len(versions) + 1) / "response.md").is_file():
            versions.append(len(versions) + 1)
        return versions

    @property
    def llm_calls_path(self) -> Path:
        return self.path / "llm_calls.jsonl"

    @property
    def checkpoints_path(self) -> Path:
        return self.path / "checkpoints.sqlite"

    @property
    def failures_path(self) -> Path:
        return self.path / "failures.sqlite"

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def console_path(self) -> Path:
        """What a run started or answered from the web view printed (the terminal's output)."""
        return self.path / "console.log"

    def add_event(self, kind: str, stage: str, message: str) -> None:
        """Append one progress event (``progress``, ``node`` or ``status``) to ``events.jsonl``: the
        run's live record, read by the web view while the run goes. One ``write`` of one line, so a
        reader sees whole lines only (a line without its newline is still being written)."""
        line = json.dumps({"t": round(time.time(), 3), "kind": kind, "stage": stage, "message": message}) + "\n"
        with self.events_path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def read_manifest(self) -> RunManifest:
        """Load and validate ``run.json``."""
        try:
            return RunManifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RunNotFound(f"{self.path} is not a run folder (no {MANIFEST})") from exc
        except ValidationError as exc:
            raise UsageError(f"{self.manifest_path} is damaged: {exc.errors()[0]['msg']}") from exc

    def write_manifest(self, manifest: RunManifest) -> None:
        """Save ``run.json`` atomically, stamping ``updated_at``."""
        manifest.updated_at = datetime.now(UTC)
        write_atomic(self.manifest_path, manifest.model_dump_json(indent=2) + "\n")


class RunStore:
    """All runs under one ``runs_dir``."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir).absolute()

    def create(self, template: str, idea: str | None, models: dict[str, str],
               config: dict[str, object]) -> RunFolder:
        """Make a new run folder with the full layout and its first manifest."""
        run_id = new_run_id()
        folder = RunFolder(self.runs_dir / run_id)
        folder.path.mkdir(parents=True, exist_ok=False)
        for sub in RUN_SUBDIRS:
            (folder.path / sub).mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        folder.write_manifest(RunManifest(run_id=run_id, template=template, idea=idea, models=models,
                                          config=config, created_at=now, updated_at=now))
        return folder

    def open(self, run: str) -> RunFolder:
        """Find a run by id (under ``runs_dir``) or by its folder path."""
        candidates = [Path(run), self.runs_dir / run]
        for path in candidates:
            if (path / MANIFEST).is_file():
                return RunFolder(path)
        raise RunNotFound(f"no run '{run}' (looked in {self.runs_dir}; give a run id or a run folder)")

    def list(self) -> list[RunFolder]:
        """Every run folder, oldest first (run ids sort by time)."""
        if not self.runs_dir.is_dir():
            return []
        return [RunFolder(p) for p in sorted(self.runs_dir.iterdir()) if (p / MANIFEST).is_file()]
