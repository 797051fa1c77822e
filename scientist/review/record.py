"""How far a reviewer model can be trusted: its last measured agreement with real conference decisions.

``scientist review-bench --papers`` writes one record per review model to a small registry
(``<cache>/reviewer_records.json``); the package ships the embedded model's record. Every review
states its reviewer's record, and a reviewer with no record, or whose balanced-accuracy interval
reaches chance (0.5), is labelled "uncalibrated: a critique, not a verdict".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ValidationError

from scientist.runstore import write_atomic

UNCALIBRATED = "uncalibrated: a critique, not a verdict"
CHANCE = 0.5


class ReviewerRecord(BaseModel):
    """One review model's last measurement against real decisions."""

    model: str
    balanced_accuracy: float
    balanced_accuracy_low: float
    balanced_accuracy_high: float
    auc: float | None = None
    auc_low: float | None = None
    auc_high: float | None = None
    papers: int
    measured_on: str  # the date, YYYY-MM-DD
    source: str = ""  # which papers, and how the figure was read

    @property
    def calibrated(self) -> bool:
        return self.balanced_accuracy_low > CHANCE

    def describe(self) -> str:
        auc = (f", AUC {self.auc:.2f}" + (f" ({self.auc_low:.2f}-{self.auc_high:.2f})"
                                          if self.auc_low is not None and self.auc_high is not None else "")
               if self.auc is not None else "")
        return (f"balanced accuracy {self.balanced_accuracy:.2f} (95% CI {self.balanced_accuracy_low:.2f}-"
                f"{self.balanced_accuracy_high:.2f}){auc} on {self.papers} papers, measured {self.measured_on}"
                + (f" ({self.source})" if self.source else ""))


def registry_path(cache_dir: Path) -> Path:
    return cache_dir / "reviewer_records.json"


def _read(text: str) -> dict[str, ReviewerRecord]:
    try:
        raw = json.loads(text)
        return {name: ReviewerRecord.model_validate(value) for name, value in raw.items()}
    except (json.JSONDecodeError, ValidationError, AttributeError):
        return {}


def shipped_records() -> dict[str, ReviewerRecord]:
    return _read(resources.files("scientist.review").joinpath("reviewer_records.json").read_text(encoding="utf-8"))


def record_for(model: str, cache_dir: Path) -> ReviewerRecord | None:
    """The user's own measurement of ``model`` when there is one, else the shipped one, else None."""
    path = registry_path(cache_dir)
    own = _read(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return own.get(model) or shipped_records().get(model)


def save_record(record: ReviewerRecord, cache_dir: Path) -> Path:
    """Add or replace ``record`` in the user's registry."""
    path = registry_path(cache_dir)
    records = _read(path.read_text(encoding="utf-8")) if path.is_file() else {}
    records[record.model] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({k: v.model_dump() for k, v in records.items()}, indent=2) + "\n")
    return path


def trust_line(model: str, cache_dir: Path) -> str:
    """What a review says about its reviewer: the model, its record, and the label."""
    record = record_for(model, cache_dir)
    if record is None:
        return f"Reviewer: {model}; no measurement against real decisions. **{UNCALIBRATED}.**"
    label = UNCALIBRATED if not record.calibrated else "calibrated: its interval excludes chance"
    return f"Reviewer: {model}; last measured {record.describe()}. **{label}.**"


def today() -> str:
    return datetime.now(UTC).date().isoformat()
