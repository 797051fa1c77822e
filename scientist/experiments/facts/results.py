"""Reading and validating an experiment's ``final_info.json``.

Shape (The AI Scientist's): ``{"<dataset or setting>": {"means": {"<metric>": number}, "stderrs": {...}}}``;
other keys may sit beside ``means``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from scientist.errors import ScientistError


class InvalidResults(ScientistError):
    """``final_info.json`` is missing, malformed, or lacks finite values for the declared metrics."""

    code = "invalid_results"


class NonFiniteResults(InvalidResults):
    """A declared metric is inf or nan: the run computed it, and something made the first non-finite
    value on the way (the experiment loop reruns it to find where)."""


Means = dict[str, dict[str, float]]


def read_final_info(path: Path, metrics: list[str] | None = None) -> Means:
    """``dataset -> metric -> mean`` from ``path``, validated; ``metrics`` must each be present and finite."""
    if not path.is_file():
        raise InvalidResults(f"{path.name} was not written (expected at {path})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidResults(f"{path.name} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not data:
        raise InvalidResults(f"{path.name} must be an object with one entry per dataset or setting")
    means: Means = {}
    for dataset, entry in data.items():
        raw = entry.get("means") if isinstance(entry, dict) else None
        if not isinstance(raw, dict) or not raw:
            raise InvalidResults(f"{path.name}: '{dataset}' has no 'means' object with metrics")
        means[dataset] = _finite(path.name, dataset, raw)
    for dataset, values in means.items():
        absent = [m for m in metrics or [] if m not in values]
        if absent:
            raise InvalidResults(f"{path.name}: '{dataset}' lacks the declared metric(s) {', '.join(absent)}")
    return means


def _finite(name: str, dataset: str, raw: dict[str, object]) -> dict[str, float]:
    values = {}
    for metric, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidResults(f"{name}: '{dataset}.means.{metric}' is not a number ({value!r})")
        if not math.isfinite(value):
            raise NonFiniteResults(f"{name}: '{dataset}.means.{metric}' is not finite ({value})")
        values[metric] = float(value)
    return values
