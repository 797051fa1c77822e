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
from scientist.errors import LLMOutputInvalid
from scientist.nodes.writeup import (
    citations_for,
    claims_context,
    corrected,
    ideas_for_writer,
    publish,
    sections_model,
)
from scientist.prompts import render
from scientist.review.reviewer import MetaReview, distinct, plain_words
from scientist.runstore import write_atomic
from scientist.schemas import PaperSections, PointResponse, Review, RevisionPlan
from scientist.services import Services
from scientist.state import RunState

MAX_QUESTIONS = 4
SAME_TEXT = 0.8  # a response this close to its point (difflib ratio of their words) only repeats it
QUOTED = 20  # a point longer than this (in characters of its words) said whole inside an answer is said back
MIN_KEPT = 0.5  # a rewrite shorter than this share of its section lost what the section said
SECTION_ORDER = [name for name in PaperSections.model_fields if name != "title"]


def reviewer_points(reviews_dir: Path) -> list[str]:
    """What the reviews of one version ask of the authors: the meta-review's weaknesses, then the
    reviewers' questions, each said once. Text only: no score is read."""
    meta_path = reviews_dir / "meta_review.json"
    weaknesses = MetaReview.model_validate_json(meta_path.read_text()).weaknesses if meta_path.is_file() else []
    questions = [q for path in sorted(reviews_dir.glob("review_*.json"))
                 for q in Review.model_validate_json(path.read_text()).questions]
    return distinct([*weaknesses, *distinct(questions)[:MAX_QUESTIONS]])


def repeats(text: str, point: str) -> bool:
    """Whether ``text`` is the reviewer's point said back (the same words, a near copy, or a point of
    some length quoted whole), which answers nothing."""
    mine, theirs = plain_words(text), plain_words(point)
    return bool(theirs) and (theirs in mine and (len(theirs) > QUOTED or len(mine) < 1.3 * len(theirs))
                             or difflib.SequenceMatcher(None, mine, theirs).ratio() >= SAME_TEXT)


def settled(responses: list[PointResponse], points: list[str]) -> list[PointResponse]:
    """One response per point, in point order: a point number out of range or answered twice is
    dropped (the first answer stands), and so is a response that only repeats its point; only a
    "revise" answer names sections."""
    kept: dict[int, PointResponse] = {}
    for response in responses:
        number = response.point
        if 1 <= number <= len(points) and number not in kept and not repeats(response.response, points[number - 1]):
            sections = list(dict.fromkeys(response.sections)) if response.action == "revise" else []
            kept[number] = response.model_copy(update={"sections": sections})
    return [kept[k] for k in sorted(kept)]


def refused_rewrite(before: str, after: str, points: list[str]) -> str | None:
    """Why a section's rewrite is not kept, or None: it lost more than half of the section's text,
    or it carries a reviewer's point into the paper (a revision answers a point; it does not paste it)."""
    if len(after.strip()) < MIN_KEPT * len(before.strip()):
        return f"it kept {len(after.strip())} of the section's {len(before.strip())} characters"
    inside = plain_words(after)
    copied = [p for p in points if len(plain_words(p)) > QUOTED and plain_words(p) in inside]
    if copied:
        return f"it pastes a reviewer's point into the paper (\"{copied[0]}\")"
    return None


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def changes_diff(before: PaperSections, after: PaperSections, names: list[str], where: str) -> str:
    """A unified diff of the rewritten sections, a sentence per line."""
    out: list[str] = []
    for name in names:
        out += difflib.unified_diff(sentences(getattr(before, name)), sentences(getattr(after, name)),
                                    fromfile=f"{name} (before)", tofile=f"{name} ({where})", lineterm="")
    return "\n".join(out) + "\n" if out else "no section changed\n"


def response_markdown(version: int, points: list[str], responses: list[PointResponse], entry: dict[str, Any],
                      claims_clean: bool | None, reviewed: str) -> str:
    answered = {r.point: r for r in responses}
    changed, refused = entry["changed"], entry.get("refused") or {}
    lines = [f"# Response to the reviewers (revision {version})", "",
             f"The reviews in {reviewed}/ raised {len(points)} point(s). The writer read their weaknesses and "
             "questions, not their scores. "
             + (f"This revision rewrote: {', '.join(changed)} (changes.diff)." if changed else
                "No section was rewritten, so there is no revised paper and no second review."), ""]
    lines += [f"The rewrite of {name} was not kept: {why}." for name, why in refused.items()]
    lines += [""] if refused else []
    if claims_clean is not None:
        lines += ["Claims check of the revised sections: " + ("clean." if claims_clean else
                                                              "FLAGGED (claims_check.json)."), ""]
    for k, point in enumerate(points, start=1):
        lines.append(f"{k}. **{point}**")
        response = answered.get(k)
        lines.append(f"   - {response.action}" + (f" ({', '.join(response.sections)})" if response.sections else "")
                     + f": {response.response}" if response else
                     "   - not answered (the model gave no response, or one that only repeated the point)")
    return "\n".join(lines) + "\n"


def revise(state: RunState, runtime: Runtime[Services]) -> Command[Any]:
    """One revision round of the latest reviewed version of the paper. The round is optional: when the
    model's replies never validate, the run ends with the last version and its review, and a note."""
    try:
        return revision_round(state, runtime.context)
    except LLMOutputInvalid as exc:
        version = len(state.get("revisions", [])) + 1
        return Command(goto="finish", update={"notes": [f"revise: round {version} stopped, {exc}; the last "
                                                        "version of the paper and its review stand"]})


def revision_round(state: RunState, services: Services) -> Command[Any]:
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
    responses = settled(plan.responses, points)
    changed = [name for name in SECTION_ORDER if any(name in r.sections for r in responses)]
    where = out.relative_to(services.folder.path).as_posix()
    entry: dict[str, Any] = {"round": version, "changed": changed, "refused": {}, "review": None, "compiled": False,
                             "pdf": None,
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
        refused = {name: why for name in changed
                   if (why := refused_rewrite(getattr(before, name), getattr(rewritten, name), points))}
        changed = [name for name in changed if name not in refused
                   and getattr(rewritten, name).strip() != getattr(before, name).strip()]
        entry.update(changed=changed, refused=refused)
    if changed:
        after = before.model_copy(update={name: getattr(rewritten, name) for name in changed})
        after, claims = corrected(after, messages, context, services, stage="revise")
        claims_clean = claims.clean
        write_atomic(out / "changes.diff", changes_diff(before, after, changed, where))
        paper, notes = publish(state, services, after, claims, citations, out, stage="revise")
        entry.update(paper)
    write_atomic(out / "response.md", response_markdown(version, points, responses, entry, claims_clean,
                                                        reviewed.relative_to(services.folder.path).as_posix()))
    write_atomic(out / "revision.json", json.dumps({**entry, "points": points,
                                                    "responses": [r.model_dump() for r in responses],
                                                    "replied": [r.model_dump() for r in plan.responses]}, indent=2))
    revisions.append(entry)
    return Command(goto="review" if entry["compiled"] else "finish", update={"revisions": revisions, "notes": notes})
