"""arXiv through the ``arxiv`` package, with the request timeout the package lacks by default."""

from __future__ import annotations

import logging
from typing import Any
from xml.etree import ElementTree

import arxiv
import requests

from scientist.literature.base import LiteratureSource, Paper, SourceUnavailable, network_reason

ARXIV_QUERY_URL = "https://export.arxiv.org/api/query?{}"


log = logging.getLogger(__name__)


class MalformedFeed(arxiv.ArxivError):
    """The reply was not a well-formed Atom feed."""

    def __init__(self, url: str, error: object) -> None:
        super().__init__(url, 0, f"malformed feed: {error}")


class StrictSession(requests.Session):
    """A session whose every request has a timeout, and whose 200 replies must be well-formed XML
    (the package's feed parser silently yields nothing for a truncated document)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_s)
        response = super().request(*args, **kwargs)
        if response.status_code == 200:
            try:
                ElementTree.fromstring(response.content)
            except ElementTree.ParseError as exc:
                raise MalformedFeed(response.url, exc) from exc
        return response


class StrictClient(arxiv.Client):
    """The package's client, refusing malformed feeds (it only logs them) instead of yielding no papers."""

    def _parse_feed(self, url: str, first_page: bool = True, _try_index: int = 0) -> Any:
        feed = super()._parse_feed(url, first_page=first_page, _try_index=_try_index)
        if getattr(feed, "malformed", False):
            raise MalformedFeed(url, getattr(feed, "error", "unknown"))
        return feed


class ArxivSource(LiteratureSource):
    """Keyword search on arXiv (3 s politeness delay between requests, bounded retries)."""

    name = "arxiv"

    def __init__(self, *, timeout_s: float = 8.0, retries: int = 1, delay_s: float = 3.0,
                 query_url: str = ARXIV_QUERY_URL) -> None:
        self.client = StrictClient(page_size=25, delay_seconds=delay_s, num_retries=retries)
        self.client._session = StrictSession(timeout_s)  # the package sets no timeout of its own
        self.client.query_url_format = query_url

    def search(self, query: str, limit: int) -> list[Paper]:
        search = arxiv.Search(query=query, max_results=limit)
        try:
            results = list(self.client.results(search))
        except (arxiv.ArxivError, requests.RequestException) as exc:
            log.debug("arXiv request failed: %s", exc)
            raise SourceUnavailable(f"arXiv unreachable: {network_reason(exc)}") from exc
        except (ValueError, KeyError, AttributeError) as exc:  # a feed too broken for the parser
            raise SourceUnavailable(f"arXiv: malformed reply ({type(exc).__name__})") from exc
        return [self._paper(r) for r in results]

    @staticmethod
    def _paper(result: arxiv.Result) -> Paper:
        short = result.get_short_id()
        return Paper(title=" ".join(result.title.split()), authors=[a.name for a in result.authors],
                     year=result.published.year if result.published else None,
                     abstract=" ".join(result.summary.split()), ids={"arxiv": short.split("v")[0]},
                     url=result.entry_id, source="arxiv")
