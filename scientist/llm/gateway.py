"""The LLM gateway: the only module that calls litellm.

It owns structured output (JSON schema in ``response_format`` where the provider takes
it, else the schema in the prompt), the bounded re-ask with the validation error, the
bounded retries with backoff on transient errors only, the ledger line for every
attempt, and the budget.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from scientist.config import LOCAL_MODEL, Role, Settings
from scientist.errors import LLMOutputInvalid, ModelError, ModelNotUsable, ModelUnavailable, TransientModelError
from scientist.llm.embedded import LITELLM_MODEL, embedded_model_path, local_server
from scientist.llm.ledger import CallRecord, Ledger, Outcome, ResponseCache, prompt_hash
from scientist.llm.scores import expected_scores
from scientist.prompts import render

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
Messages = list[dict[str, str]]
MAX_BACKOFF_S = 30.0


@cache
def load_litellm() -> ModuleType:
    """Import litellm without letting it reach the network, and register the local model."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.disable_hf_tokenizer_download = True
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.register_model({LITELLM_MODEL: {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                                            "cache_creation_input_token_cost": 0.0,
                                            "cache_read_input_token_cost": 0.0,
                                            "litellm_provider": "openai", "mode": "chat",
                                            "supports_response_schema": True}})
    return litellm


def _transient_errors(litellm: ModuleType) -> tuple[type[BaseException], ...]:
    return (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError,
            litellm.InternalServerError, litellm.ServiceUnavailableError, litellm.BadGatewayError)


def _fatal_errors(litellm: ModuleType) -> tuple[type[BaseException], ...]:
    return (litellm.AuthenticationError, litellm.PermissionDeniedError, litellm.NotFoundError,
            litellm.BadRequestError, litellm.UnprocessableEntityError, litellm.APIError)


@dataclass(frozen=True)
class Route:
    """Where one role's calls go."""

    model: str
    api_base: str | None
    api_key: str | None
    json_schema: bool
    local: bool


@dataclass
class Reply:
    """One model reply."""

    content: str
    finish_reason: str | None
    logprobs: Any = None


NEVER_RETRIED = ("api_key", "api key", "credentials", "Unauthorized", "LLM Provider NOT provided",
                 "Incorrect API key", "invalid x-api-key")


def cannot_succeed(exc: BaseException) -> bool:
    """A refusal that no retry can change (missing or wrong credentials, no provider), whatever class
    litellm gave it."""
    text = str(exc)
    return any(needle.lower() in text.lower() for needle in NEVER_RETRIED)


# providers whose credentials may come from the machine (an instance role, application-default
# credentials) rather than a variable: their keys are not required up front
AMBIENT_CREDENTIALS = {"bedrock", "bedrock_converse", "sagemaker", "sagemaker_chat", "vertex_ai", "vertex_ai_beta"}
CREDENTIAL_WORDS = ("KEY", "TOKEN", "SECRET", "CREDENTIAL", "PASSWORD")


def check_remote_model(model: str) -> None:
    """Refuse, before any call, a remote model that litellm cannot route or whose provider's credentials
    are not in the environment (no retry can fix either). Endpoints with defaults (a local ollama)
    pass."""
    litellm = load_litellm()
    try:
        provider = litellm.get_llm_provider(model)[1]
    except litellm.exceptions.BadRequestError as exc:
        raise ModelNotUsable(f"unknown model or provider '{model}': give a litellm model string such as "
                             "openai/gpt-4o or anthropic/claude-sonnet-4-5, or 'local' for the embedded model") from exc
    if provider in AMBIENT_CREDENTIALS:
        return
    missing = [key for key in litellm.validate_environment(model=model).get("missing_keys") or []
               if any(word in key.upper() for word in CREDENTIAL_WORDS)]
    if missing:
        raise ModelNotUsable(f"{model} needs {', '.join(missing)} in the environment (missing credentials); "
                             "set it, or use --model local for the embedded model")


class Gateway:
    """Every model call of scientist goes through one of these."""

    def __init__(self, settings: Settings, ledger: Ledger, *, cache: ResponseCache | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.ledger = ledger
        self.cache = cache
        self._sleep = sleep
        self._routes: dict[str, Route] = {}
        self._unpriced: set[str] = set()

    # -- routing -------------------------------------------------------------------------
    def route(self, role: Role) -> Route:
        """Resolve (once) which model, endpoint and output mode a role uses."""
        model = self.settings.model_for(role)
        if model not in self._routes:
            self._routes[model] = self._resolve(model)
        return self._routes[model]

    def _resolve(self, model: str) -> Route:
        litellm = load_litellm()
        if model == LOCAL_MODEL:
            path = self.local_model_path()
            server = local_server(path, ctx=self.settings.local.ctx, threads=self.settings.local.threads)
            endpoint = server.endpoint()
            return Route(endpoint.model, endpoint.api_base, endpoint.api_key, json_schema=True, local=True)
        if self.settings.api_base:
            return Route(model, self.settings.api_base, os.environ.get("OPENAI_API_KEY", "sk-none"),
                         json_schema=True, local=False)
        check_remote_model(model)
        try:
            schema_ok = bool(litellm.supports_response_schema(model=model))
        except litellm.exceptions.BadRequestError:
            schema_ok = False
        return Route(model, None, None, json_schema=schema_ok, local=False)

    def local_model_path(self) -> Path:
        """The GGUF file of the local model: the user's, or the embedded one."""
        if self.settings.local_model is not None:
            if not self.settings.local_model.is_file():
                raise ModelUnavailable(f"SCIENTIST_LOCAL_MODEL points to a missing file: "
                                       f"{self.settings.local_model}")
            return self.settings.local_model
        return embedded_model_path(self.settings.cache_dir)

    # -- public calls ----------------------------------------------------------------------
    def structured(self, messages: Messages, output: type[T], *, role: Role, stage: str,
                   max_tokens: int = 2048, temperature: float | None = None, sample: int = 0) -> T:
        """Ask for one ``output`` object; re-ask with the validation error a bounded number of times.
        ``sample``: which of several independent samples of the same request this is (0: the first);
        another sample is cached apart and asked with its own seed."""
        return self._structured(messages, output, role=role, stage=stage, max_tokens=max_tokens,
                                temperature=temperature, sample=sample)[0]

    def structured_scored(self, messages: Messages, output: type[T], *, fields: dict[str, tuple[int, int]],
                          role: Role, stage: str, max_tokens: int = 2048) -> tuple[T, dict[str, float]]:
        """Like ``structured``, plus the expected value of each integer field ``name: (low, high)`` from the
        model's token probabilities where the server reports them (else the field is missing)."""
        route = self.route(role)
        wants = route.local or bool(route.api_base) or "logprobs" in _supported_params(route.model)
        parsed, key, reply = self._structured(messages, output, role=role, stage=stage, max_tokens=max_tokens,
                                              logprobs=wants)
        score_key = f"{key}#scores"
        if reply is None:  # from the cache: the scores were cached with it
            cached = self.cache.get(score_key) if self.cache is not None else None
            return parsed, json.loads(cached) if cached else {}
        scores = expected_scores(reply.content, reply.logprobs, fields) if reply.logprobs else {}
        if self.cache is not None:
            self.cache.put(score_key, json.dumps(scores))
        return parsed, scores

    def _structured(self, messages: Messages, output: type[T], *, role: Role, stage: str, max_tokens: int,
                    logprobs: bool = False, temperature: float | None = None,
                    sample: int = 0) -> tuple[T, str, Reply | None]:
        """The parsed reply, its cache key and the raw reply (``None`` when it came from the cache)."""
        route = self.route(role)
        schema = _schema_of(output)
        convo = list(messages)
        response_format: dict[str, Any] | None = None
        if route.json_schema:
            response_format = {"type": "json_schema",
                               "json_schema": {"name": output.__name__, "schema": schema}}
        else:
            convo.append({"role": "user", "content": render("gateway", "schema_instruction",
                                                            schema=json.dumps(schema))})
        key = prompt_hash(route.model, convo, schema) + (f"#sample{sample}" if sample else "")
        cached = self._from_cache(key, output, role=role, stage=stage)
        if cached is not None:
            return cached, key, None
        last_error = "no reply"
        attempts = self.settings.max_reasks + 1
        for attempt in range(1, attempts + 1):
            reply, record = self._complete(route, convo, role=role, stage=stage, attempt=attempt,
                                           max_tokens=max_tokens, response_format=response_format,
                                           schema=schema, logprobs=logprobs, temperature=temperature,
                                           seed=sample or None)
            parsed, outcome, last_error, valid = _validate(reply, output)
            record.outcome = outcome
            record.error = None if parsed is not None else last_error
            self.ledger.record(record)
            if parsed is not None:
                if self.cache is not None:
                    self.cache.put(key, valid)
                return parsed, key, reply
            log.warning("%s/%s: invalid structured reply (attempt %d/%d): %s",
                        stage, role, attempt, attempts, last_error)
            convo, max_tokens = _reask(convo, reply, outcome, last_error, max_tokens)
        raise LLMOutputInvalid(f"the model's reply never matched {output.__name__} after {attempts} "
                               f"attempts: {last_error}", attempts=attempts, last_error=last_error)

    def _from_cache(self, key: str, output: type[T], *, role: str, stage: str) -> T | None:
        """A reply recorded for exactly this request in this run, logged as a free ``cached`` call."""
        content = self.cache.get(key) if self.cache is not None else None
        if content is None:
            return None
        try:
            parsed = output.model_validate_json(content)
        except ValidationError:
            return None
        self.ledger.record(CallRecord(role=role, stage=stage, model=self.settings.model_for(role),  # type: ignore[arg-type]
                                      prompt_hash=key, attempt=0, outcome=Outcome.CACHED))
        return parsed

    def ping(self, role: Role = "review") -> float:
        """One tiny real request (``max_tokens`` 1) that proves the model answers with these credentials;
        its wall time in seconds. Errors raise as from any call."""
        route = self.route(role)
        started = time.perf_counter()
        _, record = self._complete(route, [{"role": "user", "content": "Reply with: ok"}], role=role,
                                   stage="doctor/ping", attempt=1, max_tokens=1, response_format=None, schema=None)
        self.ledger.record(record)
        return time.perf_counter() - started

    def text(self, messages: Messages, *, role: Role, stage: str, max_tokens: int = 2048,
             temperature: float | None = None, sample: int = 0, grammar: str | None = None) -> str:
        """Ask for free text (re-asked once per allowed re-ask when the reply is empty); ``sample`` as
        in ``structured``; ``grammar``: a llama.cpp GBNF grammar the reply is decoded under, where the
        route is the local server (elsewhere the reply is free)."""
        route = self.route(role)
        convo = list(messages)
        grammar = grammar if route.local else None
        key = (prompt_hash(route.model, convo, {"grammar": grammar} if grammar else None)
               + (f"#sample{sample}" if sample else ""))
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            self.ledger.record(CallRecord(role=role, stage=stage, model=route.model, prompt_hash=key, attempt=0,
                                          outcome=Outcome.CACHED))
            return cached
        for attempt in range(1, self.settings.max_reasks + 2):
            reply, record = self._complete(route, convo, role=role, stage=stage, attempt=attempt,
                                           max_tokens=max_tokens, response_format=None, schema=None,
                                           temperature=temperature, seed=sample or None, grammar=grammar)
            record.outcome = Outcome.OK if reply.content.strip() else Outcome.EMPTY
            self.ledger.record(record)
            if reply.content.strip():
                if self.cache is not None:
                    self.cache.put(key, reply.content)
                return reply.content
            convo = [*convo, {"role": "user", "content": "Your reply was empty. Answer the request."}]
        raise LLMOutputInvalid("the model's replies were all empty", attempts=attempt, last_error="empty")

    # -- one completion with transient retries -------------------------------------------------
    def _complete(self, route: Route, messages: Messages, *, role: str, stage: str, attempt: int,
                  max_tokens: int, response_format: dict[str, Any] | None,
                  schema: dict[str, Any] | None, logprobs: bool = False,
                  temperature: float | None = None, seed: int | None = None,
                  grammar: str | None = None) -> tuple[Reply, CallRecord]:
        litellm = load_litellm()
        phash = prompt_hash(route.model, messages, schema)
        kwargs: dict[str, Any] = {
            "model": route.model, "messages": messages, "max_tokens": max_tokens,
            "temperature": self.settings.temperature if temperature is None else temperature,
            "timeout": self.settings.request_timeout_s,
            "num_retries": 0, "max_retries": 0,
        }
        if route.api_base:
            kwargs.update(api_base=route.api_base, api_key=route.api_key)
        if response_format is not None:
            kwargs["response_format"] = response_format
        if logprobs:
            kwargs.update(logprobs=True, top_logprobs=10)
        if grammar is not None:
            kwargs["extra_body"] = {"grammar": grammar}  # llama.cpp's server decodes under it
        if seed is not None and (route.local or route.api_base or "seed" in _supported_params(route.model)):
            kwargs["seed"] = seed  # a provider without seeds still samples anew: the cache key differs
        for retry in range(self.settings.max_retries + 1):
            record = CallRecord(role=role, stage=stage, model=route.model, prompt_hash=phash,
                                attempt=attempt, outcome=Outcome.OK)
            self.ledger.check_budget(record)
            started = time.perf_counter()
            try:
                response = litellm.completion(**kwargs)
            except _transient_errors(litellm) as exc:
                record.latency_s = time.perf_counter() - started
                if cannot_succeed(exc):  # litellm maps some client-side refusals to connection errors
                    record.outcome, record.error = Outcome.ERROR, _short(exc)
                    self.ledger.record(record)
                    raise ModelNotUsable(f"{route.model} cannot be called: {_short(exc)}") from exc
                record.outcome, record.error = Outcome.TRANSIENT_ERROR, _short(exc)
                self.ledger.record(record)
                if retry == self.settings.max_retries:
                    raise TransientModelError(f"{route.model} kept failing: {_short(exc)}") from exc
                self._sleep(self._backoff(retry))
                continue
            except _fatal_errors(litellm) as exc:
                record.latency_s = time.perf_counter() - started
                record.outcome, record.error = Outcome.ERROR, _short(exc)
                self.ledger.record(record)
                raise ModelError(f"{route.model} refused the request: {_short(exc)}") from exc
            record.latency_s = time.perf_counter() - started
            return self._read(response, record, route, litellm)
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _read(self, response: Any, record: CallRecord, route: Route,
              litellm: ModuleType) -> tuple[Reply, CallRecord]:
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        record.tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        record.tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        record.finish_reason = choice.finish_reason
        reply = Reply(choice.message.content or "", choice.finish_reason, getattr(choice, "logprobs", None))
        if route.local:
            return reply, record
        if route.model in self._unpriced:
            record.cost_known = False
        else:
            try:
                record.cost_usd = float(litellm.completion_cost(completion_response=response) or 0.0)
            except (litellm.exceptions.ModelNotMappedError, litellm.exceptions.NotFoundError,
                    litellm.exceptions.BadRequestError) as exc:
                record.cost_known = False
                self._unpriced.add(route.model)
                log.warning("no price known for %s (%s); its cost is counted as 0", route.model,
                            _short(exc, 80))
        return reply, record

    def _backoff(self, retry: int) -> float:
        base = self.settings.retry_base_delay_s * (2 ** retry)
        return min(MAX_BACKOFF_S, base * (0.75 + random.random() / 2))


@cache
def _supported_params(model: str) -> frozenset[str]:
    """The OpenAI parameters litellm says ``model`` accepts (empty when it does not know the model)."""
    try:
        return frozenset(load_litellm().get_supported_openai_params(model=model) or ())
    except (ValueError, KeyError):
        return frozenset()


@cache
def _schema_of(output: type[BaseModel]) -> dict[str, Any]:
    return _lengths_in_patterns(output.model_json_schema())


# ``^[a-z0-9_]+$``: one character class repeated. Grammar-constrained decoders (llama.cpp) follow a
# string's ``pattern`` and drop its ``maxLength``; folding the length into the repeat makes the
# decoder itself keep to it instead of a re-ask finding out afterwards.
_REPEATED_CLASS = re.compile(r"^\^(\[[^\]]+\]|\\w|\\d)[+*]\$$")


def _lengths_in_patterns(node: Any) -> Any:
    """The schema with ``minLength``/``maxLength`` written into single-class patterns as ``{min,max}``."""
    if isinstance(node, list):
        return [_lengths_in_patterns(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _lengths_in_patterns(v) for k, v in node.items()}
    match = _REPEATED_CLASS.match(out["pattern"]) if isinstance(out.get("pattern"), str) else None
    if match and "maxLength" in out:
        low = max(int(out.get("minLength", 0)), 1 if out["pattern"].endswith("+$") else 0)
        out["pattern"] = f"^{match.group(1)}{{{low},{int(out['maxLength'])}}}$"
    return out


def _validate(reply: Reply, output: type[T]) -> tuple[T | None, Outcome, str, str]:
    """Parse a reply into ``output``; say why not when it fails. The last value is the JSON text that
    validated (the reply's, or the reply's with its over-long lists cut)."""
    if reply.finish_reason == "length":
        return None, Outcome.TRUNCATED, "the reply was cut off by the token limit", ""
    text = _strip_fence(reply.content)
    if not text:
        return None, Outcome.EMPTY, "the reply was empty", ""
    try:
        return output.model_validate_json(text), Outcome.OK, "", text
    except ValidationError as exc:
        cut = _lists_cut(text, exc)
        if cut is not None:
            try:
                return output.model_validate_json(cut), Outcome.OK, "", cut
            except ValidationError as again:
                exc = again
        return None, Outcome.INVALID_OUTPUT, _validation_summary(exc), ""


def _lists_cut(text: str, exc: ValidationError) -> str | None:
    """``text`` with each list longer than its schema's ``maxItems`` cut to its first items, when that
    is everything wrong with it, else ``None``. A grammar-constrained decoder (llama.cpp's server) may
    not hold a list to ``maxItems``; the items it wrote first are kept, as a re-ask would mostly keep
    them, without the re-ask's second reading of the prompt."""
    errors = exc.errors()
    if not errors or any(e["type"] != "too_long" or not isinstance(e.get("input"), list) or not e["loc"]
                         for e in errors):
        return None
    data = json.loads(text)
    for error in errors:
        node = data
        for key in error["loc"][:-1]:
            node = node[key]
        node[error["loc"][-1]] = node[error["loc"][-1]][:int(error["ctx"]["max_length"])]
    return json.dumps(data)


def _validation_summary(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    more = f" (+{exc.error_count() - limit} more)" if exc.error_count() > limit else ""
    return "; ".join(parts) + more


def _strip_fence(text: str) -> str:
    """Drop one surrounding Markdown code fence, which schema-less providers like to add."""
    text = text.strip()
    if text.startswith("```") and text.endswith("```") and text.count("\n") >= 1:
        text = text.split("\n", 1)[1].rsplit("```", 1)[0].strip()
    return text


def _reask(convo: Messages, reply: Reply, outcome: Outcome, error: str,
           max_tokens: int) -> tuple[Messages, int]:
    """The conversation and token limit for the next attempt."""
    if outcome is Outcome.TRUNCATED:
        return [*convo, {"role": "user", "content": render("gateway", "reask_truncated")}], max_tokens * 2
    if outcome is Outcome.EMPTY:
        return [*convo, {"role": "user", "content": render("gateway", "reask_empty")}], max_tokens
    return [*convo, {"role": "assistant", "content": reply.content},
            {"role": "user", "content": render("gateway", "reask_invalid", error=error)}], max_tokens


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}"
