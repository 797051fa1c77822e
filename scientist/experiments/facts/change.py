"""What a planned run's change text asks of the code.

A plan's change often carries more than one run can do: the measurement ("..., and compare test
accuracy with the baseline"), which the loop does on its own, and sweeps ("k in {1, 2, 4, 8}"),
which are several runs. A small model reads "compare test accuracy" as a request to edit
``def accuracy``, and tries to fold a sweep into one file.
"""

from __future__ import annotations

import re

MEASUREMENT = re.compile(r"[,;]?\s*\b(?:and\s+|then\s+)?(?:compare|measure|report|relate|fit|show|check)\b.*$",
                         re.I | re.S)
SWEEP = re.compile(r"\b(?P<name>[A-Za-z_][\w-]*)\s+(?:in|over|∈)\s*\{(?P<values>[^{}]+)\}")
MIN_WORDS = 4  # a change cut shorter than this (it began with "Compare ...") is kept whole
# A change that begins with one of these adds computation: setting constants alone does not make it.
NEW_COMPUTATION = {"add", "implement", "append", "augment", "inject", "introduce", "mix", "split", "replace",
                   "apply", "anneal", "clip", "normalise", "normalize", "regularise", "regularize", "combine"}


def code_change(change: str) -> str:
    """The change without its measurement clause: what the code must do differently."""
    cut = MEASUREMENT.sub("", change).strip().rstrip(",;:")
    return cut if len(cut.split()) >= MIN_WORDS or re.match(r"set \w+ to ", cut, re.I) else change.strip()


def one_setting(change: str, run_index: int = 0) -> str:
    """The change with each sweep 'NAME in {a, b, c}' narrowed to one value, 'NAME = b': the middle
    one for a plan's first run (the ends are often the baseline's own value), the next ones for the
    runs after it, so runs that copy the same sweep still differ."""
    def pick(match: re.Match[str]) -> str:
        values = [v.strip() for v in match["values"].split(",") if v.strip()]
        chosen = values[(len(values) // 2 + run_index) % len(values)] if values else None
        return f"{match['name']} = {chosen}" if chosen else match[0]

    return SWEEP.sub(pick, change)


def adds_computation(change: str) -> str | None:
    """The change's first word when it is a verb that adds computation ('Add', 'Implement', ...)."""
    words = change.split(maxsplit=1)
    return words[0] if words and words[0].lower().strip(",.:") in NEW_COMPUTATION else None
