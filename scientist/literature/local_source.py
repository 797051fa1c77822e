"""A local index over BibTeX and JSON files the user points to, searched with BM25 (bm25s); works offline."""

from __future__ import annotations

import json
from pathlib import Path

import bibtexparser
import bm25s

from scientist.errors import UsageError
from scientist.literature.base import LiteratureSource, Paper


def _year(text: str | None) -> int | None:
    digits = "".join(ch for ch in str(text or "") if ch.isdigit())[:4]
    return int(digits) if len(digits) == 4 else None


def load_bibtex(path: Path) -> list[Paper]:
    library = bibtexparser.parse_string(path.read_text(encoding="utf-8", errors="replace"))
    papers = []
    for entry in library.entries:
        fields = {k.lower(): v for k, v in entry.fields_dict.items()}

        def value(name: str, fields: dict = fields) -> str:
            field = fields.get(name)
            return str(field.value).replace("{", "").replace("}", "").strip() if field else ""

        ids = {"local": entry.key}
        if value("doi"):
            ids["doi"] = value("doi")
        if value("eprint"):
            ids["arxiv"] = value("eprint")
        papers.append(Paper(title=value("title"), authors=[a.strip() for a in value("author").split(" and ") if a.strip()],
                            year=_year(value("year")), abstract=value("abstract"), ids=ids,
                            url=value("url") or None, source="local"))
    return papers


def load_json(path: Path) -> list[Paper]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from exc
    items = data if isinstance(data, list) else data.get("papers", [])
    return [Paper.model_validate({"source": "local", **item}) for item in items]


class LocalIndex(LiteratureSource):
    """BM25 over the title and abstract of every paper in the given files."""

    name = "local"

    def __init__(self, paths: list[Path]) -> None:
        self.papers: list[Paper] = []
        for path in paths:
            if not path.is_file():
                raise UsageError(f"local literature file not found: {path}")
            loader = load_bibtex if path.suffix.lower() in (".bib", ".bibtex") else load_json
            self.papers += loader(path)
        self.retriever: bm25s.BM25 | None = None
        if self.papers:
            corpus = [f"{p.title} {p.abstract}" for p in self.papers]
            self.retriever = bm25s.BM25()
            self.retriever.index(bm25s.tokenize(corpus, show_progress=False), show_progress=False)

    def search(self, query: str, limit: int) -> list[Paper]:
        if self.retriever is None:
            return []
        tokens = bm25s.tokenize([query], show_progress=False)
        k = min(limit, len(self.papers))
        docs, scores = self.retriever.retrieve(tokens, k=k, show_progress=False)
        return [self.papers[int(i)] for i, s in zip(docs[0], scores[0], strict=True) if s > 0]
