"""Reading decisions (the ICLR ratings TSV) and published reviews (the CSV format of earlier reviewers)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from scientist.errors import UsageError


def read_decisions(path: Path) -> dict[str, bool]:
    """``paper_id -> accepted`` from a TSV with ``paper_id`` and ``decision`` columns."""
    rows = _rows(path, delimiter="\t", required=("paper_id", "decision"))
    return {row["paper_id"]: row["decision"].strip().lower().startswith("accept") for row in rows}


def read_overall_scores(path: Path) -> dict[str, float]:
    """``paper_id -> Overall`` from a reviews CSV; rows without a numeric Overall are skipped."""
    scores = {}
    for row in _rows(path, delimiter=",", required=("paper_id", "Overall")):
        try:
            value = float(row["Overall"])
        except ValueError:
            continue
        if math.isfinite(value):
            scores[row["paper_id"]] = value
    return scores


def _rows(path: Path, *, delimiter: str, required: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise UsageError(f"{path}: file not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{path}: missing column(s) {', '.join(missing)}")
        return list(reader)
