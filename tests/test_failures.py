"""Each failure category, produced for real (real sandbox, real code, scripted model) and classified."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scientist.errors import SandboxUnavailable
from scientist.failures import Category, FailureLog, summarise, wilson
from scientist.llm.gateway import Gateway
from scientist.llm.ledger import Ledger
from scientist.nodes.experiments import IdeaExperiments
from scientist.runstore import RunStore
from scientist.sandbox.probe import bwrap_status
from scientist.services import Services
from scientist.template.manifest import load_template
from tests.conftest import fake_settings
from tests.fakes.openai_server import FakeOpenAI, Step
from tests.fakes.research_model import ResearchModel, idea

TOY = Path(__file__).parent / "graph" / "toy_template"
pytestmark = pytest.mark.skipif(not bwrap_status().ok, reason="bwrap sandbox unavailable")
BASE_LINE = "STEP = 0.5  # the value the scripted model edits"


def edit_reply(replace: str, search: str = BASE_LINE, search_end: str | None = None) -> dict:
    return {"reasoning": "r", "edits": [{"file": "experiment.py", "search": search, "search_end": search_end,
                                         "replace": replace}]}


class Harness:
    def __init__(self, tmp_path: Path, model: ResearchModel, fake: FakeOpenAI, sandbox=None) -> None:
        from scientist.sandbox.bwrap import BwrapSandbox

        settings = fake_settings(fake, max_repairs=1, max_reasks=0)
        folder = RunStore(tmp_path / "runs").create(str(TOY), None, {}, {})
        self.services = Services(settings=settings, gateway=Gateway(settings, Ledger(folder.llm_calls_path)),
                                 sandbox=sandbox or BwrapSandbox(), folder=folder,
                                 failures=FailureLog(folder.failures_path), template=load_template(TOY),
                                 literature=None)  # type: ignore[arg-type]
        self.model = model

    def run(self, replies: list, change: str = "set STEP to 1.0"):
        queue = list(replies)
        self.model.overrides["CodeEdit"] = lambda body: queue.pop(0) if len(queue) > 1 else queue[0]
        task = {"idea": idea("bigger_step"), "plan": {"runs": [{"name": "a", "change": change}]}, "first_run": 1}
        experiments = IdeaExperiments(self.services, task)  # type: ignore[arg-type]
        experiments.prepare()
        experiments.baseline()
        outcome = experiments.planned_run(1, change)
        rows = [a for a in self.services.failures.attempts() if a.stage == "run_1"]
        return outcome, rows


@pytest.fixture
def harness(tmp_path):
    model = ResearchModel()
    with FakeOpenAI(responder=model) as fake:
        yield lambda **kw: Harness(tmp_path, model, fake, **kw)


CODE_FAULTS = {
    Category.SYNTAX_ERROR: "STEP = (1.0",
    Category.IMPORT_ERROR: "import not_a_module_anywhere\nSTEP = 1.0",
    Category.RUNTIME_ERROR: "STEP = 1.0 / 0",
    Category.TIMEOUT: "import time\ntime.sleep(120)\nSTEP = 1.0",
    Category.OUT_OF_MEMORY: "blocks = [bytearray(64 * 2**20) for _ in range(64)]\nSTEP = 1.0",
    Category.NONZERO_EXIT: "import os\nos._exit(3)",
    Category.MISSING_RESULTS: "import sys\nsys.exit(0)",
    Category.INVALID_RESULTS: "STEP = float('nan')",
}


@pytest.mark.parametrize("category", list(CODE_FAULTS), ids=lambda c: c.value)
def test_code_failures_are_classified_from_the_real_run(category, harness, monkeypatch):
    h = harness()
    if category is Category.TIMEOUT:
        h.services.template.manifest.limits.timeout_s = 2
    if category is Category.OUT_OF_MEMORY:
        h.services.template.manifest.limits.memory_mb = 256
    outcome, rows = h.run([edit_reply(CODE_FAULTS[category])])
    assert not outcome.ok
    assert rows[0].category is category, rows


def test_an_edit_that_cannot_apply_is_logged(harness):
    outcome, rows = harness().run([edit_reply("x = 1", search=BASE_LINE, search_end="import argparse")])
    assert rows[0].category is Category.EDIT_NOT_APPLIED and "does not come after" in rows[0].message


def test_an_edit_that_changes_nothing_is_logged(harness):
    outcome, rows = harness().run([edit_reply(BASE_LINE)])
    assert rows[0].category is Category.NO_EFFECTIVE_CHANGE


def test_invalid_model_output_is_logged(harness):
    outcome, rows = harness().run([Step("{not json"), Step("{not json")])
    assert rows[0].category is Category.LLM_OUTPUT_INVALID


def test_sandbox_infrastructure_failure_is_not_the_codes_fault(harness):
    class BrokenSandbox:
        name = "broken"

        def run(self, command, workdir, limits):
            if "run_0" in command:
                from scientist.sandbox.bwrap import BwrapSandbox

                return BwrapSandbox().run(command, workdir, limits)
            raise SandboxUnavailable("docker engine went away")

    outcome, rows = harness(sandbox=BrokenSandbox()).run([edit_reply("STEP = 1.0")])
    assert rows[0].category is Category.SANDBOX_ERROR


def test_repair_loop_broken_then_fixed(harness):
    h = harness()
    outcome, rows = h.run([edit_reply("STEP = 1.0 / 0"), edit_reply("STEP = 1.0", search="STEP = 1.0 / 0")])
    assert outcome.ok and outcome.attempts == 2
    assert [(r.attempt, r.category) for r in rows] == [(1, Category.RUNTIME_ERROR), (2, None)]
    assert rows[0].repaired, "the failed first attempt is marked repaired"
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5)
    repair_prompt = json.dumps(h.model.calls)
    assert "CodeEdit" in repair_prompt
    run_dir = h.services.folder.path / "experiments" / "bigger_step" / "run_1"
    assert (run_dir / "experiment.py").read_text().count("STEP = 1.0") == 1
    summary = summarise(h.services.failures.attempts())
    assert summary.after_repair.failures == 0 and summary.first_attempt.failures == 1


def test_wilson_interval():
    rate = wilson(42, 100)
    assert rate.rate == 0.42 and 0.32 < rate.low < 0.33 and 0.51 < rate.high < 0.53
    assert wilson(0, 0).rate is None


def test_failure_log_schema_is_versioned_and_migrates(tmp_path):
    log = FailureLog(tmp_path / "failures.sqlite")
    assert log.schema_version == 1
    log.close()
    again = FailureLog(tmp_path / "failures.sqlite")
    assert again.schema_version == 1 and again.attempts() == []
    shutil.rmtree(tmp_path / "runs", ignore_errors=True)


def test_an_edit_that_leaves_the_results_unchanged_is_not_a_success(harness):
    outcome, rows = harness().run([edit_reply(BASE_LINE + "\nlabel_smoothing = 0.1  # never used")])
    assert not outcome.ok
    assert rows[0].category is Category.NO_EFFECTIVE_CHANGE and "identical to the baseline" in rows[0].message
