"""Per-seed values of each metric, read from a run's ``final_info.json``.

The template contract: beside ``means`` (and ``stderrs``), a setting's entry may hold ``per_seed``,
either a list with one object per seed (``[{"test_accuracy": 0.97, ...}, ...]``, optionally with a
``"seed"`` key) or an object of lists (``{"test_accuracy": [0.97, ...]}``). Runs that list their
seeds in the same order (the template's fixed seeds) are compared seed by seed. The AI Scientist's
templates report only means and standard errors: they read as no per-seed values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pydantic import BaseModel


class SeedValues(BaseModel):
    """One setting's per-seed values: metric -> values in seed order, and the seed labels if given."""

    values: dict[str, list[float]]
    seeds: list[str] | None = None


def _records(raw: object) -> list[dict[str, object]] | None:
    if isinstance(raw, list) and raw and all(isinstance(r, dict) for r in raw):
        return raw
    if isinstance(raw, dict) and raw and all(isinstance(v, list) for v in raw.values()):
        lengths = {len(v) for v in raw.values()}
        if len(lengths) == 1:
            return [{k: v[i] for k, v in raw.items()} for i in range(lengths.pop())]
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def parse_per_seed(entry: object) -> SeedValues | None:
    """The per-seed values of one setting's entry, or None when it reports none."""
    if not isinstance(entry, dict):
        return None
    raw = entry.get("per_seed")
    if raw is None and isinstance(entry.get("final_info_dict"), dict):
        raw = entry["final_info_dict"].get("per_seed")
    records = _records(raw)
    if not records:
        return None
    metrics = [k for k in records[0] if k != "seed"]
    values: dict[str, list[float]] = {}
    for metric in metrics:
        column = [_number(r.get(metric)) for r in records]
        if all(v is not None for v in column):
            values[metric] = [v for v in column if v is not None]
    seeds = [str(r["seed"]) for r in records] if all("seed" in r for r in records) else None
    return SeedValues(values=values, seeds=seeds) if values else None


def _entries(path: Path) -> dict[str, object]:
    """The setting entries of a ``final_info.json`` ({} when it is missing or not an object)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def read_per_seed(path: Path) -> dict[str, SeedValues]:
    """setting -> per-seed values, for the settings of ``path`` that report them ({} when unreadable)."""
    data = _entries(path)
    found = {setting: parse_per_seed(entry) for setting, entry in data.items()}
    return {setting: values for setting, values in found.items() if values is not None}


def read_stderrs(path: Path) -> dict[str, dict[str, float]]:
    """setting -> metric -> standard error ({} when unreadable)."""
    data = _entries(path)
    out: dict[str, dict[str, float]] = {}
    for setting, entry in data.items():
        raw = entry.get("stderrs") if isinstance(entry, dict) else None
        if isinstance(raw, dict):
            out[setting] = {k: v for k, v in ((k, _number(v)) for k, v in raw.items()) if v is not None}
    return out
