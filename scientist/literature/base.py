"""The ``Paper`` shape and the ``LiteratureSource`` interface."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from pydantic import BaseModel, Field

from scientist.errors import ScientistError


class SourceUnavailable(ScientistError):
    """A source could not answer: network, timeout, HTTP error or a malformed reply."""

    code = "source_unavailable"


class Paper(BaseModel):
    """One paper, whatever source found it."""

    title: str
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    abstract: str = ""
    ids: dict[str, str] = Field(default_factory=dict, description="arxiv, doi, openalex, local")
    url: str | None = None
    source: str

    @property
    def key(self) -> str:
        """A citation key: first author's surname, year, first title word (ASCII)."""
        surname = (self.authors[0].split()[-1] if self.authors else "anon")
        word = next((w for w in re.findall(r"[A-Za-z]+", self.title) if len(w) > 3), "paper")
        return re.sub(r"[^a-z0-9]", "", f"{surname}{self.year or ''}{word}".lower()) or "paper"

    def bibtex(self, key: str | None = None) -> str:
        """A BibTeX entry from the metadata (braces and backslashes removed from values)."""
        def clean(text: str) -> str:
            return re.sub(r"[{}\\%]", "", text).strip()

        fields = {"title": clean(self.title), "author": " and ".join(clean(a) for a in self.authors) or "Anonymous"}
        if self.year:
            fields["year"] = str(self.year)
        if "arxiv" in self.ids:
            fields["eprint"] = self.ids["arxiv"]
            fields["archivePrefix"] = "arXiv"
        if "doi" in self.ids:
            fields["doi"] = self.ids["doi"]
        if self.url:
            fields["url"] = self.url
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items())
        return f"@misc{{{key or self.key},\n{body}\n}}\n"


class LiteratureSource(ABC):
    """Something that answers a keyword query with papers, or raises ``SourceUnavailable``."""

    name: str = "source"

    @abstractmethod
    def search(self, query: str, limit: int) -> list[Paper]:
        """Papers for ``query``, best first."""


NETWORK_REASONS = (
    (("Name or service not known", "Temporary failure in name resolution", "NameResolutionError",
      "nodename nor servname", "getaddrinfo failed"), "name resolution failed"),
    (("Connection refused",), "connection refused"),
    (("Network is unreachable",), "network unreachable"),
    (("timed out", "Timeout", "ReadTimeout", "ConnectTimeout"), "timed out"),
    (("SSLError", "CERTIFICATE_VERIFY_FAILED", "SSL:"), "TLS handshake failed"),
    (("Connection reset", "RemoteDisconnected", "Connection aborted"), "connection dropped"),
)


def network_reason(exc: BaseException) -> str:
    """A network exception in a few words ('name resolution failed'), for a one-line message; the full
    text goes to the debug log."""
    text = f"{type(exc).__name__}: {exc}"
    for needles, reason in NETWORK_REASONS:
        if any(needle in text for needle in needles):
            return reason
    return type(exc).__name__
