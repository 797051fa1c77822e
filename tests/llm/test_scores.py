"""Probability-weighted scores read from token log-probabilities, through the real gateway."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import BaseModel, Field

from scientist.llm.scores import expected_scores
from scientist.llm.scripted.server import FakeOpenAI, Step


class Rated(BaseModel):
    comment: str
    overall: int = Field(ge=1, le=10)


def token(text: str, alternatives: dict[str, float] | None = None) -> dict:
    alts = alternatives or {text: 1.0}
    return {"token": text, "logprob": math.log(alts.get(text, 1.0)),
            "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in alts.items()]}


def logprobs_for(content: str, at: str, alternatives: dict[str, float]) -> dict:
    """Tokens that rebuild ``content``; the token ``at`` carries ``alternatives``."""
    before, after = content.split(at, 1)
    return {"content": [token(before), token(at, alternatives), token(after)]}


REPLY = '{"comment": "solid", "overall": 7}'
LOGPROBS = logprobs_for(REPLY, "7", {"7": 0.5, "8": 0.25, "4": 0.2, "x": 0.05})


def test_the_expected_score_weights_each_digit_by_its_probability():
    scores = expected_scores(REPLY, LOGPROBS, {"overall": (1, 10)})
    assert scores["overall"] == pytest.approx((7 * 0.5 + 8 * 0.25 + 4 * 0.2) / 0.95)


@pytest.mark.parametrize("case", ["no logprobs", "two digits", "tokens do not rebuild"])
def test_scores_that_cannot_be_located_are_left_out(case):
    if case == "no logprobs":
        assert expected_scores(REPLY, None, {"overall": (1, 10)}) == {}
    elif case == "two digits":
        reply = '{"comment": "great", "overall": 10}'
        assert expected_scores(reply, logprobs_for(reply, "10", {"10": 1.0}), {"overall": (1, 10)}) == {}
    else:
        other = REPLY.replace("7", "8")
        assert expected_scores(REPLY, logprobs_for(other, "8", {"8": 1.0}), {"overall": (1, 10)}) == {}


def test_the_gateway_returns_expected_scores_and_caches_them(make_gateway, fake_llm: FakeOpenAI, tmp_path):
    from scientist.llm.ledger import ResponseCache

    fake_llm.script.append(Step(REPLY, logprobs=LOGPROBS))
    gateway, _ = make_gateway()
    gateway.cache = ResponseCache(tmp_path / "cache.jsonl")
    messages = [{"role": "user", "content": "rate it"}]
    parsed, scores = gateway.structured_scored(messages, Rated, fields={"overall": (1, 10)}, role="review", stage="t")
    assert parsed.overall == 7 and scores["overall"] == pytest.approx(6.63, abs=0.01)
    assert fake_llm.requests[-1]["logprobs"] is True and fake_llm.requests[-1]["top_logprobs"] == 10
    again = gateway.structured_scored(messages, Rated, fields={"overall": (1, 10)}, role="review", stage="t")
    assert again[1] == scores and len(fake_llm.requests) == 1, "the second call is served from the cache"
    assert json.loads(parsed.model_dump_json())["overall"] == 7
