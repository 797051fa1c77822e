"""Neutralise instruction-like text in quoted literature before a model reads it."""

from __future__ import annotations

import re

INJECTION = re.compile(
    r"(ignore (all |any )?(the )?(previous|prior|above) (instructions|prompts?)|disregard (the )?(previous|above)"
    r"|you are now|system prompt|declare (this|the) (idea|paper) (novel|not novel)|as an ai"
    r"|give (this|the|my|our) (paper|idea|work|submission) (a |an )?(score|rating|10|ten|strong accept)"
    r"|(rate|score) (this|the) (paper|submission)|reviewers? (must|should|are instructed to) (accept|give|rate|score)"
    r"|new instructions?)[^.\n]*[.\n]?",
    re.IGNORECASE)
MARKER = "[instruction-like text removed by scientist]"


def neutralise(text: str) -> tuple[str, bool]:
    """``text`` with instruction-like sentences replaced by a marker, and whether any were found."""
    cleaned, count = INJECTION.subn(MARKER + " ", text)
    return cleaned.strip(), count > 0
