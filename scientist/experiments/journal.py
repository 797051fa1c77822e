"""The journal of an idea's experiments: one entry per attempt at a planned run (in the spirit of
aideml's ``Journal``), appended to ``experiments/<idea>/journal.jsonl`` as it happens.

An entry says where the attempt started from (the baseline, or the attempt whose code it fixed), where
the change was made, the code's diff against the baseline, which passes fired on it, and how it ended:
the failure's category, where and the values the failing line read, or the run's means."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from scientist.experiments.passes import FiredPass

JOURNAL = "journal.jsonl"


class JournalEntry(BaseModel):
    """One attempt at one planned run."""

    run: str
    attempt: int = Field(ge=1, description="the candidate's number among all the run's candidates")
    round: int = Field(1, ge=1, description="the search round: 1, then one per repair")
    candidate: int = Field(1, ge=1, description="which of the round's candidates (they share one prompt)")
    parent: str = Field(description="'baseline', or 'attempt N' when this attempt fixed attempt N's code in place "
                                    "or narrowed it")
    move: Literal["change", "fix", "narrow"] = Field(description="a change made to the baseline, a fix in place, "
                                                                 "or a clean run's edits outside the parts its "
                                                                 "change names undone")
    part: str | None = Field(None, description="the part the change or fix was made in, when one was set")
    ok: bool
    category: str | None = None
    message: str | None = None
    where: str | None = None
    values: str | None = None
    passes: list[FiredPass] = Field(default_factory=list)
    diff: str = ""
    means: dict[str, dict[str, float]] | None = None
    wall_s: float | None = None


def append(folder: Path, entry: JournalEntry) -> None:
    """Add ``entry`` to the folder's journal (one JSON line, flushed before returning)."""
    with (folder / JOURNAL).open("a", encoding="utf-8") as fh:
        fh.write(entry.model_dump_json() + "\n")
        fh.flush()


def read(folder: Path) -> list[JournalEntry]:
    """The folder's journal entries, oldest first; a torn last line (a run killed mid-write) is skipped."""
    path = folder / JOURNAL
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(JournalEntry.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValueError):
            continue
    return entries
