"""Review: an ensemble of independent reviews of the compiled paper and a meta-review."""

from __future__ import annotations

import json
from typing import Any

from langgraph.runtime import Runtime

from scientist.review.condense import condense
from scientist.review.reader import read_paper
from scientist.review.reviewer import Reviewer, mark_injection, write_meta_review
from scientist.runstore import write_atomic
from scientist.schemas import Review
from scientist.services import Services
from scientist.state import RunState


def review(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Write ``reviews/review_<k>.json``, ``meta_review.json`` and ``review.md``."""
    services = runtime.context
    folder = services.folder.path
    paper = folder / "paper" / ("paper.pdf" if (folder / "paper" / "paper.pdf").is_file() else "paper.tex")
    if not paper.is_file():
        return {"notes": ["review: no paper to review"], "reviews": {}}
    reviewer = Reviewer(services.gateway, reflections=services.settings.review_reflections)
    text, injection = reviewer.guard(condense(read_paper(paper), services.settings.review_budget_tokens).text)
    reviews = []
    for k in range(1, services.settings.reviewers + 1):
        path = folder / "reviews" / f"review_{k}.json"
        if path.is_file():
            reviews.append(Review.model_validate_json(path.read_text()))
            continue
        services.progress("review", f"review {k}/{services.settings.reviewers}")
        made = reviewer.review_once(text, k)
        reviews.append(mark_injection(made) if injection else made)
        write_atomic(path, reviews[-1].model_dump_json(indent=2) + "\n")
    meta = write_meta_review(reviews, injection, services.settings, folder / "reviews")
    return {"reviews": json.loads(meta.model_dump_json())}
