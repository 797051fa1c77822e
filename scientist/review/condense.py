"""Fit a long paper into a small model's reading budget without silent truncation.

Strategy (extractive, no model call, so every ensemble member reads the very same text and the
local server reuses it as a cached prompt prefix):

1. split the paper into sections at its headings;
2. always keep the title, abstract, introduction and conclusion (each capped);
3. from every other section keep its heading, its first paragraph, figure and table captions,
   and sentences that report numbers (results live there), in paper order;
4. drop references and appendices past the main text; and
5. say what was dropped, in the text the reviewer reads.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

HEADING = re.compile(r"^\s*(#+\s*)?((\d+(\.\d+)*\.?)\s+)?([A-Z][A-Za-z0-9 ,:;&()\-/']{2,90})\s*$")
STOP = re.compile(r"^\s*#*\s*(references|bibliography|appendix|appendices|supplementary)", re.IGNORECASE)
ALWAYS = re.compile(r"abstract|introduction|conclusion|discussion|summary", re.IGNORECASE)
CAPTION = re.compile(r"^\s*(figure|fig\.|table)\s*\d+", re.IGNORECASE)
NUMBER = re.compile(r"\d+(\.\d+)?\s*(%|x|×)|\b\d+\.\d+\b")
WORDS_PER_TOKEN = 0.75


class Condensed(BaseModel):
    """What the reviewer reads, and how it was made."""

    text: str
    original_words: int
    kept_words: int
    dropped_sections: list[str]


def _sections(text: str) -> list[tuple[str, list[str]]]:
    sections: list[tuple[str, list[str]]] = [("front", [])]
    for line in text.splitlines():
        stripped = line.strip()
        is_heading = bool(HEADING.match(line)) and (stripped.isupper() or stripped.startswith("#")
                                                   or bool(re.match(r"^\d", stripped)))
        if is_heading and len(stripped.split()) <= 12:
            sections.append((stripped.strip("# "), []))
        else:
            sections[-1][1].append(line)
    return sections


def _paragraphs(lines: list[str]) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines)) if p.strip()]


def _cap(text: str, words: int) -> str:
    tokens = text.split()
    return text if len(tokens) <= words else " ".join(tokens[:words]) + " [...]"


def condense(text: str, budget_tokens: int = 3500) -> Condensed:
    """The paper in at most about ``budget_tokens`` tokens, following the strategy above."""
    budget = int(budget_tokens * WORDS_PER_TOKEN)
    original = len(text.split())
    if original <= budget:
        return Condensed(text=text, original_words=original, kept_words=original, dropped_sections=[])
    pieces: list[tuple[str, str, bool]] = []  # (heading, text, always kept)
    dropped: list[str] = []
    stopped = False
    for heading, lines in _sections(text):
        if STOP.match(heading):
            stopped = True
        if stopped:
            dropped.append(heading)
            continue
        paragraphs = _paragraphs(lines)
        if heading == "front" or ALWAYS.search(heading):
            pieces.append((heading, _cap("\n\n".join(paragraphs), 450 if heading != "front" else 350), True))
            continue
        extra = [p for p in paragraphs[1:] if CAPTION.match(p)]
        numeric = [s for p in paragraphs[1:] if not CAPTION.match(p)
                   for s in re.split(r"(?<=[.!?])\s+", p) if NUMBER.search(s)]
        piece = "\n\n".join([_cap(paragraphs[0], 120)] if paragraphs else []) + \
            "".join(f"\n\n{_cap(c, 60)}" for c in extra) + \
            ("\n\n" + " ".join(_cap(s, 60) for s in numeric[:6]) if numeric else "")
        pieces.append((heading, piece, False))
    used = sum(len(p.split()) for _, p, always in pieces if always)
    keep = [always for _, _, always in pieces]
    for i, (heading, piece, always) in enumerate(pieces):
        if not always:
            size = len(piece.split())
            if used + size <= budget:
                keep[i], used = True, used + size
            else:
                dropped.append(heading)
    kept = [piece if heading == "front" else f"{heading}\n\n{piece}"
            for (heading, piece, _), k in zip(pieces, keep, strict=True) if k]
    note = (f"\n\n[Condensed by scientist for the reviewer's reading budget: {original} words -> {used}. "
            f"Every section keeps its heading, first paragraph, captions and sentences with numbers; "
            f"abstract, introduction and conclusion are kept. Left out: {', '.join(dropped) or 'nothing'}.]")
    return Condensed(text="\n\n".join(kept) + note, original_words=original, kept_words=used,
                     dropped_sections=dropped)
