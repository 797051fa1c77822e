"""The numbers check: every number the paper's abstract and results state must come from a run.

A stated number matches when it equals, within the rounding of how it is written, a value of a
run's ``final_info.json`` (means and standard errors), that value times 100 (a percentage), the
difference of two such values, or the relative change between two values in percent. Integers
up to 10 (counts such as "3 seeds") and years are not checked.
"""

from __future__ import annotations

import itertools
import re

from pydantic import BaseModel, Field

NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]*\w)")
CITATION = re.compile(r"\[@([A-Za-z0-9_:\-]+)\]")


class ClaimsCheck(BaseModel):
    """What ``paper/claims_check.json`` records."""

    unmatched_numbers: dict[str, list[str]] = Field(default_factory=dict, description="section -> numbers")
    unknown_citations: list[str] = Field(default_factory=list)
    checked_numbers: int = 0

    @property
    def clean(self) -> bool:
        return not self.unmatched_numbers and not self.unknown_citations


def _tolerance(text: str) -> float:
    """Half a unit in the last written digit: '0.97' -> 0.005."""
    mantissa = text.lower().split("e")[0].lstrip("+-")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    scale = 10 ** int(text.lower().split("e")[1]) if "e" in text.lower() else 1
    return 0.5 * 10 ** (-decimals) * scale


def reference_values(values: list[float]) -> list[float]:
    """Every value a correct paper may state, derived from the runs' values."""
    derived = list(values) + [v * 100 for v in values]
    for a, b in itertools.permutations(values, 2):
        derived += [a - b, (a - b) * 100]
        if b:
            derived.append((a / b - 1) * 100)
    return derived


def is_checked(text: str) -> bool:
    value = float(text)
    if "." not in text and "e" not in text.lower():
        return not (abs(value) <= 10 or 1900 <= value <= 2100)
    return True


def unmatched_numbers(text: str, values: list[float]) -> tuple[list[str], int]:
    """Numbers in ``text`` that no run produced, and how many numbers were checked."""
    refs = reference_values(values)
    missing, checked = [], 0
    for match in NUMBER.finditer(text):
        token = match.group(0)
        if not is_checked(token):
            continue
        checked += 1
        value, tol = float(token), _tolerance(token)
        if not any(abs(abs(value) - abs(ref)) <= tol * 1.0001 for ref in refs):
            missing.append(token)
    return missing, checked


def unknown_citations(text: str, known: set[str]) -> list[str]:
    return sorted({key for key in CITATION.findall(text) if key not in known})


def check_claims(sections: dict[str, str], values: list[float], known_keys: set[str]) -> ClaimsCheck:
    """Check the abstract and results for numbers, and every section for citation keys."""
    report = ClaimsCheck()
    for name in ("abstract", "results"):
        missing, checked = unmatched_numbers(sections.get(name, ""), values)
        report.checked_numbers += checked
        if missing:
            report.unmatched_numbers[name] = missing
    report.unknown_citations = sorted({k for text in sections.values() for k in unknown_citations(text, known_keys)})
    return report
