"""Run scientist's reviewer on real papers with known decisions, resumably, and score it."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from scientist.llm.gateway import Gateway
from scientist.prompts import render
from scientist.review.anonymise import anonymise
from scientist.review.condense import condense
from scientist.review.reviewer import SCORING, Reviewer, meta_review, review_form
from scientist.runstore import write_atomic
from scientist.schemas import Review


class BenchItem(BaseModel):
    """One reviewed paper of the calibration run."""

    paper_id: str
    accepted: bool
    overall: float
    reviews: list[Review]
    seconds: float
    anonymisation: list[str]
    cached: bool = False


def balanced(decisions: dict[str, bool], available: set[str], limit: int | None) -> list[str]:
    """Paper ids alternating accepted and rejected (sorted, so the choice is reproducible)."""
    accepted = sorted(i for i in available if decisions.get(i) is True)
    rejected = sorted(i for i in available if decisions.get(i) is False)
    order = [x for pair in zip(accepted, rejected, strict=False) for x in pair]
    order += accepted[len(rejected):] + rejected[len(accepted):]
    return order[:limit] if limit else order


def prompt_version(ensemble: int, reflections: int, budget_tokens: int) -> str:
    """Changes when the reviewer's instructions change, so stale cached reviews are not reused."""
    blob = render("review", "system", form=review_form()) + render("review", "reflect", draft="")
    blob += render("review", "review", paper="", persona="") + SCORING
    blob += f"|{ensemble}|{reflections}|{budget_tokens}|{json.dumps(Review.model_json_schema(), sort_keys=True)}"
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def cache_dir_for(root: Path, model: str, version: str) -> Path:
    return root / "review-bench" / re.sub(r"[^A-Za-z0-9_.-]", "_", model) / version


def review_papers(papers: Path, decisions: dict[str, bool], *, gateway: Gateway, model: str, cache_root: Path,
                  limit: int | None, ensemble: int, reflections: int, budget_tokens: int,
                  progress: Callable[[str], None] = lambda message: None) -> list[BenchItem]:
    """Review each chosen paper (cached by model and prompt version) and return the items."""
    available = {p.stem for p in papers.glob("*.txt")}
    chosen = balanced(decisions, available, limit)
    cache = cache_dir_for(cache_root, model, prompt_version(ensemble, reflections, budget_tokens))
    reviewer = Reviewer(gateway, reflections=reflections, stage="review-bench")
    items = []
    for n, paper_id in enumerate(chosen, start=1):
        cached = cache / f"{paper_id}.json"
        if cached.is_file():
            item = BenchItem.model_validate_json(cached.read_text())
            item.cached = True
            items.append(item)
            continue
        progress(f"[{n}/{len(chosen)}] reviewing {paper_id}")
        started = time.perf_counter()
        text, changes = anonymise((papers / f"{paper_id}.txt").read_text(encoding="utf-8", errors="replace"))
        guarded, _ = reviewer.guard(condense(text, budget_tokens).text)
        reviews = [reviewer.review_once(guarded, k) for k in range(1, ensemble + 1)]
        item = BenchItem(paper_id=paper_id, accepted=decisions[paper_id],
                         overall=meta_review(reviews).scores["overall"], reviews=reviews,
                         seconds=time.perf_counter() - started, anonymisation=changes)
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cached, item.model_dump_json(indent=1))
        items.append(item)
    return items


def summary_note(items: list[BenchItem]) -> list[str]:
    fresh = [i.seconds for i in items if not i.cached]
    notes = ["papers were anonymised before review (front matter, e-mails, URLs, acknowledgements)",
             "long papers were condensed extractively to the reviewer's reading budget (see scientist/review/condense.py)"]
    if fresh:
        notes.append(f"wall time per paper: median {sorted(fresh)[len(fresh) // 2]:.0f}s over {len(fresh)} fresh reviews")
    cached = sum(i.cached for i in items)
    if cached:
        notes.append(f"{cached} paper(s) came from the cache of earlier runs")
    return notes
