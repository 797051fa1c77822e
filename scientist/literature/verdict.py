"""The novelty verdict: what the check concluded, from which sources, and the papers it found."""

from __future__ import annotations

from pydantic import BaseModel, Field

from scientist.literature.base import Paper


class ClosestPaper(BaseModel):
    title: str
    year: int | None
    url: str | None
    difference: str


class NoveltyVerdict(BaseModel):
    """What the novelty check concluded, and how."""

    idea: str
    verdict: str = Field(description="novel, not_novel or unchecked")
    closest_papers: list[ClosestPaper] = Field(default_factory=list)
    queries: list[str] = Field(default_factory=list)
    sources_used: list[str] = Field(default_factory=list)
    sources_unreachable: dict[str, str] = Field(default_factory=dict)
    reasoning: str = ""
    injection_attempts: int = 0
    papers: list[Paper] = Field(default_factory=list)
