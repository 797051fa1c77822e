"""Review: an ensemble of independent reviews of the paper and a meta-review that aggregates them."""

from __future__ import annotations

import json
import statistics
from importlib import resources
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from scientist.llm.gateway import Gateway
from scientist.prompts import render
from scientist.runstore import write_atomic
from scientist.schemas import PaperSections, Review
from scientist.services import Services
from scientist.state import RunState

SCORES = ("soundness", "presentation", "contribution", "overall", "confidence")
ACCEPT_AT = 6.0


class MetaReview(BaseModel):
    """The aggregate of an ensemble."""

    reviews: int
    scores: dict[str, float]
    decision: str
    strengths: list[str]
    weaknesses: list[str]


def review_form() -> str:
    """The review form (``reviews/neurips_form.md``), from the source tree or the installed package."""
    package = Path(str(resources.files("scientist")))
    for candidate in (package / "_reviews" / "neurips_form.md", package.parent / "reviews" / "neurips_form.md"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError("reviews/neurips_form.md is missing from this installation")


def paper_text(sections: PaperSections, tables_text: str) -> str:
    parts = [f"Title: {sections.title}", f"Abstract: {sections.abstract}"]
    for key in ("introduction", "related_work", "method", "experimental_setup", "results", "discussion",
                "conclusion"):
        parts.append(f"{key.replace('_', ' ').title()}:\n{getattr(sections, key)}")
    parts.append(f"Results table:\n{tables_text}")
    return "\n\n".join(parts)


def review_once(gateway: Gateway, text: str, number: int) -> Review:
    messages = [{"role": "system", "content": render("review", "system", form=review_form())},
                {"role": "user", "content": render("review", "review", paper=text)}]
    if number > 1:  # independent reviewers: a different persona per member
        messages[0]["content"] += f"\nYou are reviewer #{number}; judge independently of the others."
    return gateway.structured(messages, Review, role="review", stage=f"review/{number}", max_tokens=1200)


def meta_review(reviews: list[Review]) -> MetaReview:
    scores = {s: round(statistics.fmean(getattr(r, s) for r in reviews), 2) for s in SCORES}
    return MetaReview(reviews=len(reviews), scores=scores,
                      decision="accept" if scores["overall"] >= ACCEPT_AT else "reject",
                      strengths=[s for r in reviews for s in r.strengths][:8],
                      weaknesses=[w for r in reviews for w in r.weaknesses][:8])


def review_markdown(reviews: list[Review], meta: MetaReview) -> str:
    lines = [f"# Reviews ({meta.reviews})", "",
             f"**Meta-review: {meta.decision}** (mean overall {meta.scores['overall']}/10, "
             f"soundness {meta.scores['soundness']}/4, presentation {meta.scores['presentation']}/4, "
             f"contribution {meta.scores['contribution']}/4)", ""]
    for k, r in enumerate(reviews, start=1):
        lines += [f"## Review {k}: overall {r.overall}/10, {r.decision} (confidence {r.confidence}/5)", "",
                  r.summary, "", "Strengths:", *[f"- {s}" for s in r.strengths], "", "Weaknesses:",
                  *[f"- {w}" for w in r.weaknesses], "", "Questions:", *[f"- {q}" for q in r.questions], ""]
    return "\n".join(lines) + "\n"


def review(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Write ``reviews/review_<k>.json``, ``meta_review.json`` and ``review.md``."""
    services = runtime.context
    folder = services.folder.path
    sections_path = folder / "paper" / "sections.json"
    if not sections_path.is_file():
        return {"notes": ["review: no paper to review"], "reviews": {}}
    sections = PaperSections.model_validate_json(sections_path.read_text())
    tables = "\n".join(f"{name}: {outcome.get('status')}" for name, outcome in state.get("experiments", {}).items())
    text = paper_text(sections, tables)
    reviews = []
    for k in range(1, services.settings.reviewers + 1):
        path = folder / "reviews" / f"review_{k}.json"
        if path.is_file():
            reviews.append(Review.model_validate_json(path.read_text()))
            continue
        services.progress("review", f"review {k}/{services.settings.reviewers}")
        reviews.append(review_once(services.gateway, text, k))
        write_atomic(path, reviews[-1].model_dump_json(indent=2) + "\n")
    meta = meta_review(reviews)
    write_atomic(folder / "reviews" / "meta_review.json", meta.model_dump_json(indent=2) + "\n")
    write_atomic(folder / "reviews" / "review.md", review_markdown(reviews, meta))
    return {"reviews": json.loads(meta.model_dump_json()),
            "notes": ["review: the paper text is read from the model-written sections; reflection rounds and "
                      "long-paper condensation are not available yet"]}
