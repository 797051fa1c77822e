"""The call ledger (``llm_calls.jsonl``) and the run's budget.

Every attempt to call a model is one line: successes, invalid replies, transient
errors and calls refused because the budget was spent.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from scientist.errors import BudgetExceeded


class Outcome(StrEnum):
    """How one model call ended."""

    OK = "ok"
    INVALID_OUTPUT = "invalid_output"
    TRUNCATED = "truncated"
    EMPTY = "empty"
    TRANSIENT_ERROR = "transient_error"
    ERROR = "error"
    BUDGET_EXCEEDED = "budget_exceeded"
    CACHED = "cached"


class CallRecord(BaseModel):
    """One line of ``llm_calls.jsonl``."""

    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))
    role: str
    stage: str
    model: str
    prompt_hash: str
    attempt: int
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    latency_s: float = 0.0
    finish_reason: str | None = None
    outcome: Outcome
    error: str | None = None


class Budget(BaseModel):
    """Limits of a run; ``None`` means unlimited."""

    usd: float | None = None
    tokens: int | None = None


class Ledger:
    """Appends call records and keeps totals; refuses calls once the budget is spent."""

    def __init__(self, path: Path | None, budget: Budget | None = None) -> None:
        self.path = path
        self.budget = budget or Budget()
        self._lock = threading.Lock()
        self.calls = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost_usd = 0.0
        if path is not None and path.is_file():
            self._load_totals(path)

    def _load_totals(self, path: Path) -> None:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                self._add(CallRecord.model_validate_json(line))

    def _add(self, record: CallRecord) -> None:
        self.calls += 1
        self.tokens_in += record.tokens_in
        self.tokens_out += record.tokens_out
        self.cost_usd += record.cost_usd

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def spent_reason(self) -> str | None:
        """Why the budget is spent, or ``None`` while money and tokens remain."""
        if self.budget.usd is not None and self.cost_usd >= self.budget.usd:
            return f"the run's budget of ${self.budget.usd:.2f} is spent (${self.cost_usd:.4f} used)"
        if self.budget.tokens is not None and self.tokens >= self.budget.tokens:
            return f"the run's budget of {self.budget.tokens} tokens is spent ({self.tokens} used)"
        return None

    def check_budget(self, record_if_refused: CallRecord) -> None:
        """Raise ``BudgetExceeded`` (and log the refused call) when nothing is left."""
        reason = self.spent_reason()
        if reason is not None:
            record_if_refused.outcome = Outcome.BUDGET_EXCEEDED
            record_if_refused.error = reason
            self.record(record_if_refused)
            raise BudgetExceeded(reason, hint="raise it with --budget or budget_usd/budget_tokens")

    def record(self, record: CallRecord) -> None:
        """Append one record and update the totals."""
        with self._lock:
            self._add(record)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(record.model_dump_json() + "\n")

    def summary(self) -> dict[str, float | int]:
        """Totals for a report."""
        return {"calls": self.calls, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
                "cost_usd": round(self.cost_usd, 6)}


def prompt_hash(model: str, messages: list[dict[str, str]], schema: dict | None) -> str:
    """A stable hash of what was asked, for audit and for caching."""
    blob = json.dumps({"model": model, "messages": messages, "schema": schema}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class ResponseCache:
    """Validated replies by prompt hash (``llm_cache.jsonl``): a resumed run never pays twice for one call."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, str] = {}
        if path is not None and path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self._entries[entry["hash"]] = entry["content"]

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def put(self, key: str, content: str) -> None:
        with self._lock:
            self._entries[key] = content
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"hash": key, "content": content}) + "\n")
