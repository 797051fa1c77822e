"""The real clients and parsers on recorded responses (served by ``responses``), the local index and the cache."""

from __future__ import annotations

import json

import pytest
import responses

from scientist.literature.arxiv_source import ArxivSource
from scientist.literature.base import Paper, SourceUnavailable
from scientist.literature.local_source import LocalIndex
from scientist.literature.openalex_source import OpenAlexSource, abstract_from_index
from scientist.literature.search import Literature, LiteratureCache
from tests.literature.conftest import ARXIV_URL, OPENALEX_URL, arxiv_body, openalex_body


@responses.activate
def test_arxiv_recorded_search_is_parsed():
    responses.add(responses.GET, ARXIV_URL, body=arxiv_body(), status=200)
    papers = ArxivSource(delay_s=0).search("testing", 10)
    assert len(papers) == 10
    first = papers[0]
    assert first.source == "arxiv" and first.title and first.authors and first.year and "arxiv" in first.ids
    assert first.abstract and "\n" not in first.abstract
    assert "timeout" in responses.calls[0].request.req_kwargs


@responses.activate
def test_arxiv_empty_result():
    responses.add(responses.GET, ARXIV_URL, body=arxiv_body("id_0000.0000_s0_m100_8b51d9633a68.json"))
    assert ArxivSource(delay_s=0).search("nothing", 10) == []


@responses.activate
def test_openalex_documented_response_is_parsed():
    responses.add(responses.GET, OPENALEX_URL, body=openalex_body(), status=200)
    papers = OpenAlexSource().search("open access", 8)
    assert [p.year for p in papers] == [2018, 2021]
    assert papers[0].ids == {"openalex": "W2741809807", "doi": "10.7717/peerj.4375"}
    assert papers[0].authors == ["Heather Piwowar", "Jason Priem"]
    assert papers[0].abstract.startswith("Despite growing interest in Open Access")
    assert papers[1].abstract == "" and papers[1].url.endswith("W2100837269")
    sent = responses.calls[0].request.url
    assert "search=open+access" in sent and "per-page=8" in sent


def test_abstract_from_inverted_index_orders_words():
    assert abstract_from_index({"world": [1], "hello": [0], "again": [3], "hello ": [2]}) == "hello world hello  again"


def test_local_index_bibtex_and_json(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{smith2020label, title={Label Smoothing for Tiny Networks}, author={Smith, Jo and Roe, Al},"
                   " year={2020}, abstract={We smooth labels in small MLPs.}}\n"
                   "@misc{doe2019, title={Graph kernels}, author={Doe, Jane}, year={2019}}\n")
    extra = tmp_path / "more.json"
    extra.write_text(json.dumps([{"title": "Optimizers on Rosenbrock", "year": 2018, "authors": ["A. B"]}]))
    index = LocalIndex([bib, extra])
    hits = index.search("label smoothing small MLP", 5)
    assert hits[0].title == "Label Smoothing for Tiny Networks" and hits[0].year == 2020
    assert hits[0].authors == ["Smith, Jo", "Roe, Al"] and hits[0].ids["local"] == "smith2020label"
    assert index.search("rosenbrock optimizers", 5)[0].year == 2018
    assert index.search("zzzz unrelated", 5) == []


def test_bibtex_from_metadata_is_clean():
    paper = Paper(title="A {Weird} Title with % and \\cmd", authors=["Jo Smith"], year=2020,
                  ids={"arxiv": "2001.00001"}, source="arxiv")
    entry = paper.bibtex()
    assert entry.startswith("@misc{smith2020weird,") and "%" not in entry and "\\cmd" not in entry
    assert "eprint = {2001.00001}" in entry


@responses.activate
def test_results_are_cached_on_disk(tmp_path):
    responses.add(responses.GET, OPENALEX_URL, body=openalex_body(), status=200)
    literature = Literature([OpenAlexSource()], LiteratureCache(tmp_path))
    first = literature.search("open access")
    again = Literature([OpenAlexSource()], LiteratureCache(tmp_path)).search("Open Access ")
    assert len(responses.calls) == 1
    assert again.cached == ["openalex"] and [p.title for p in again.papers] == [p.title for p in first.papers]


@responses.activate
def test_a_failing_source_trips_its_breaker(tmp_path):
    responses.add(responses.GET, OPENALEX_URL, status=503)
    literature = Literature([OpenAlexSource()], LiteratureCache(None))
    assert "HTTP 503" in literature.search("a").sources_unreachable["openalex"]
    assert "skipped after earlier failure" in literature.search("b").sources_unreachable["openalex"]
    assert len(responses.calls) == 1


@responses.activate
def test_malformed_replies_are_source_errors():
    responses.add(responses.GET, OPENALEX_URL, body="{not json", status=200)
    with pytest.raises(SourceUnavailable, match="malformed"):
        OpenAlexSource().search("x", 3)
