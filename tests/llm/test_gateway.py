"""The gateway against a scripted OpenAI-compatible server: every bad reply ends recovered or typed."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from scientist.errors import BudgetExceeded, LLMOutputInvalid, ModelError, TransientModelError
from scientist.llm.gateway import Route
from scientist.llm.ledger import Budget, CallRecord, Ledger
from scientist.llm.scripted.server import Step

GOOD = json.dumps({"title": "Label smoothing for tiny MLPs", "score": 7})


class Verdict(BaseModel):
    title: str
    score: int = Field(ge=1, le=10)


def ledger_lines(ledger) -> list[CallRecord]:
    return [CallRecord.model_validate_json(line) for line in ledger.path.read_text().splitlines()]


def ask(gateway) -> Verdict:
    return gateway.structured([{"role": "user", "content": "judge"}], Verdict, role="review", stage="test")


def test_valid_reply_is_parsed_and_logged(make_gateway, fake_llm):
    fake_llm.push(Step(GOOD, prompt_tokens=12, completion_tokens=8))
    gateway, ledger = make_gateway()
    assert ask(gateway) == Verdict(title="Label smoothing for tiny MLPs", score=7)
    (line,) = ledger_lines(ledger)
    assert (line.outcome, line.tokens_in, line.tokens_out, line.model) == ("ok", 12, 8, "openai/fake-model")
    assert line.prompt_hash and line.latency_s > 0
    sent = fake_llm.requests[0]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"]["required"] == ["title", "score"]


def test_invalid_json_is_reasked_with_the_error(make_gateway, fake_llm):
    fake_llm.push(Step('{"title": "x", "score": '), Step(GOOD))
    gateway, ledger = make_gateway()
    assert ask(gateway).score == 7
    assert [r.outcome for r in ledger_lines(ledger)] == ["invalid_output", "ok"]
    reask = fake_llm.requests[1]["messages"]
    assert reask[-2] == {"role": "assistant", "content": '{"title": "x", "score": '}
    assert "rejected" in reask[-1]["content"] and "JSON" in reask[-1]["content"]


def test_wrong_shape_is_reasked_naming_the_field(make_gateway, fake_llm):
    fake_llm.push(Step('{"title": "x", "score": 42}'), Step(GOOD))
    gateway, ledger = make_gateway()
    assert ask(gateway).score == 7
    assert "score" in fake_llm.requests[1]["messages"][-1]["content"]
    assert [r.outcome for r in ledger_lines(ledger)] == ["invalid_output", "ok"]


def test_truncated_reply_is_invalid_and_retried_with_more_tokens(make_gateway, fake_llm):
    fake_llm.push(Step(GOOD, finish_reason="length"), Step(GOOD))
    gateway, ledger = make_gateway()
    assert ask(gateway).title.startswith("Label")
    assert [r.outcome for r in ledger_lines(ledger)] == ["truncated", "ok"]
    assert fake_llm.requests[1]["max_tokens"] == 2 * fake_llm.requests[0]["max_tokens"]


def test_empty_replies_end_in_one_typed_error(make_gateway, fake_llm):
    fake_llm.push(Step(""), Step(""), Step(""))
    gateway, ledger = make_gateway(max_reasks=2)
    with pytest.raises(LLMOutputInvalid) as info:
        ask(gateway)
    assert info.value.attempts == 3
    assert [r.outcome for r in ledger_lines(ledger)] == ["empty", "empty", "empty"]


def test_rate_limit_then_success_is_retried(make_gateway, fake_llm):
    fake_llm.push(Step(status=429), Step(status=503), Step(GOOD))
    gateway, ledger = make_gateway()
    assert ask(gateway).score == 7
    assert [r.outcome for r in ledger_lines(ledger)] == ["transient_error", "transient_error", "ok"]
    assert len(fake_llm.requests) == 3, "litellm or the OpenAI client retried on its own"


def test_transient_errors_are_bounded(make_gateway, fake_llm):
    fake_llm.push(*[Step(status=429)] * 3)
    gateway, ledger = make_gateway(max_retries=2)
    with pytest.raises(TransientModelError):
        ask(gateway)
    assert len(ledger_lines(ledger)) == 3 and len(fake_llm.requests) == 3


def test_a_bad_request_is_not_retried(make_gateway, fake_llm):
    fake_llm.push(Step(status=400), Step(GOOD))
    gateway, ledger = make_gateway()
    with pytest.raises(ModelError):
        ask(gateway)
    assert [r.outcome for r in ledger_lines(ledger)] == ["error"]


def test_budget_in_tokens_stops_the_run_mid_way(make_gateway, fake_llm):
    fake_llm.repeat_last = True
    fake_llm.push(Step(GOOD, prompt_tokens=60, completion_tokens=20))
    gateway, ledger = make_gateway(budget=Budget(tokens=150))
    ask(gateway)
    ask(gateway)
    with pytest.raises(BudgetExceeded, match="150 tokens"):
        ask(gateway)
    assert [r.outcome for r in ledger_lines(ledger)] == ["ok", "ok", "budget_exceeded"]
    assert len(fake_llm.requests) == 2


def test_budget_in_usd_counts_real_prices(make_gateway, fake_llm, tmp_path):
    fake_llm.repeat_last = True
    fake_llm.push(Step(GOOD, prompt_tokens=1_000_000, completion_tokens=0))
    # gpt-4o-mini is priced in litellm's bundled cost map; a million input tokens cost well over $0.01.
    gateway, ledger = make_gateway(budget=Budget(usd=0.01), model="openai/gpt-4o-mini")
    ask(gateway)
    assert ledger.cost_usd > 0.01
    with pytest.raises(BudgetExceeded, match=r"\$0.01"):
        ask(gateway)


def test_ledger_totals_survive_a_restart(make_gateway, fake_llm):
    fake_llm.push(Step(GOOD, prompt_tokens=100, completion_tokens=50))
    gateway, ledger = make_gateway()
    ask(gateway)
    again = Ledger(ledger.path)
    assert (again.calls, again.tokens_in, again.tokens_out) == (1, 100, 50)


def test_schema_goes_into_the_prompt_when_the_provider_lacks_json_schema(make_gateway, fake_llm):
    fake_llm.push(Step("```json\n" + GOOD + "\n```"))
    gateway, _ = make_gateway()
    # An OpenAI-compatible server that does not take response_format's json_schema.
    gateway._routes["openai/fake-model"] = Route("openai/fake-model", fake_llm.api_base, "sk", False, False)
    assert ask(gateway).score == 7
    body = fake_llm.requests[0]
    assert "response_format" not in body
    assert '"score"' in body["messages"][-1]["content"]


def test_text_calls_are_logged(make_gateway, fake_llm):
    fake_llm.push(Step("hello"))
    gateway, ledger = make_gateway()
    assert gateway.text([{"role": "user", "content": "hi"}], role="writing", stage="t") == "hello"
    assert ledger_lines(ledger)[0].role == "writing"


def test_a_grammar_goes_to_a_local_llama_cpp_server_only(make_gateway, fake_llm, tmp_path):
    from scientist.llm.ledger import ResponseCache

    fake_llm.push(Step("free"), Step("held"))
    gateway, _ = make_gateway()
    gateway.cache = ResponseCache(tmp_path / "llm_cache.jsonl")
    hi = [{"role": "user", "content": "hi"}]
    assert gateway.text(hi, role="coding", stage="t", grammar='root ::= "held"') == "free"
    assert "grammar" not in fake_llm.requests[-1], "a hosted model is not sent llama.cpp's grammar"
    gateway._routes["openai/fake-model"] = Route("openai/fake-model", fake_llm.api_base, "sk", True, True)
    assert gateway.text(hi, role="coding", stage="t", grammar='root ::= "held"') == "held", \
        "the same prompt under a grammar is another request, not the cached free reply"
    assert fake_llm.requests[-1]["grammar"] == 'root ::= "held"'


class Steps(BaseModel):
    name: str
    steps: list[str] = Field(max_length=2)
    nested: list[list[int]] = Field(default_factory=list, max_length=3)


def test_a_list_past_its_max_items_is_cut_to_its_first_items_without_a_reask(make_gateway, fake_llm, tmp_path):
    # llama.cpp's server does not hold a JSON list to maxItems: a re-ask would read the prompt again
    from scientist.llm.ledger import ResponseCache

    fake_llm.push(Step(json.dumps({"name": "n", "steps": ["a", "b", "c", "d"], "nested": [[1], [2], [3], [4]]})),
                  Step(json.dumps({"name": "n", "steps": ["x"] * 3, "nested": []})))
    gateway, ledger = make_gateway()
    gateway.cache = ResponseCache(tmp_path / "llm_cache.jsonl")
    ask = [{"role": "user", "content": "plan"}]
    assert gateway.structured(ask, Steps, role="review", stage="t") == Steps(name="n", steps=["a", "b"],
                                                                            nested=[[1], [2], [3]])
    assert [r.outcome for r in ledger_lines(ledger)] == ["ok"] and len(fake_llm.requests) == 1
    assert gateway.structured(ask, Steps, role="review", stage="t").steps == ["a", "b"], "the cut reply is cached"
    assert len(fake_llm.requests) == 1
    other = [{"role": "user", "content": "again"}]
    assert gateway.structured(other, Steps, role="review", stage="t").steps == ["x", "x"]
    fake_llm.repeat_last = True
    fake_llm.push(Step(json.dumps({"name": 1, "steps": ["a", "b", "c"]})))
    with pytest.raises(LLMOutputInvalid):  # a wrong type beside a long list is no cut: it is re-asked
        gateway.structured([{"role": "user", "content": "third"}], Steps, role="review", stage="t")
    assert ledger_lines(ledger)[-1].outcome == "invalid_output"


class Slugged(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    tag: str = Field(pattern=r"^[a-z]*$", min_length=2, max_length=5)
    free: str = Field(pattern=r"^(a|b)+$", max_length=3)


def test_a_length_limit_is_written_into_the_pattern_a_grammar_follows(make_gateway, fake_llm):
    # llama.cpp's grammar follows `pattern` and drops `maxLength`: a sampled slug ran past 40.
    fake_llm.push(Step(json.dumps({"name": "a_b", "tag": "ab", "free": "ab"})))
    gateway, _ = make_gateway()
    assert gateway.structured([{"role": "user", "content": "x"}], Slugged, role="review", stage="test").name == "a_b"
    props = fake_llm.requests[0]["response_format"]["json_schema"]["schema"]["properties"]
    assert props["name"]["pattern"] == "^[a-z0-9_]{1,40}$"
    assert props["tag"]["pattern"] == "^[a-z]{2,5}$"
    assert props["free"]["pattern"] == "^(a|b)+$"  # not one class: left to validation and the re-ask


def test_a_credentials_refusal_is_not_retried_whatever_its_status(make_gateway, fake_llm):
    from scientist.errors import ModelNotUsable

    fake_llm.push(Step(status=503, error="The api_key client option must be set"), Step(GOOD))
    gateway, ledger = make_gateway()
    with pytest.raises(ModelNotUsable, match="cannot be called"):
        ask(gateway)
    assert [r.outcome for r in ledger_lines(ledger)] == ["error"] and len(fake_llm.requests) == 1
