"""What the web view shows, read from run folders only (never by running the graph).

Every reader here is safe beside a run that is writing: ``run.json`` and the other JSON files
are replaced atomically (``write_atomic``), ``events.jsonl`` is read up to its last whole line,
and ``checkpoints.sqlite`` is read in its own short transaction, retried while a writer holds it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scientist.checkpoints import CheckpointRequest
from scientist.errors import RunNotFound, UsageError
from scientist.failures import GROUPINGS, FailureSummary, attempts_in, grouped, read_attempts, summarise
from scientist.runner import lock_is_held, pending_with_id, shown_status
from scientist.runstore import RunFolder, RunStatus, RunStore

RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
SQLITE_RETRIES = 20


class RunRow(BaseModel):
    """One line of the runs list."""

    run_id: str
    status: str
    stage: str
    template: str
    idea: str | None
    titles: list[str]
    model: str
    cost_usd: float
    tokens: int
    calls: int
    failures: str
    waiting: str | None
    updated_at: str
    has_paper: bool = False
    has_summary: bool = False


class Event(BaseModel):
    """One line of ``events.jsonl``."""

    t: float
    kind: str
    stage: str
    message: str


def open_run(store: RunStore, run_id: str) -> RunFolder:
    """The run folder for an id from a URL: ids are validated, never taken as paths."""
    if not RUN_ID.fullmatch(run_id):
        raise RunNotFound(f"'{run_id[:40]}' is not a run id")
    folder = RunFolder(store.runs_dir / run_id)
    if not folder.manifest_path.is_file():
        raise RunNotFound(f"no run {run_id} in {store.runs_dir}")
    return folder


def safe_file(folder: RunFolder, relative: str) -> Path:
    """A file inside the run folder named by a URL path; anything that resolves outside it (``..``,
    an absolute path, a symlink pointing out) is refused."""
    root = folder.path.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or relative.startswith("/"):
        raise UsageError("that path is outside the run folder")
    if not target.is_file():
        raise RunNotFound(f"no file {relative} in run {folder.run_id}")
    return target


def idea_titles(folder: RunFolder) -> list[str]:
    path = folder.path / "ideas" / "ideas.json"
    try:
        ideas = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return [str(idea.get("title", idea.get("name", ""))) for idea in ideas if isinstance(idea, dict)]


def failure_text(summary: FailureSummary) -> str:
    first, final = summary.first_attempt, summary.after_repair
    if not first.total:
        return "-"
    return f"{first.failures}/{first.total} first, {final.failures}/{final.total} after repair"


def run_failures(folder: RunFolder) -> FailureSummary:
    return summarise(with_retries(lambda: read_attempts(folder.failures_path)))


def with_retries(read: Any) -> Any:
    """``read()``, retried while SQLite says another process holds the database."""
    for attempt in range(SQLITE_RETRIES):
        try:
            return read()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == SQLITE_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def pending(folder: RunFolder) -> tuple[CheckpointRequest | None, str | None]:
    """The checkpoint a run waits at and its graph checkpoint id; only paused runs wait."""
    if folder.read_manifest().status != RunStatus.PAUSED or lock_is_held(folder):
        return None, None
    return with_retries(lambda: pending_with_id(folder))


def run_row(folder: RunFolder) -> RunRow:
    manifest = folder.read_manifest()
    status = shown_status(folder, manifest.status)
    waiting = manifest.stage.split(":", 1)[1] if status == "paused" and (manifest.stage or "").startswith(
        "checkpoint:") else None
    totals = manifest.totals
    return RunRow(run_id=manifest.run_id, status=status, stage=manifest.stage or "-",
                  template=Path(manifest.template).name, idea=manifest.idea, titles=idea_titles(folder),
                  model=manifest.models.get("coding", manifest.models.get("ideation", "?")),
                  cost_usd=totals.cost_usd, tokens=totals.tokens_in + totals.tokens_out, calls=totals.calls,
                  failures=failure_text(run_failures(folder)), waiting=waiting,
                  updated_at=manifest.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
                  has_paper=(folder.path / "paper" / "paper.pdf").is_file(),
                  has_summary=(folder.path / "summary.md").is_file())


def run_rows(store: RunStore) -> list[RunRow]:
    """Every run, newest first."""
    rows = []
    for folder in reversed(store.list()):
        try:
            rows.append(run_row(folder))
        except (UsageError, RunNotFound):  # a folder being created or damaged: left out of the list
            continue
    return rows


def read_events(folder: RunFolder, offset: int = 0) -> tuple[list[Event], int]:
    """The events written since byte ``offset`` and the offset after the last whole line."""
    try:
        with folder.events_path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    events = []
    for line in data[:end].splitlines():
        try:
            events.append(Event.model_validate_json(line))
        except ValueError:
            continue
    return events, offset + end


def tail(path: Path, limit: int = 20000) -> str:
    """The last ``limit`` characters of a log file."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def stage_times(folder: RunFolder) -> list[tuple[str, float]]:
    """Wall time per graph step, from ``timings.jsonl``."""
    totals: dict[str, float] = {}
    try:
        lines = (folder.path / "timings.jsonl").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        totals[item["node"]] = totals.get(item["node"], 0.0) + float(item["seconds"])
    return list(totals.items())


class RevisionView(BaseModel):
    """One revision round: the response to the reviewers, the revised PDF and its review."""

    round: int
    pdf: str | None
    response_md: str
    diff: str
    review_md: str
    meta: dict[str, Any] | None


class PaperView(BaseModel):
    """The paper page: the PDF, its pages as images, its reviews and its revisions."""

    pdf: str | None
    pages: int
    meta: dict[str, Any] | None
    reviews: list[dict[str, Any]]
    review_md: str
    summary: str
    claims: dict[str, Any] | None
    revisions: list[RevisionView] = []


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def pdf_pages(pdf: Path) -> int:
    """The PDF's page count, from pdfinfo (poppler-utils); 0 when it cannot be read."""
    import shutil
    import subprocess

    if shutil.which("pdfinfo") is None:
        return 0
    done = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=30, check=False)
    found = re.search(r"^Pages:\s+(\d+)", done.stdout, re.MULTILINE)
    return int(found.group(1)) if found else 0


def paper_view(folder: RunFolder) -> PaperView:
    pdf = folder.path / "paper" / "paper.pdf"
    reviews = [r for r in (read_json(p) for p in sorted((folder.path / "reviews").glob("review_*.json"))) if r]
    return PaperView(pdf="paper/paper.pdf" if pdf.is_file() else None, pages=pdf_pages(pdf) if pdf.is_file() else 0,
                     meta=read_json(folder.path / "reviews" / "meta_review.json"), reviews=reviews,
                     review_md=tail(folder.path / "reviews" / "review.md", 60000),
                     summary=tail(folder.path / "summary.md", 60000),
                     claims=read_json(folder.path / "paper" / "claims_check.json"), revisions=revision_views(folder))


def revision_views(folder: RunFolder) -> list[RevisionView]:
    """The run's revision rounds, in order, as far as their folders go."""
    views = []
    for version in folder.revision_versions():
        where = folder.paper_dir(version)
        views.append(RevisionView(
            round=version, pdf=f"revisions/{version}/paper.pdf" if (where / "paper.pdf").is_file() else None,
            response_md=tail(where / "response.md", 30000), diff=tail(where / "changes.diff", 30000),
            review_md=tail(folder.reviews_dir(version) / "review.md", 30000),
            meta=read_json(folder.reviews_dir(version) / "meta_review.json")))
    return views


def page_preview(folder: RunFolder, page: int) -> Path:
    """Page ``page`` of the paper as a PNG (pdftoppm, 80 dpi), made once and kept beside the PDF."""
    import subprocess

    pdf = folder.path / "paper" / "paper.pdf"
    if not pdf.is_file():
        raise RunNotFound(f"run {folder.run_id} has no paper yet")
    out_dir = folder.path / "paper" / "previews"
    target = out_dir / f"page-{page}.png"
    if target.is_file() and target.stat().st_mtime >= pdf.stat().st_mtime:
        return target
    out_dir.mkdir(exist_ok=True)
    stem = out_dir / f".page-{page}"
    done = subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile",
                           str(pdf), str(stem)], capture_output=True, text=True, timeout=60, check=False)
    made = stem.with_suffix(".png")
    if done.returncode != 0 or not made.is_file():
        raise RunNotFound(f"page {page} of the paper could not be rendered: {done.stderr.strip()[:200]}")
    made.replace(target)
    return target


class FailureView(BaseModel):
    """The failures page: overall rates and each grouping's rates with intervals."""

    attempts: int
    overall: FailureSummary
    groups: dict[str, dict[str, FailureSummary]]


def failure_view(runs_dir: Path) -> FailureView:
    attempts = attempts_in(runs_dir)
    return FailureView(attempts=len(attempts), overall=summarise(attempts),
                       groups={by: grouped(attempts, by) for by in GROUPINGS if by != "category"})


def failure_plot(view: FailureView, by: str) -> str:
    """After-repair failure rate per group with its 95% interval, as an SVG (matplotlib)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {k: v for k, v in view.groups.get(by, {}).items() if v.after_repair.total}
    fig, ax = plt.subplots(figsize=(6.0, 0.45 * max(len(groups), 1) + 1.0))
    try:
        names = list(groups)
        rates = [groups[k].after_repair.rate or 0.0 for k in names]
        low = [r - (groups[k].after_repair.low or 0.0) for k, r in zip(names, rates, strict=True)]
        high = [(groups[k].after_repair.high or 0.0) - r for k, r in zip(names, rates, strict=True)]
        ax.barh(names, rates, xerr=[low, high], color="#c0504d", capsize=3)
        ax.set_xlim(0, 1)
        ax.set_xlabel("failed after repair (95% Wilson interval)")
        ax.invert_yaxis()
        if not names:
            ax.text(0.5, 0.5, "no experiment runs yet", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    finally:
        plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.find("<svg"):]  # inline in the page: no XML prologue
