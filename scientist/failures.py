"""The failure log: one SQLite row per attempt to run generated code, successes included.

The category comes from the sandbox result, the traceback and the results file, never
from the model's opinion. The schema is versioned (``PRAGMA user_version``) and migrated
in order.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from scientist.sandbox.base import ExecResult


class Category(StrEnum):
    """The failure taxonomy."""

    SYNTAX_ERROR = "syntax_error"
    IMPORT_ERROR = "import_error"
    RUNTIME_ERROR = "runtime_error"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    NONZERO_EXIT = "nonzero_exit"
    MISSING_RESULTS = "missing_results"
    INVALID_RESULTS = "invalid_results"
    PLOT_ERROR = "plot_error"
    LATEX_ERROR = "latex_error"
    SANDBOX_ERROR = "sandbox_error"
    LLM_OUTPUT_INVALID = "llm_output_invalid"
    EDIT_NOT_APPLIED = "edit_not_applied"
    NO_EFFECTIVE_CHANGE = "no_effective_change"


MIGRATIONS: list[str] = [
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        run_id TEXT NOT NULL,
        idea TEXT NOT NULL,
        stage TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        model TEXT NOT NULL,
        template TEXT NOT NULL,
        category TEXT,
        exception_type TEXT,
        message TEXT,
        wall_s REAL,
        repaired INTEGER NOT NULL DEFAULT 0,
        run_dir TEXT
    );
    CREATE INDEX attempts_by_stage ON attempts (run_id, idea, stage);
    """,
]

ATTEMPT_COLUMNS = ("run_id", "idea", "stage", "attempt", "model", "template", "category", "exception_type",
                   "message", "wall_s", "repaired", "run_dir")
TRACEBACK_LAST = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)?)(?::\s*(?P<msg>.*))?$")


class Attempt(BaseModel):
    """One row of the failure log (``category is None`` means the attempt succeeded)."""

    run_id: str
    idea: str
    stage: str
    attempt: int
    model: str
    template: str
    category: Category | None = None
    exception_type: str | None = None
    message: str | None = None
    wall_s: float | None = None
    repaired: bool = False
    run_dir: str | None = None


def last_exception(stderr: str) -> tuple[str | None, str | None]:
    """The exception type and message of the last traceback in ``stderr``."""
    if "Traceback (most recent call last)" not in stderr and "SyntaxError" not in stderr:
        return None, None
    for line in reversed(stderr.strip().splitlines()):
        match = TRACEBACK_LAST.match(line.strip())
        if match and (match["type"].endswith(("Error", "Exception", "Exit", "Interrupt")) or match["msg"]):
            return match["type"].rsplit(".", 1)[-1], (match["msg"] or "").strip()[:500]
    return None, None


def classify_execution(result: ExecResult) -> tuple[Category | None, str | None, str | None]:
    """The category of a finished command (``None`` when it exited 0), with exception type and message."""
    exc_type, message = last_exception(result.stderr)
    if result.timed_out:
        return Category.TIMEOUT, exc_type, f"killed after {result.wall_s:.0f}s by the time limit"
    if result.oom_killed or exc_type == "MemoryError":
        return Category.OUT_OF_MEMORY, exc_type or "OOMKilled", message or "killed by the memory limit"
    if result.returncode == 0:
        return None, None, None
    if exc_type in ("SyntaxError", "IndentationError", "TabError"):
        return Category.SYNTAX_ERROR, exc_type, message
    if exc_type in ("ModuleNotFoundError", "ImportError"):
        return Category.IMPORT_ERROR, exc_type, message
    if exc_type is not None:
        return Category.RUNTIME_ERROR, exc_type, message
    tail = " | ".join(result.stderr.strip().splitlines()[-3:])[:500] or None
    return Category.NONZERO_EXIT, None, tail or f"exit code {result.returncode}"


def statements(script: str) -> list[str]:
    """The SQL statements of a migration script, one by one (``executescript`` would commit the
    migration's transaction before running them)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out + ([current.strip()] if current.strip() else [])


def read_attempts(path: Path) -> list[Attempt]:
    """The attempts in a failure log, read without creating or migrating it (a reader beside the run
    writing it: the web view, ``scientist failures``); a log not yet created reads as empty."""
    if not path.is_file():
        return []
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return select_attempts(db)
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        db.close()


def select_attempts(db: sqlite3.Connection) -> list[Attempt]:
    rows = db.execute(f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM attempts ORDER BY id").fetchall()
    return [Attempt.model_validate(dict(zip(ATTEMPT_COLUMNS, row, strict=True))) for row in rows]


OPEN_TIMEOUT_S = 30.0


class FailureLog:
    """The failure log of one run (``failures.sqlite`` in the run folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=OPEN_TIMEOUT_S)
        self._use_wal()
        self._migrate()

    def _use_wal(self) -> None:
        """Switch a new log to write-ahead logging. SQLite answers this one pragma with "database
        is locked" at once, without waiting, while another connection is switching the same new
        file, so it is retried until ``OPEN_TIMEOUT_S`` has passed; the mode then persists."""
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _migrate(self) -> None:
        """Bring the schema up to date. The version is read inside an immediate (write-locked)
        transaction, so two processes opening a new log at once migrate it once, not twice."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def record(self, attempt: Attempt) -> int:
        """Append one attempt; returns its row id."""
        row = attempt.model_dump(mode="json")
        cur = self._db.execute(
            "INSERT INTO attempts (ts, run_id, idea, stage, attempt, model, template, category, exception_type,"
            " message, wall_s, repaired, run_dir) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (datetime.now(UTC).isoformat(), row["run_id"], row["idea"], row["stage"], row["attempt"],
             row["model"], row["template"], row["category"], row["exception_type"], row["message"],
             row["wall_s"], int(row["repaired"]), row["run_dir"]))
        return int(cur.lastrowid or 0)

    def mark_repaired(self, run_id: str, idea: str, stage: str) -> None:
        """A later attempt of this stage succeeded: its failed attempts were repaired."""
        self._db.execute("UPDATE attempts SET repaired = 1 WHERE run_id = ? AND idea = ? AND stage = ?"
                         " AND category IS NOT NULL", (run_id, idea, stage))

    def attempts(self) -> list[Attempt]:
        return select_attempts(self._db)

    def close(self) -> None:
        self._db.close()


class Rate(BaseModel):
    """A proportion with its Wilson 95% interval."""

    failures: int
    total: int
    rate: float | None
    low: float | None
    high: float | None


def wilson(failures: int, total: int, z: float = 1.96) -> Rate:
    """Wilson score interval for ``failures / total``."""
    if total == 0:
        return Rate(failures=0, total=0, rate=None, low=None, high=None)
    p = failures / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return Rate(failures=failures, total=total, rate=p, low=max(0.0, centre - half), high=min(1.0, centre + half))


class FailureSummary(BaseModel):
    """First-attempt and after-repair failure rates of generated experiment runs (stages ``run_<k>``);
    the category counts cover every attempt (baseline, plots and LaTeX included)."""

    first_attempt: Rate
    after_repair: Rate
    by_category: dict[str, int]


def is_experiment_run(stage: str) -> bool:
    """Stages that run model-edited experiment code."""
    return stage.startswith("run_")


def summarise(attempts: Iterable[Attempt]) -> FailureSummary:
    """Group experiment-run attempts by (run, idea, stage): the first attempt's outcome, and whether any ran."""
    groups: dict[tuple[str, str, str], list[Attempt]] = {}
    categories: dict[str, int] = {}
    for a in attempts:
        if is_experiment_run(a.stage):
            groups.setdefault((a.run_id, a.idea, a.stage), []).append(a)
        if a.category is not None:
            categories[a.category.value] = categories.get(a.category.value, 0) + 1
    firsts = [sorted(g, key=lambda a: a.attempt)[0] for g in groups.values()]
    # a run fails after repair when none of its attempts ran: the search may go on after one that ran
    # (to compare clean runs, or past one with defects) and keep it though a later candidate failed
    never_ran = [all(a.category is not None for a in g) for g in groups.values()]
    return FailureSummary(
        first_attempt=wilson(sum(a.category is not None for a in firsts), len(firsts)),
        after_repair=wilson(sum(never_ran), len(never_ran)),
        by_category=dict(sorted(categories.items(), key=lambda kv: -kv[1])))


GROUPINGS = ("category", "stage", "template", "model")


def attempts_in(runs_dir: Path) -> list[Attempt]:
    """Every attempt logged by the runs under ``runs_dir``, oldest run first."""
    from scientist.runstore import RunStore

    attempts: list[Attempt] = []
    for folder in RunStore(runs_dir).list():
        attempts += read_attempts(folder.failures_path)
    return attempts


def group_key(attempt: Attempt, by: str) -> str:
    """The group an attempt falls in: its failure category (``success`` when it ran), or its stage,
    template folder name or model."""
    if by == "category":
        return attempt.category.value if attempt.category else "success"
    if by == "template":
        return Path(attempt.template).name or attempt.template
    return str(getattr(attempt, by)).split("/")[0] if by == "stage" else str(getattr(attempt, by))


def grouped(attempts: Iterable[Attempt], by: str) -> dict[str, FailureSummary]:
    """The failure summary of each group of attempts (``by``: stage, template or model)."""
    groups: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        groups.setdefault(group_key(attempt, by), []).append(attempt)
    return {key: summarise(members) for key, members in sorted(groups.items())}
