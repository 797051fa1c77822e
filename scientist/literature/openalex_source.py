"""OpenAlex works search over HTTP."""

from __future__ import annotations

import logging

import requests

from scientist.literature.base import LiteratureSource, Paper, SourceUnavailable, network_reason

OPENALEX_WORKS = "https://api.openalex.org/works"
SELECT = "id,doi,display_name,publication_year,authorships,abstract_inverted_index,primary_location,ids"


def abstract_from_index(index: dict[str, list[int]] | None) -> str:
    """OpenAlex ships abstracts as word -> positions; put the words back in order."""
    if not index:
        return ""
    positions = sorted((pos, word) for word, places in index.items() for pos in places)
    return " ".join(word for _, word in positions)


log = logging.getLogger(__name__)


class OpenAlexSource(LiteratureSource):
    """Keyword search on OpenAlex works."""

    name = "openalex"

    def __init__(self, *, timeout_s: float = 8.0, url: str = OPENALEX_WORKS, mailto: str | None = None) -> None:
        self.timeout_s = timeout_s
        self.url = url
        self.mailto = mailto
        self.session = requests.Session()

    def search(self, query: str, limit: int) -> list[Paper]:
        params = {"search": query, "per-page": str(limit), "select": SELECT}
        if self.mailto:
            params["mailto"] = self.mailto
        try:
            response = self.session.get(self.url, params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            log.debug("OpenAlex request failed: %s", exc)
            raise SourceUnavailable(f"OpenAlex unreachable: {network_reason(exc)}") from exc
        if response.status_code != 200:
            raise SourceUnavailable(f"OpenAlex: HTTP {response.status_code}")
        try:
            results = response.json()["results"]
            return [self._paper(item) for item in results[:limit]]
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceUnavailable(f"OpenAlex: malformed reply ({type(exc).__name__}: {exc})") from exc

    @staticmethod
    def _paper(item: dict) -> Paper:
        ids = {"openalex": item["id"].rsplit("/", 1)[-1]}
        if item.get("doi"):
            ids["doi"] = item["doi"].removeprefix("https://doi.org/")
        authors = [a["author"]["display_name"] for a in item.get("authorships") or [] if a.get("author")]
        location = item.get("primary_location") or {}
        return Paper(title=item.get("display_name") or "", authors=authors, year=item.get("publication_year"),
                     abstract=abstract_from_index(item.get("abstract_inverted_index")), ids=ids,
                     url=location.get("landing_page_url") or item["id"], source="openalex")
