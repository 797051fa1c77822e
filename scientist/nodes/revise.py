"""Revise: the paper rewritten in answer to its reviews, a stage of its own, recorded.

The drafting stage (``writeup``) never sees the reviewer. This stage reads the reviews' text (the
meta-review's weaknesses and the reviewers' questions), never their scores or the reviewer's
prompt. The model first answers each point (revise the text, needs new experiments, or disagree),
then rewrites only the sections its "revise" answers name; the rewrite goes through the same claims
check as the draft, so a revision cannot buy a reviewer's approval with numbers no run produced.
Round k writes ``revisions/<k>/``: ``response.md`` (point by point), ``changes.diff`` (the sections
before and after), ``sections.json``, ``claims_check.json`` and the compiled paper, which the
review node then reviews into ``revisions/<k>/reviews/``.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command

from scientist.analysis.ledger import ledger_text
from scientist.nodes.writeup import (
    citations_for,
    claims_context,
    corrected,
    ideas_for_writer,
    publish,
    sections_model,
)
from scientist.prompts import render
from scientist.review.reviewer import MetaReview, distinct
from scientist.runstore import write_atomic
from scientist.schemas import PaperSections, PointResponse, Review, RevisionPlan
from scientist.services import Services
from scientist.state import RunState

MAX_QUESTIONS = 4
SECTION_ORDER = [name for name in PaperSections.model_fields if name != "title"]


def reviewer_points(reviews_dir: Path) -> list[str]:
    """What the reviews of one version ask of the authors: the meta-review's weaknesses, then the
    reviewers' questions, each said once. Text only: no score is read."""
    meta_path = reviews_dir / "meta_review.json"
    weaknesses = MetaReview.model_validate_json(meta_path.read_text()).weaknesses if meta_path.is_file() else []
    questions = [q for path in sorted(reviews_dir.glob("review_*.json"))
                 for q in Review.model_validate_json(path.read_text()).questions]
    return distinct([*weaknesses, *distinct(questions)[:MAX_QUESTIONS]])


def settled(responses: list[PointResponse], points: int) -> list[PointResponse]:
    """One response per point, in point order: a point number out of range or answered twice is
    dropped (the first answer stands); only a "revise" answer names sections."""
    kept: dict[int, PointResponse] = {}
    for response in responses:
        if 1 <= response.point <= points and response.point not in kept:
            sections = list(dict.fromkeys(response.sections)) if response.action == "revise" else []
            kept[response.point] = response.model_copy(update={"sections": sections})
    return [kept[k] for k in sorted(kept)]


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def changes_diff(before: PaperSections, after: PaperSections, names: list[str], where: str) -> str:
    """A unified diff of the rewritten sections, a sentence per line."""
    out: list[str] = []
    for name in names:
        out += difflib.unified_diff(sentences(getattr(before, name)), sentences(getattr(after, name)),
                                    fromfile=f"{name} (before)", tofile=f"{name} ({where})", lineterm="")
    return "\n".join(out) + "\n" if out else "no section changed\n"


def response_markdown(version: int, points: list[str], responses: list[PointResponse], changed: list[str],
                      claims_clean: bool | None, reviewed: str) -> str:
    answered = {r.point: r for r in responses}
    lines = [f"# Response to the reviewers (revision {version})", "",
             f"The reviews in {reviewed} raised {len(points)} point(s). The writer read their weaknesses and "
             "questions, not their scores. "
             + (f"This revision rewrote: {', '.join(changed)} (changes.diff)." if changed else
                "No section was rewritten, so there is no revised paper and no second review."), ""]
    if claims_clean is not None:
        lines += ["Claims check of the revised sections: " + ("clean." if claims_clean else
                                                              "FLAGGED (claims_check.json)."), ""]
    for k, point in enumerate(points, start=1):
        lines.append(f"{k}. **{point}**")
        response = answered.get(k)
        lines.append(f"   - {response.action}" + (f" ({', '.join(response.sections)})" if response.sections else "")
                     + f": {response.response}" if response else "   - not answered by the model")
    return "\n".join(lines) + "\n"


def revise(state: RunState, runtime: Runtime[Services]) -> Command[Any]:
    """One revision round of the latest reviewed version of the paper."""
    services = runtime.context
    revisions = list(state.get("revisions", []))
    version = len(revisions) + 1
    previous, out = services.folder.paper_dir(version - 1), services.folder.paper_dir(version)
    reviewed = services.folder.reviews_dir(version - 1)
    points = reviewer_points(reviewed)
    if not points or not (previous / "sections.json").is_file():
        return Command(goto="finish", update={"notes": [f"revise: nothing to revise in round {version} (no "
                                                        "reviewer point, or no sections of the previous version)"]})
    services.progress("revise", f"revision {version}: answering {len(points)} reviewer point(s)")
    before = PaperSections.model_validate_json((previous / "sections.json").read_text())
    citations = citations_for(services)
    context = claims_context(state, services, citations)
    user = render("revise", "plan", task_description=services.template.prompt.task_description,
                  ideas=ideas_for_writer(state), ledger=ledger_text(context.analyses), citations=citations,
                  sections={name: getattr(before, name) for name in ["title", *SECTION_ORDER]}, points=points)
    messages = [{"role": "system", "content": render("writeup", "system")}, {"role": "user", "content": user}]
    plan = services.gateway.structured(messages, RevisionPlan, role="writing", stage="revise", max_tokens=1500)
    responses = settled(plan.responses, len(points))
    changed = [name for name in SECTION_ORDER if any(name in r.sections for r in responses)]
    where = out.relative_to(services.folder.path).as_posix()
    entry: dict[str, Any] = {"round": version, "changed": changed, "review": None, "compiled": False, "pdf": None,
                             "actions": {a: sum(r.action == a for r in responses)
                                         for a in ("revise", "needs_experiments", "disagree")},
                             "response": f"{where}/response.md"}
    notes: list[str] = []
    claims_clean = None
    if changed:
        services.progress("revise", f"revision {version}: rewriting {', '.join(changed)}")
        wanted = [r for r in responses if r.action == "revise"]
        limits = [points[r.point - 1] for r in responses if r.action == "needs_experiments"]
        ask = render("revise", "sections", names=changed, responses=wanted, points=points,
                     limits=limits if "discussion" in changed else [])
        messages = [*messages, {"role": "assistant", "content": plan.model_dump_json()},
                    {"role": "user", "content": ask}]
        rewritten = services.gateway.structured(messages, sections_model(changed), role="writing",
                                                stage="revise/sections", max_tokens=700 * len(changed) + 200)
        after = before.model_copy(update={name: getattr(rewritten, name) for name in changed})
        after, claims = corrected(after, messages, context, services, stage="revise")
        claims_clean = claims.clean
        write_atomic(out / "changes.diff", changes_diff(before, after, changed, where))
        paper, notes = publish(state, services, after, claims, citations, out, stage="revise")
        entry.update(paper)
    write_atomic(out / "response.md", response_markdown(version, points, responses, changed, claims_clean,
                                                        reviewed.relative_to(services.folder.path).as_posix()))
    write_atomic(out / "revision.json", json.dumps({**entry, "points": points,
                                                    "responses": [r.model_dump() for r in responses]}, indent=2))
    revisions.append(entry)
    return Command(goto="review" if entry["compiled"] else "finish", update={"revisions": revisions, "notes": notes})
