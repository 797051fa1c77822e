"""Novelty: rounds of query -> search -> read abstracts -> decide, against arXiv, OpenAlex and a local index.

Never hangs: sources have timeouts, a deadline and circuit breakers. With no source reachable the
verdict is 'unchecked' and names the unreachable sources. Papers found are kept for citations.
"""

from __future__ import annotations

import json
from typing import Any

from langgraph.runtime import Runtime

from scientist.literature.base import Paper
from scientist.literature.guard import neutralise
from scientist.literature.search import Literature
from scientist.literature.verdict import ClosestPaper, NoveltyVerdict
from scientist.prompts import render
from scientist.runstore import write_atomic
from scientist.schemas import NoveltyDecision, NoveltyQueries
from scientist.services import Services
from scientist.state import RunState

ABSTRACT_CHARS = 700
MAX_PAPERS_SHOWN = 12


def _quoted(papers: list[Paper]) -> tuple[list[dict[str, Any]], int]:
    shown, attempts = [], 0
    for paper in papers[:MAX_PAPERS_SHOWN]:
        abstract, hit1 = neutralise(paper.abstract[:ABSTRACT_CHARS])
        title, hit2 = neutralise(paper.title)
        attempts += hit1 or hit2
        shown.append({"title": title, "year": paper.year, "abstract": abstract})
    return shown, attempts


def check_idea(idea: dict[str, Any], literature: Literature, services: Services) -> NoveltyVerdict:
    verdict = NoveltyVerdict(idea=idea["name"], verdict="unchecked")
    system = {"role": "system", "content": render("novelty", "system")}
    about = {"title": idea["title"], "hypothesis": idea["hypothesis"], "plan": idea["experiment_plan"]}
    papers: list[Paper] = []
    if not literature.sources:
        verdict.reasoning = "no literature source configured (offline, and no local files given)"
        return verdict
    for round_no in range(1, services.settings.novelty_rounds + 1):
        services.progress("novelty", f"'{idea['name']}': searching (round {round_no})")
        asked = services.gateway.structured(
            [system, {"role": "user", "content": render("novelty", "queries", previous=verdict.queries,
                                                         max_queries=3, **about)}],
            NoveltyQueries, role="ideation", stage="novelty", max_tokens=200)
        for query in asked.queries[:3]:
            found = literature.search(query)
            verdict.queries.append(query)
            verdict.sources_used = sorted(set(verdict.sources_used) | set(found.sources_used))
            verdict.sources_unreachable.update(found.sources_unreachable)
            papers += [p for p in found.papers if p.title not in {q.title for q in papers}]
        if not verdict.sources_used:
            verdict.reasoning = "no literature source could be reached"
            break
        shown, attempts = _quoted(papers)
        verdict.injection_attempts = attempts
        decision = services.gateway.structured(
            [system, {"role": "user", "content": render("novelty", "decide", papers=shown, **about)}],
            NoveltyDecision, role="ideation", stage="novelty", max_tokens=700)
        verdict.reasoning = decision.reasoning
        verdict.closest_papers = [ClosestPaper(title=papers[c.index].title, year=papers[c.index].year,
                                               url=papers[c.index].url, difference=c.difference)
                                  for c in decision.closest if c.index < min(len(papers), MAX_PAPERS_SHOWN)]
        if decision.decision != "undecided":
            verdict.verdict = decision.decision
            break
    verdict.papers = papers
    return verdict


def novelty(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """A verdict per idea in ``ideas/novelty/<idea>.json``; the papers found are kept for citations."""
    services = runtime.context
    literature = services.literature
    verdicts, notes = {}, []
    for idea in state.get("ideas", []):
        path = services.folder.path / "ideas" / "novelty" / f"{idea['name']}.json"
        if path.is_file():
            verdict = NoveltyVerdict.model_validate_json(path.read_text())
        else:
            verdict = check_idea(idea, literature, services)
            write_atomic(path, verdict.model_dump_json(indent=2) + "\n")
        if verdict.verdict == "unchecked":
            notes.append(f"novelty: '{idea['name']}' unchecked ({verdict.reasoning or 'undecided'}; unreachable: "
                         f"{', '.join(verdict.sources_unreachable) or 'none'})")
        if verdict.injection_attempts:
            notes.append(f"novelty: {verdict.injection_attempts} abstract(s) for '{idea['name']}' held "
                         "instruction-like text; it was removed before the model read them")
        summary = json.loads(verdict.model_dump_json(exclude={"papers"}))
        summary["papers_found"] = len(verdict.papers)
        verdicts[idea["name"]] = summary
    return {"novelty": verdicts, "notes": notes}
