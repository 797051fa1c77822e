"""The real embedded model, through the real gateway, yields a validated pydantic object."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from scientist.config import default_cache_dir, load_settings
from scientist.llm.gateway import Gateway
from scientist.llm.ledger import CallRecord, Ledger

pytestmark = pytest.mark.slow


class ExperimentIdea(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    hypothesis: str
    feasibility: int = Field(ge=1, le=10)


def test_embedded_model_returns_a_validated_object(tmp_path: Path):
    settings = load_settings(cache_dir=default_cache_dir())
    ledger = Ledger(tmp_path / "llm_calls.jsonl")
    gateway = Gateway(settings, ledger)
    idea = gateway.structured(
        [{"role": "system", "content": "You are a careful ML researcher."},
         {"role": "user", "content": "Propose one small experiment on label smoothing for a tiny MLP "
                                     "on the digits dataset. name is a snake_case slug."}],
        ExperimentIdea, role="ideation", stage="integration", max_tokens=256)
    assert isinstance(idea, ExperimentIdea) and idea.hypothesis
    records = [CallRecord.model_validate_json(x) for x in ledger.path.read_text().splitlines()]
    assert records[-1].outcome == "ok" and records[-1].tokens_out > 0 and records[-1].cost_usd == 0.0
    assert gateway.route("ideation").api_base.startswith("http://127.0.0.1:")
