"""The reviewer: an ensemble of independent reviews (with reflection) and a meta-review.

Ensemble members read the same condensed paper text as the same message prefix, with their
persona after it, so the local server's prompt cache serves the paper to members 2..N for free.
"""

from __future__ import annotations

import difflib
import re
import statistics
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field

from scientist.config import LOCAL_MODEL, Settings
from scientist.literature.guard import neutralise
from scientist.llm.gateway import Gateway
from scientist.prompts import render
from scientist.review.record import record_for, trust_line
from scientist.runstore import write_atomic
from scientist.schemas import Review

SCORES = ("soundness", "presentation", "contribution", "overall", "confidence")
RANGES = {"soundness": (1, 4), "presentation": (1, 4), "contribution": (1, 4), "overall": (1, 10), "confidence": (1, 5)}
SCORING = "expected-scores-v1"  # part of the bench cache key: how a review's numbers are read
# Offsets added to a model's mean overall score so the literature's accept rule (>= 6) holds for it,
# measured with `scientist review-bench` on the ICLR 2022 development papers (docs/benchmarks.md).
CALIBRATION: dict[str, float] = {LOCAL_MODEL: 0.0}
ACCEPT_AT = 6.0
PERSONAS = ("", "You are a reviewer who focuses on the soundness of the experiments.",
            "You are a reviewer who focuses on novelty and significance.",
            "You are a reviewer who focuses on clarity and reproducibility.",
            "You are a skeptical senior reviewer.")
INJECTION_WEAKNESS = "The paper contains text addressed to the reviewers (an attempt to steer the review); it was ignored."


class MetaReview(BaseModel):
    """The aggregate of an ensemble: mean scores; the decision applies the calibrated overall."""

    reviews: int
    scores: dict[str, float]
    offset: float = 0.0
    overall: float = Field(description="the mean overall score plus the review model's calibration offset")
    decision: str
    strengths: list[str]
    weaknesses: list[str]
    injection_attempt: bool = False
    reviewer: str = ""  # the review model, its last measured record, and whether it is calibrated
    calibrated: bool = False


def review_form() -> str:
    """The review form (``reviews/neurips_form.md``), from the installed package or the source tree."""
    package = Path(str(resources.files("scientist")))
    for candidate in (package / "_reviews" / "neurips_form.md", package.parent / "reviews" / "neurips_form.md"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError("reviews/neurips_form.md is missing from this installation")


class Reviewer:
    """Reviews paper text with one gateway."""

    def __init__(self, gateway: Gateway, *, reflections: int = 1, stage: str = "review") -> None:
        self.gateway = gateway
        self.reflections = reflections
        self.stage = stage

    def _messages(self, paper: str, number: int) -> list[dict[str, str]]:
        persona = PERSONAS[(number - 1) % len(PERSONAS)]
        return [{"role": "system", "content": render("review", "system", form=review_form())},
                {"role": "user", "content": render("review", "review", paper=paper, persona=persona)}]

    def review_once(self, paper: str, number: int) -> Review:
        """One review (after its reflection rounds), with the expected value of each score attached."""
        messages = self._messages(paper, number)
        review, expected = self.gateway.structured_scored(messages, Review, fields=RANGES, role="review",
                                                          stage=f"{self.stage}/{number}", max_tokens=1200)
        for _ in range(self.reflections):
            draft = review.model_dump_json(exclude={"expected"})
            again = [*messages, {"role": "assistant", "content": draft},
                     {"role": "user", "content": render("review", "reflect", draft=draft)}]
            review, expected = self.gateway.structured_scored(again, Review, fields=RANGES, role="review",
                                                              stage=f"{self.stage}/{number}/reflect", max_tokens=1200)
        review.expected = expected or None
        return without_repeats(review)

    def guard(self, paper: str) -> tuple[str, bool]:
        """The paper with instruction-like text removed, and whether there was any."""
        return neutralise(paper)


def plain_words(text: str) -> str:
    """``text`` as its words only: lower case, without punctuation, single-spaced."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def distinct(points: list[str], similarity: float = 0.85) -> list[str]:
    """``points`` without repeats: the same words ignoring case, spacing and punctuation, or a near copy
    (difflib ratio at least ``similarity``) of an earlier point."""
    kept: list[str] = []
    seen: list[str] = []
    for point in points:
        key = plain_words(point)
        if not key or any(key == other or difflib.SequenceMatcher(None, key, other).ratio() >= similarity
                          for other in seen):
            continue
        kept.append(point)
        seen.append(key)
    return kept


def without_repeats(review: Review) -> Review:
    """A review whose strengths, weaknesses and questions each say a thing once."""
    return review.model_copy(update={"strengths": distinct(review.strengths),
                                     "weaknesses": distinct(review.weaknesses),
                                     "questions": distinct(review.questions)})


def mark_injection(review: Review) -> Review:
    if INJECTION_WEAKNESS not in review.weaknesses:
        review.weaknesses = [*review.weaknesses[:4], INJECTION_WEAKNESS]
    return review


def score_of(review: Review, name: str) -> float:
    """A review's score: the probability-weighted one when known, else the integer the model wrote."""
    return (review.expected or {}).get(name, float(getattr(review, name)))


def review_offset(settings: Settings) -> float:
    """The calibration offset for the review model: the setting when given, else the measured one, else 0."""
    if settings.review_offset is not None:
        return settings.review_offset
    return CALIBRATION.get(settings.model_for("review"), 0.0)


def with_record(meta: MetaReview, model: str, cache_dir: Path) -> MetaReview:
    """The meta-review stating its reviewer's record (``review/record.py``)."""
    record = record_for(model, cache_dir)
    return meta.model_copy(update={"reviewer": trust_line(model, cache_dir),
                                   "calibrated": bool(record and record.calibrated)})


def write_meta_review(reviews: list[Review], injection: bool, settings: Settings, target: Path) -> MetaReview:
    """The meta-review of ``reviews`` with its reviewer's record, written to ``target`` as
    ``meta_review.json`` and ``review.md`` (a run's review stage and ``scientist review`` alike)."""
    meta = with_record(meta_review(reviews, injection, review_offset(settings)), settings.model_for("review"),
                       settings.cache_dir)
    write_atomic(target / "meta_review.json", meta.model_dump_json(indent=2) + "\n")
    write_atomic(target / "review.md", review_markdown(reviews, meta))
    return meta


def meta_review(reviews: list[Review], injection: bool = False, offset: float = 0.0) -> MetaReview:
    scores = {s: round(statistics.fmean(score_of(r, s) for r in reviews), 2) for s in SCORES}
    overall = round(scores["overall"] + offset, 2)
    return MetaReview(reviews=len(reviews), scores=scores, offset=offset, overall=overall,
                      decision="accept" if overall >= ACCEPT_AT else "reject",
                      strengths=distinct([s for r in reviews for s in r.strengths])[:8],
                      weaknesses=distinct([w for r in reviews for w in r.weaknesses])[:8],
                      injection_attempt=injection)


def review_markdown(reviews: list[Review], meta: MetaReview) -> str:
    lines = [f"# Reviews ({meta.reviews})", "", *([meta.reviewer, ""] if meta.reviewer else []),
             f"**Meta-review: {meta.decision}** (overall {meta.overall}/10"
             + (f" = reviewers' mean {meta.scores['overall']} {meta.offset:+g} calibration" if meta.offset else "")
             + ", "
             f"soundness {meta.scores['soundness']}/4, presentation {meta.scores['presentation']}/4, "
             f"contribution {meta.scores['contribution']}/4)", ""]
    if meta.injection_attempt:
        lines += [f"Note: {INJECTION_WEAKNESS}", ""]
    for k, r in enumerate(map(without_repeats, reviews), start=1):
        lines += [f"## Review {k}: overall {r.overall}/10, {r.decision} (confidence {r.confidence}/5)", "",
                  r.summary, "", "Strengths:", *[f"- {s}" for s in r.strengths], "", "Weaknesses:",
                  *[f"- {w}" for w in r.weaknesses], "", "Questions:", *[f"- {q}" for q in r.questions], ""]
    return "\n".join(lines) + "\n"
