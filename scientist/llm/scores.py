"""Expected values of integer scores from a reply's token log-probabilities.

A small model's sampled score ("7") hides how sure it was; the probabilities it gave each digit at
that position are a finer, less noisy reading of the same judgement (the G-Eval idea). Used for the
reviewer's scores when the server returns ``top_logprobs`` (the embedded server does).
"""

from __future__ import annotations

import math
import re
from typing import Any


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def token_texts(logprobs: Any) -> list[tuple[str, list[tuple[str, float]]]]:
    """(token, [(alternative, logprob), ...]) for each generated token."""
    content = _get(logprobs, "content") or []
    return [(_get(t, "token") or "", [(_get(a, "token") or "", float(_get(a, "logprob"))) for a in
                                      (_get(t, "top_logprobs") or [])]) for t in content]


def expected_scores(content: str, logprobs: Any, fields: dict[str, tuple[int, int]]) -> dict[str, float]:
    """For each ``field: (low, high)`` whose one-digit value appears in ``content`` as ``"field": N``, the
    probability-weighted mean over the digits low..high offered at that token. Fields that cannot be
    located (no logprobs, a two-digit value, tokens that do not rebuild the text) are left out."""
    tokens = token_texts(logprobs)
    if not tokens:
        return {}
    starts, offset = [], 0
    for text, _ in tokens:
        starts.append(offset)
        offset += len(text)
    rebuilt = "".join(text for text, _ in tokens)
    if content.strip() not in rebuilt and rebuilt.strip() not in content:  # a server may trim a trailing fence
        return {}
    scores: dict[str, float] = {}
    for field, (low, high) in fields.items():
        match = re.search(rf'"{re.escape(field)}"\s*:\s*(\d+)\b', rebuilt)
        if match is None or len(match.group(1)) != 1:
            continue
        at = match.start(1)
        index = max(i for i, s in enumerate(starts) if s <= at)
        if tokens[index][0].strip() != match.group(1):
            continue
        weights = {int(alt.strip()): math.exp(lp) for alt, lp in tokens[index][1]
                   if alt.strip().isdigit() and len(alt.strip()) == 1 and low <= int(alt.strip()) <= high}
        total = sum(weights.values())
        if total > 0:
            scores[field] = sum(value * w for value, w in weights.items()) / total
    return scores
