"""Review: an ensemble of independent reviews of the latest version of the paper and a meta-review;
then a revision round while ``revisions`` allows one and there is a compiled paper to revise."""

from __future__ import annotations

import json
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command

from scientist.review.condense import condense
from scientist.review.reader import read_paper
from scientist.review.reviewer import Reviewer, mark_injection, write_meta_review
from scientist.runstore import write_atomic
from scientist.schemas import Review
from scientist.services import Services
from scientist.state import RunState


def review(state: RunState, runtime: Runtime[Services]) -> Command[Any]:
    """Write ``review_<k>.json``, ``meta_review.json`` and ``review.md`` into the reviews folder of
    the paper's latest version (``reviews/`` for the draft, ``revisions/<k>/reviews/`` after)."""
    services = runtime.context
    revisions = list(state.get("revisions", []))
    version = len(revisions)
    folder = services.folder.paper_dir(version)
    paper = folder / ("paper.pdf" if (folder / "paper.pdf").is_file() else "paper.tex")
    if not paper.is_file():
        return Command(goto="finish", update={"notes": ["review: no paper to review"],
                                              **({} if version else {"reviews": {}})})
    stage = "review" if version == 0 else f"review of revision {version}"
    reviewer = Reviewer(services.gateway, reflections=services.settings.review_reflections)
    text, injection = reviewer.guard(condense(read_paper(paper), services.settings.review_budget_tokens).text)
    target = services.folder.reviews_dir(version)
    reviews = []
    for k in range(1, services.settings.reviewers + 1):
        path = target / f"review_{k}.json"
        if path.is_file():
            reviews.append(Review.model_validate_json(path.read_text()))
            continue
        services.progress("review", f"{stage}: review {k}/{services.settings.reviewers}")
        made = reviewer.review_once(text, k)
        reviews.append(mark_injection(made) if injection else made)
        write_atomic(path, reviews[-1].model_dump_json(indent=2) + "\n")
    meta = json.loads(write_meta_review(reviews, injection, services.settings, target).model_dump_json())
    if version == 0:
        update: dict[str, Any] = {"reviews": meta}
    else:
        revisions[-1] = {**revisions[-1], "review": meta}
        update = {"revisions": revisions}
    revise = version < services.settings.revisions and paper.suffix == ".pdf"
    return Command(goto="revise" if revise else "finish", update=update)
