"""A scripted model: an OpenAI-compatible HTTP server on 127.0.0.1 that answers from a script, so the
real gateway, graph and loop run without a real model (tests, benchmarks of the orchestration, demos
of a failure). In the spirit of pydantic-ai's ``TestModel``; never used when a real model is configured."""

from scientist.llm.scripted.research import ResearchModel
from scientist.llm.scripted.server import FakeOpenAI, Step

__all__ = ["FakeOpenAI", "ResearchModel", "Step"]
