"""Literature fixtures: recorded responses, and a novelty run against chosen sources."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scientist.failures import FailureLog
from scientist.literature.search import Literature, LiteratureCache
from scientist.llm.gateway import Gateway, load_litellm
from scientist.llm.ledger import Ledger
from scientist.llm.scripted.research import ResearchModel
from scientist.llm.scripted.server import FakeOpenAI
from scientist.runstore import RunStore
from scientist.sandbox.process import ProcessSandbox
from scientist.services import Services
from scientist.template.manifest import load_template
from tests.conftest import fake_settings

FIXTURES = Path(__file__).parent / "fixtures"
ARXIV_URL = re.compile(r"https://export\.arxiv\.org/api/query.*")
OPENALEX_URL = re.compile(r"https://api\.openalex\.org/works.*")
TOY = Path(__file__).parents[1] / "graph" / "toy_template"
IDEA = {"name": "bigger_step", "title": "Study of bigger step", "hypothesis": "A larger step raises the mean.",
        "experiment_plan": "Change STEP."}


def arxiv_body(name: str = "q_testing_s0_m10_bc5a6c384fe9.json") -> str:
    return json.loads((FIXTURES / name).read_text())["body"]


def openalex_body() -> str:
    return (FIXTURES / "openalex_works_search.json").read_text()


@pytest.fixture
def research_model() -> ResearchModel:
    return ResearchModel()


@pytest.fixture
def novelty_services(tmp_path: Path, research_model: ResearchModel):
    """Build Services around the given sources; yields a factory.

    litellm is imported first: its one-time import (3-8 s on a loaded machine) is a cost of the
    process, not of how the node handles a failing source, which is what the node's time limit is about."""
    load_litellm()
    with FakeOpenAI(responder=research_model) as fake:
        def build(sources: list, deadline_s: float = 9.0) -> Services:
            settings = fake_settings(fake, novelty_rounds=2)
            folder = RunStore(tmp_path / "runs").create(str(TOY), None, {}, {})
            literature = Literature(sources, LiteratureCache(tmp_path / "cache"), deadline_s=deadline_s)
            return Services(settings=settings, gateway=Gateway(settings, Ledger(folder.llm_calls_path)),
                            sandbox=ProcessSandbox(allow_unsafe=True), folder=folder,
                            failures=FailureLog(folder.failures_path), template=load_template(TOY),
                            literature=literature)

        yield build
