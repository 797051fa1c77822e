"""Tally the hand labels of one or more labelling sheets written by bench/execution_failure_rate.py.

Each sheet row is one planned run: its idea, change, diff and an empty ``label`` a person fills in
with ``faithful`` (the diff implements the idea as asked), ``partial`` (part of it, or with an
unrequested change) or ``not`` (another experiment). A run that did not execute counts as failed
whatever its label. Prints, for each kind of idea apart: failed, faithful, partial, not and
unlabelled, and the faithful-success rate (faithful runs over all planned runs) with its Wilson 95%
interval. Sheets are read in order; a later row for the same (template, idea) replaces an earlier one.

    uv run python bench/labels.py bench-runs/failure-rate/labelling_sheet.json [more sheets]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scientist.failures import wilson  # noqa: E402

LABELS = ("faithful", "partial", "not")


def rows_of(sheets: list[Path]) -> list[dict]:
    """Every row of ``sheets``, the last one kept for each (template, idea)."""
    rows: dict[tuple[str, str], dict] = {}
    for sheet in sheets:
        for row in json.loads(sheet.read_text(encoding="utf-8")):
            rows[(row["template"], row["idea"])] = row
    return list(rows.values())


def verdict(row: dict) -> str:
    """'failed' for a run that did not execute, else its label ('unlabelled' when empty)."""
    if not row.get("ok"):
        return "failed"
    label = str(row.get("label", "")).strip().lower()
    if label and label not in LABELS:
        raise SystemExit(f"unknown label {label!r} for {row['idea']!r}: use one of {', '.join(LABELS)}")
    return label or "unlabelled"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sheets", type=Path, nargs="+")
    args = parser.parse_args()
    rows = rows_of(args.sheets)
    for kind in sorted({r["kind"] for r in rows}):
        mine = [r for r in rows if r["kind"] == kind]
        counts = Counter(verdict(r) for r in mine)
        faithful = wilson(counts["faithful"], len(mine))
        print(f"[{kind}] {len(mine)} planned runs: "
              + ", ".join(f"{name} {counts[name]}" for name in ("failed", *LABELS, "unlabelled")))
        print(f"  faithful success: {counts['faithful']}/{len(mine)} = {faithful.rate:.0%} "
              f"(95% CI {faithful.low:.0%}-{faithful.high:.0%})"
              + (" (unlabelled runs counted as not faithful)" if counts["unlabelled"] else ""))


if __name__ == "__main__":
    main()
