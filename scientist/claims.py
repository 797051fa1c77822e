"""The claims check: every number and every comparative claim the paper's text makes must be backed by
the runs and the claims ledger.

Numbers: a stated number matches when it equals, within the rounding of how it is written, a value of
a run's ``final_info.json`` (means and standard errors), a number of the ledger (differences,
intervals, p-values, seed counts), that value times 100 (a percentage), the difference of two run
values, the relative change between two in percent, or a setting (a number in the template's
constants, the idea or the plan's changes: "set WIDTH to 256" makes 256 a setting, not a
result). Integers up to 10 and years are not checked.

Comparative claims: a sentence that says a run improves, is better or worse, differs, is
significant, or makes no difference must agree with a ledger verdict on the metric and run it
names (any of the idea's comparisons when it names none). Hypotheses, questions and sentences that
cite other work are not claims about these runs.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field

from scientist.analysis.ledger import Comparison

NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]*\w)")
CITATION = re.compile(r"\[@([A-Za-z0-9_:\-]+)\]")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
UNCHECKED_SECTIONS = ("title", "related_work")

NEGATED = re.compile(r"\b(?:no|not|never|neither|nor|without|did\s*n[o']t|does\s*n[o']t|do\s*n[o']t|fail(?:s|ed)? to|"
                     r"cannot|can\s*not|n't)\b", re.I)
NULL = re.compile(r"\b(?:no|not)\s+(?:statistically\s+)?(?:significant(?:ly)?|detectable|measurable|meaningful|"
                  r"clear|reliable)\b|\bno\s+(?:difference|effect|change|improvement)\b|\bcomparable\b|"
                  r"\bindistinguishable\b|\bon par\b|\bsimilar\s+(?:to|performance|results|accuracy)\b", re.I)
POSITIVE = re.compile(r"\b(?:improv\w*|outperform\w*|better|superior|boost\w*|enhanc\w*|beneficial|benefit\w*|"
                      r"gains?)\b", re.I)
NEGATIVE = re.compile(r"\b(?:worse|worsen\w*|degrad\w*|hurt\w*|harm\w*|underperform\w*|inferior|deteriorat\w*)\b", re.I)
SIGNIFICANT = re.compile(r"\bsignifican\w*\b", re.I)
UP = re.compile(r"\b(?:higher|increas\w*|larger|greater|rais\w*)\b", re.I)
DOWN = re.compile(r"\b(?:lower|decreas\w*|reduc\w*|fewer|smaller)\b", re.I)
HEDGE = re.compile(r"\b(?:hypothes\w*|expect\w*|predict\w*|may|might|could|would|whether|if|aims?|ask\w*|"
                   r"propos\w*|investigat\w*|test(?:s|ed)? whether|future|should)\b|\?$", re.I)
GENERIC_WORDS = {"final", "mean", "value", "values", "test", "train", "time", "rate", "score", "total", "step", "steps"}

Kind = Literal["improvement", "degradation", "significant", "no_difference", "higher", "lower"]


class UnsupportedClaim(BaseModel):
    """A sentence whose comparative claim no ledger verdict supports."""

    section: str
    sentence: str
    claim: Kind
    reason: str


class UnmatchedSentence(BaseModel):
    """A sentence with numbers that no run, ledger entry or setting gives."""

    section: str
    sentence: str
    numbers: list[str]


class ClaimsCheck(BaseModel):
    """What ``paper/claims_check.json`` records."""

    unmatched_numbers: dict[str, list[str]] = Field(default_factory=dict, description="section -> numbers")
    unmatched_sentences: list[UnmatchedSentence] = Field(default_factory=list)
    unsupported_claims: list[UnsupportedClaim] = Field(default_factory=list)
    unknown_citations: list[str] = Field(default_factory=list)
    checked_numbers: int = 0
    settings_recognised: list[str] = Field(default_factory=list, description="numbers read as settings, not results")
    checked_claims: int = 0
    rewrites: int = 0

    @property
    def clean(self) -> bool:
        return not self.unmatched_numbers and not self.unknown_citations and not self.unsupported_claims


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


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text`` (a setting's numbers: '(128,)', '1e-3', '0.05')."""
    return [float(m.group(0)) for m in NUMBER.finditer(text)]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.split(text) if s.strip()]


def _matches(token: str, refs: list[float], exact: list[float]) -> bool:
    value, tol = float(token), _tolerance(token)
    if any(abs(abs(value) - abs(ref)) <= tol * 1.0001 for ref in refs):
        return True
    return any(abs(value - ref) <= 1e-12 * max(1.0, abs(ref)) for ref in exact)


def unmatched_numbers(text: str, values: list[float], settings: Iterable[float] = (),
                      recognised: list[str] | None = None) -> tuple[list[str], int]:
    """Numbers in ``text`` that no run produced and no setting gives, and how many numbers were checked;
    numbers that only a setting gives are added to ``recognised``."""
    missing, checked = [], 0
    refs, exact = reference_values(values), list(settings)
    for match in NUMBER.finditer(text):
        token = match.group(0)
        if not is_checked(token):
            continue
        checked += 1
        if _matches(token, [], exact):  # a setting the idea, the plan or the template states, read as such first
            if recognised is not None and token not in recognised:
                recognised.append(token)
            continue
        if not _matches(token, refs, []):
            missing.append(token)
    return missing, checked


def unknown_citations(text: str, known: set[str]) -> list[str]:
    return sorted({key for key in CITATION.findall(text) if key not in known})


CLAUSE = re.compile(r";|,?\s+(?:but|while|whereas|although|though|yet|however)\s+", re.I)
NEGATION_WINDOW = 4  # words before a claim word that can negate it ("does not significantly improve")


def clauses(sentence: str) -> list[str]:
    """A sentence cut where a contrast starts ("X does not improve, but Y is better" is two claims)."""
    return [c.strip() for c in CLAUSE.split(sentence) if c and c.strip()]


def _negated(clause: str, start: int) -> bool:
    before = re.findall(r"[\w']+", clause[:start])[-NEGATION_WINDOW:]
    return bool(NEGATED.search(" ".join(before)))


def claim_kinds(sentence: str, metric_named: bool) -> list[Kind]:
    """The comparative claims a clause makes about the runs ([] for hypotheses and cited work). A claim
    word negated by one of the few words before it ("did not improve") claims no difference."""
    if HEDGE.search(sentence) or CITATION.search(sentence):
        return []
    if NULL.search(sentence):
        return ["no_difference"]
    kinds: list[Kind] = []
    for pattern, kind in ((POSITIVE, "improvement"), (NEGATIVE, "degradation"), (SIGNIFICANT, "significant")):
        for match in pattern.finditer(sentence):
            kinds.append("no_difference" if _negated(sentence, match.start()) else kind)  # type: ignore[arg-type]
    if metric_named and not kinds and not NEGATED.search(sentence):
        if UP.search(sentence):
            kinds.append("higher")
        if DOWN.search(sentence):
            kinds.append("lower")
    return list(dict.fromkeys(kinds))


def metric_words(metric: str) -> set[str]:
    words = {w for w in re.split(r"[_\W]+", metric.lower()) if len(w) >= 4 and w not in GENERIC_WORDS}
    return words | {metric.lower()}


def relevant(sentence: str, ledger: list[Comparison]) -> list[Comparison]:
    """The comparisons a sentence is about: those of the metric and run it names, else all."""
    lower = sentence.lower()
    named_metrics = {c.metric for c in ledger if any(re.search(rf"\b{re.escape(w)}", lower)
                                                     for w in metric_words(c.metric))}
    named_runs = {c.run for c in ledger if re.search(rf"\b{re.escape(c.run)}\b", lower)
                  or (c.run_name and c.run_name.lower() in lower)}
    chosen = [c for c in ledger if (not named_metrics or c.metric in named_metrics)
              and (not named_runs or c.run in named_runs)]
    if not named_metrics:
        chosen = [c for c in chosen if c.primary] or chosen
    return chosen or ledger


def supported(kind: Kind, comparisons: list[Comparison]) -> bool:
    if kind == "improvement":
        return any(c.verdict == "better" for c in comparisons)
    if kind == "degradation":
        return any(c.verdict == "worse" for c in comparisons)
    if kind == "significant":
        return any(c.detected for c in comparisons)
    if kind == "no_difference":
        return any(c.verdict == "no_difference" for c in comparisons)
    if kind == "higher":
        return any(c.detected and c.difference > 0 for c in comparisons)
    return any(c.detected and c.difference < 0 for c in comparisons)


def _why(kind: Kind, comparisons: list[Comparison]) -> str:
    verdicts = sorted({c.verdict for c in comparisons}) or ["none"]
    if verdicts == ["untested"]:
        return f"the sentence claims {kind.replace('_', ' ')}, but no test was run (per-seed values not reported)"
    return (f"the sentence claims {kind.replace('_', ' ')}, but the ledger's verdicts for what it is about are: "
            f"{', '.join(verdicts)}")


def unsupported_claims(section: str, text: str, ledger: list[Comparison]) -> tuple[list[UnsupportedClaim], int]:
    """Sentences of ``text`` with a claim (in any of their clauses) that no ledger verdict supports."""
    found, checked = [], 0
    metrics = {w for c in ledger for w in metric_words(c.metric)}
    for sentence in sentences(text):
        for clause in clauses(sentence):
            lower = clause.lower()
            metric_named = any(re.search(rf"\b{re.escape(w)}", lower) for w in metrics)
            about = relevant(clause, ledger)
            wrong = next((kind for kind in claim_kinds(clause, metric_named) if not supported(kind, about)), None)
            checked += len(claim_kinds(clause, metric_named))
            if wrong is not None:
                found.append(UnsupportedClaim(section=section, sentence=sentence, claim=wrong,
                                              reason=_why(wrong, about)))
                break
    return found, checked


def check_claims(sections: dict[str, str], values: list[float], known_keys: set[str],
                 ledger: list[Comparison] | None = None, settings: Iterable[float] = ()) -> ClaimsCheck:
    """Check every section but the title and related work for numbers and comparative claims, and every
    section for citation keys."""
    report, fixed = ClaimsCheck(), list(settings)
    for name, text in sections.items():
        if name in UNCHECKED_SECTIONS:
            continue
        for sentence in sentences(text):
            missing, checked = unmatched_numbers(sentence, values, fixed, report.settings_recognised)
            report.checked_numbers += checked
            if missing:
                report.unmatched_numbers.setdefault(name, []).extend(missing)
                report.unmatched_sentences.append(UnmatchedSentence(section=name, sentence=sentence, numbers=missing))
        claims, checked = unsupported_claims(name, text, ledger or [])
        report.checked_claims += checked
        report.unsupported_claims += claims
    report.unknown_citations = sorted({k for text in sections.values() for k in unknown_citations(text, known_keys)})
    return report
