"""Search several sources at once: on-disk cache, a circuit breaker per source, and a deadline.

A source that fails is skipped for the rest of the run (its breaker opens) and named in every
answer, so the novelty verdict says which sources were consulted and which were unreachable.
Sources are queried in parallel; none can hold the search past its deadline.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from scientist.config import Settings
from scientist.literature.base import LiteratureSource, Paper, SourceUnavailable

log = logging.getLogger(__name__)


class SearchResult(BaseModel):
    """Papers for one query and what each source did."""

    query: str
    papers: list[Paper] = Field(default_factory=list)
    sources_used: list[str] = Field(default_factory=list)
    sources_unreachable: dict[str, str] = Field(default_factory=dict)
    cached: list[str] = Field(default_factory=list)


class LiteratureCache:
    """JSON files keyed by (source, query, limit) under ``cache_dir/literature``."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def _path(self, source: str, query: str, limit: int) -> Path | None:
        if self.root is None:
            return None
        digest = hashlib.sha256(f"{source}\n{query.strip().lower()}\n{limit}".encode()).hexdigest()[:32]
        return self.root / source / f"{digest}.json"

    def get(self, source: str, query: str, limit: int) -> list[Paper] | None:
        path = self._path(source, query, limit)
        if path is None or not path.is_file():
            return None
        try:
            return [Paper.model_validate(p) for p in json.loads(path.read_text())["papers"]]
        except (json.JSONDecodeError, KeyError, ValidationError):
            return None

    def put(self, source: str, query: str, limit: int, papers: list[Paper]) -> None:
        path = self._path(source, query, limit)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"query": query, "papers": [p.model_dump(mode="json") for p in papers]}))
        tmp.replace(path)


class Literature:
    """Every configured source behind one ``search``."""

    def __init__(self, sources: list[LiteratureSource], cache: LiteratureCache, *, deadline_s: float = 9.0,
                 failures_to_open: int = 1) -> None:
        self.sources = sources
        self.cache = cache
        self.deadline_s = deadline_s
        self.failures_to_open = failures_to_open
        self.failures: dict[str, int] = {}
        self.reasons: dict[str, str] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(1, len(sources)), thread_name_prefix="literature")

    def is_open(self, source: LiteratureSource) -> bool:
        return self.failures.get(source.name, 0) >= self.failures_to_open

    def _trip(self, source: LiteratureSource, reason: str) -> None:
        self.failures[source.name] = self.failures.get(source.name, 0) + 1
        self.reasons[source.name] = reason
        log.info("literature source %s failed: %s", source.name, reason)

    def search(self, query: str, limit: int = 8) -> SearchResult:
        """Search every closed-breaker source in parallel; never longer than ``deadline_s``."""
        result = SearchResult(query=query)
        pending = {}
        for source in self.sources:
            if self.is_open(source):
                result.sources_unreachable[source.name] = f"skipped after earlier failure: {self.reasons[source.name]}"
                continue
            cached = self.cache.get(source.name, query, limit)
            if cached is not None:
                result.papers += cached
                result.sources_used.append(source.name)
                result.cached.append(source.name)
                continue
            pending[source.name] = (source, self.pool.submit(source.search, query, limit))
        deadline = time.monotonic() + self.deadline_s
        for name, (source, future) in pending.items():
            try:
                papers = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                self._trip(source, f"no answer within {self.deadline_s:.0f}s")
                result.sources_unreachable[name] = self.reasons[name]
                continue
            except SourceUnavailable as exc:
                self._trip(source, exc.message)
                result.sources_unreachable[name] = exc.message
                continue
            self.cache.put(name, query, limit, papers)
            result.papers += papers
            result.sources_used.append(name)
        result.papers = dedupe(result.papers)
        return result

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def dedupe(papers: list[Paper]) -> list[Paper]:
    """Drop repeats of the same work found by several sources (by arXiv id, DOI or normalised title)."""
    seen: set[str] = set()
    kept = []
    for paper in papers:
        keys = {f"t:{''.join(ch for ch in paper.title.lower() if ch.isalnum())}"}
        keys |= {f"{k}:{v.lower()}" for k, v in paper.ids.items() if k in ("arxiv", "doi")}
        if keys & seen:
            continue
        seen |= keys
        kept.append(paper)
    return kept


def build_literature(settings: Settings, *, extra_files: list[Path] | None = None,
                     only: str | None = None) -> Literature:
    """The configured sources: arXiv and OpenAlex unless offline, plus the local index when given files."""
    from scientist.literature.arxiv_source import ArxivSource
    from scientist.literature.local_source import LocalIndex
    from scientist.literature.openalex_source import OpenAlexSource

    timeout_s = settings.literature_timeout_s
    sources: list[LiteratureSource] = []
    if not settings.offline:
        sources += [ArxivSource(timeout_s=timeout_s, query_url=settings.arxiv_url),
                    OpenAlexSource(timeout_s=timeout_s, url=settings.openalex_url)]
    files = [*settings.literature_files, *(extra_files or [])]
    if files:
        sources.append(LocalIndex(files))
    if only is not None:
        sources = [s for s in sources if s.name == only]
    return Literature(sources, LiteratureCache(settings.cache_dir / "literature"), deadline_s=timeout_s + 1)
