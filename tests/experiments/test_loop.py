"""Each failure category, produced for real (real sandbox, real code, scripted model) and classified."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from scientist.errors import SandboxUnavailable
from scientist.experiments.loop import IdeaExperiments
from scientist.failures import Category, FailureLog, summarise, wilson
from scientist.llm.gateway import Gateway
from scientist.llm.ledger import Ledger
from scientist.llm.scripted.research import ResearchModel, idea
from scientist.llm.scripted.server import FakeOpenAI, Step
from scientist.runstore import RunStore
from scientist.services import Services
from scientist.template.manifest import load_template
from tests.conftest import fake_settings

TOY = Path(__file__).parents[1] / "graph" / "toy_template"
pytestmark = pytest.mark.needs_bwrap
BASE_LINE = "STEP = 0.5  # the value the scripted model edits"


def user_prompts(h, with_schema: bool = False) -> list:
    """The user message of each request the scripted model gets, from now on (with its schema name)."""
    prompts: list = []
    h.model.on_request = lambda schema, body: prompts.append(
        (schema, body["messages"][1]["content"]) if with_schema else body["messages"][1]["content"])
    return prompts


def edit_reply(replace: str, search: str = BASE_LINE, search_end: str | None = None) -> dict:
    return {"reasoning": "r", "edits": [{"file": "experiment.py", "search": search, "search_end": search_end,
                                         "replace": replace}]}


def constants(code: str) -> Step:
    """The scripted model's new text of the toy's ``constants`` part (the part chosen by default)."""
    return Step(f"Here it is:\n```python\n{code}\n```\n")


def toy_with(template: Path, code: str) -> Path:
    """A copy of the toy template at ``template`` whose experiment.py is ``code``."""
    shutil.copytree(TOY, template)
    (template / "experiment.py").write_text(code)
    return template


class Harness:
    def __init__(self, tmp_path: Path, model: ResearchModel, fake: FakeOpenAI, sandbox=None,
                 edit_format: str = "rewrite", max_repairs: int = 1, fidelity_check: bool = False,
                 template: Path = TOY, candidates: int = 1, fidelity_signals: bool = False,
                 fidelity_search: bool = True, line_choice: bool = False, method_sketch: bool = False,
                 consensus: int = 1) -> None:
        from scientist.sandbox.bwrap import BwrapSandbox

        self.fake = fake
        settings = fake_settings(fake, max_repairs=max_repairs, max_reasks=0, edit_format=edit_format,
                                 fidelity_check=fidelity_check, candidates=candidates,
                                 fidelity_signals=fidelity_signals, fidelity_search=fidelity_search,
                                 line_choice=line_choice, method_sketch=method_sketch, consensus=consensus)
        folder = RunStore(tmp_path / "runs").create(str(template), None, {}, {})
        self.services = Services(settings=settings, gateway=Gateway(settings, Ledger(folder.llm_calls_path)),
                                 sandbox=sandbox or BwrapSandbox(), folder=folder,
                                 failures=FailureLog(folder.failures_path), template=load_template(template),
                                 literature=None)  # type: ignore[arg-type]
        self.model = model

    def run(self, replies: list, change: str = "set STEP to 1.0"):
        queue = list(replies)
        schema = "text" if self.services.settings.edit_format == "rewrite" else "CodeEdit"
        self.model.overrides[schema] = lambda body: queue.pop(0) if len(queue) > 1 else queue[0]
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
    Category.IMPORT_ERROR: "import not_a_module_anywhere\nSTEP = 1.0\nHELPER = not_a_module_anywhere",
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
    outcome, rows = h.run([constants(CODE_FAULTS[category])])
    assert not outcome.ok
    assert rows[0].category is category, rows


def test_a_fault_in_search_replace_format_is_classified_the_same(harness):
    outcome, rows = harness(edit_format="search_replace").run([edit_reply("STEP = 1.0 / 0")])
    assert rows[0].category is Category.RUNTIME_ERROR


def test_an_edit_that_cannot_apply_is_logged(harness):
    outcome, rows = harness(edit_format="search_replace").run(
        [edit_reply("x = 1", search=BASE_LINE, search_end="import argparse")])
    assert rows[0].category is Category.EDIT_NOT_APPLIED and "does not come after" in rows[0].message


def test_a_part_with_a_syntax_error_is_caught_before_it_runs(harness):
    outcome, rows = harness().run([constants("STEP = (1.0")])
    assert rows[0].category is Category.SYNTAX_ERROR and "'constants', its line 1" in rows[0].message
    assert not (harness().services.folder.path / "experiments" / "bigger_step" / "run_1").exists()


@pytest.mark.parametrize("edit_format", ["rewrite", "search_replace"])
def test_an_edit_that_changes_nothing_is_logged(harness, edit_format):
    reply = constants(BASE_LINE) if edit_format == "rewrite" else edit_reply(BASE_LINE)
    outcome, rows = harness(edit_format=edit_format).run([reply])
    assert rows[0].category is Category.NO_EFFECTIVE_CHANGE


def test_invalid_model_output_is_logged(harness):
    h = harness()
    h.model.overrides["PartChoice"] = lambda body: Step("{not json")
    outcome, rows = h.run([constants("STEP = 1.0")])
    assert rows[0].category is Category.LLM_OUTPUT_INVALID


def test_sandbox_infrastructure_failure_is_not_the_codes_fault(harness):
    class BrokenSandbox:
        name = "broken"

        def run(self, command, workdir, limits):
            if "run_0" in command:
                from scientist.sandbox.bwrap import BwrapSandbox

                return BwrapSandbox().run(command, workdir, limits)
            raise SandboxUnavailable("docker engine went away")

    outcome, rows = harness(sandbox=BrokenSandbox()).run([constants("STEP = 1.0")])
    assert rows[0].category is Category.SANDBOX_ERROR


def test_an_undefined_name_is_found_before_the_run(harness):
    h = harness()
    outcome, rows = h.run([constants("STEP = RATE * 2"), constants("STEP = 1.0")])
    assert outcome.ok and [(r.attempt, r.category, r.exception_type) for r in rows] == [
        (1, Category.RUNTIME_ERROR, "NameError"), (2, None, None)]
    assert "name 'RATE' is not defined (line 6: STEP = RATE * 2) (found before running)" == rows[0].message
    log = (h.services.folder.path / "experiments" / "bigger_step" / "executions.log").read_text().split()
    assert log == ["run_0", "run_1"], "the failed attempt never ran"


def test_a_helper_the_edit_calls_and_never_wrote_is_asked_for_on_its_own(harness):
    from scientist.experiments import journal

    h = harness()
    prompts = user_prompts(h)
    helper = Step("```python\ndef doubled(x):\n    return 2 * x\n```")
    outcome, rows = h.run([constants("STEP = doubled(0.5)"), helper])
    assert outcome.ok and [(r.attempt, r.category) for r in rows] == [(1, None)], "one attempt, no failure"
    assert "calls doubled, which nothing in experiment.py defines" in prompts[-1]
    assert "STEP = doubled(0.5)" in prompts[-1]
    assert prompts[-1].startswith(prompts[0][:200]), "the helper's prompt opens with the run's cached head"
    code = (h.services.folder.path / "experiments" / "bigger_step" / "run_1" / "experiment.py").read_text()
    assert code.index("def doubled(x)") < code.index("STEP = doubled(0.5)")
    (entry,) = journal.read(h.services.folder.path / "experiments" / "bigger_step")
    assert ("define_called", "repair") in [(p.name, p.kind) for p in entry.passes]


def test_a_change_that_computes_is_written_out_alone_first_and_shown_in_every_edit_prompt(harness):
    h = harness(method_sketch=True, max_repairs=1)
    prompts = user_prompts(h)
    sketch = Step("Here it is:\n```python\nimport numpy as np\ndef scaled(s):\n    return 2.0 * s\n```")
    change = "Double the step with a helper that scales it"
    outcome, rows = h.run([sketch, constants("STEP = 1.0 / 0"), constants("STEP = 1.0")], change=change)
    assert outcome.ok and [r.category for r in rows] == [Category.RUNTIME_ERROR, None]
    assert "standalone numpy" in prompts[0] and "def bigger" not in prompts[0], "the sketch is asked without the file"
    edits = prompts[1:]
    assert len(edits) >= 2 and all("def scaled(s):\n    return 2.0 * s" in p for p in edits), \
        "every prompt of the run after it (the part choice, the first edit, the repair) shows it"
    assert "import numpy" not in edits[0].split("written out on its own")[1]
    saved = h.services.folder.path / "experiments" / "bigger_step" / "attempts" / "run_1" / "sketch.py"
    assert saved.read_text() == "def scaled(s):\n    return 2.0 * s\n"


def test_a_change_of_settings_only_or_a_sketch_that_does_not_parse_shows_none(harness):
    h = harness(method_sketch=True)
    prompts = user_prompts(h, with_schema=True)
    outcome, _ = h.run([constants("STEP = 1.0")], change="set STEP to 1.0")
    assert outcome.ok and not any("standalone numpy" in text for _, text in prompts)
    from scientist.experiments.facts.units import standalone_sketch

    assert standalone_sketch("```python\ndef f(x:\n    return x\n```", 12) == ""
    assert standalone_sketch("```python\nx = 1\n" + "y = x\n" * 12 + "```", 12) == "", "longer than asked"
    assert standalone_sketch("the sigmoid squashes its input", 12) == "", "prose is no sketch"
    assert standalone_sketch("```\nsig = 1 / (1 + np.exp(-z))\n```", 12) == "sig = 1 / (1 + np.exp(-z))"
    documented = ('```python\nimport numpy as np\n\ndef update(v, g, lr):\n    """Update v.\n\n    Parameters:\n'
                  '    - v: the average.\n    - g: the gradient.\n    """\n    v = 0.9 * v + 0.1 * g**2  # average\n'
                  '    return lr * g / (np.sqrt(v) + 1e-8)\n```')
    assert standalone_sketch(documented, 12) == ("def update(v, g, lr):\n    v = 0.9 * v + 0.1 * g ** 2\n"
                                                 "    return lr * g / (np.sqrt(v) + 1e-08)"), \
        "a docstring, comments and imports do not count against the length"


def test_a_helper_reply_that_is_no_def_of_it_leaves_the_name_error(harness):
    h = harness()
    outcome, rows = h.run([constants("STEP = doubled(0.5)"), Step("```python\nSTEP = 1.0\n```")])
    assert rows[0].exception_type == "NameError", "no def of doubled: the check's failure stands"
    assert "nothing in the file defines the function doubled" in rows[0].message


def test_a_call_that_does_not_fit_a_changed_function_is_found_before_the_run(harness):
    h = harness()
    changed = "def bigger(step, factor):\n    return step * factor\n\n\nSTEP = bigger(0.5)"
    outcome, rows = h.run([constants(changed), constants("def bigger(step, factor=2.0):\n    return step * factor"
                                                         "\n\n\nSTEP = bigger(0.5)")])
    assert outcome.ok and [(r.category, r.exception_type) for r in rows] == [
        (Category.RUNTIME_ERROR, "TypeError"), (None, None)]
    assert rows[0].message.startswith("bigger() missing 1 required positional argument: 'factor'; it is defined "
                                      "as bigger(step, factor)")
    log = (h.services.folder.path / "experiments" / "bigger_step" / "executions.log").read_text().split()
    assert log == ["run_0", "run_1"], "the failed attempt never ran"


def test_a_change_that_adds_computation_made_by_a_setting_alone_is_found_before_the_run(harness):
    h = harness()
    outcome, rows = h.run([constants("STEP = 0.5 * 2")], change="Add a doubling of each value before averaging")
    assert not outcome.ok and rows[0].category is Category.NO_EFFECTIVE_CHANGE
    assert rows[0].message.startswith("the change adds computation (Add ...), but the edit only changes settings")
    log = (h.services.folder.path / "experiments" / "bigger_step" / "executions.log").read_text().split()
    assert log == ["run_0"]


def test_a_library_name_that_does_not_exist_is_named_in_every_later_attempt(harness):
    h = harness(max_repairs=2)
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("from json import nope\nSTEP = 1.0\nDUMP = nope"), constants("STEP = 1.0 / 0"),
                           constants("STEP = 1.0")])
    assert [(r.category, r.exception_type) for r in rows] == [
        (Category.IMPORT_ERROR, "ImportError"), (Category.RUNTIME_ERROR, "ZeroDivisionError"), (None, None)]
    assert "cannot import name 'nope' from 'json'" in rows[0].message
    avoid = "do not import or call them: json.nope."
    assert avoid in prompts[2] and avoid in prompts[4] and avoid not in prompts[0]


def test_a_new_import_nothing_reads_is_removed_before_it_can_fail_the_run(harness):
    h = harness()
    outcome, rows = h.run([constants("from json import nope\nSTEP = 1.0")])
    assert outcome.ok and [r.category for r in rows] == [None]
    code = (h.services.folder.path / "experiments" / "bigger_step" / "run_1" / "experiment.py").read_text()
    assert "nope" not in code and "STEP = 1.0" in code


def test_repair_loop_broken_then_fixed(harness):
    h = harness()
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("STEP = 1.0 / 0"), constants("STEP = 1.0")])
    assert outcome.ok and outcome.attempts == 2
    assert [(r.attempt, r.category) for r in rows] == [(1, Category.RUNTIME_ERROR), (2, None)]
    assert rows[0].repaired, "the failed first attempt is marked repaired"
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5)
    assert h.model.calls["PartChoice"] == 1 and h.model.calls["text"] == 2, json.dumps(h.model.calls)
    fix = prompts[2]  # the crash was in a part the attempt changed: that part of its code is fixed in place
    assert "ZeroDivisionError" in fix and "Where: line 6 in 'constants': STEP = 1.0 / 0" in fix
    assert "Its current text in the previous attempt:" in fix and "Fix the mistake in constants" in fix
    run_dir = h.services.folder.path / "experiments" / "bigger_step" / "run_1"
    assert (run_dir / "experiment.py").read_text().count("STEP = 1.0") == 1
    summary = summarise(h.services.failures.attempts())
    assert summary.after_repair.failures == 0 and summary.first_attempt.failures == 1


def test_fixes_in_place_stop_after_two_and_the_next_attempt_starts_from_the_baseline(harness):
    h = harness(max_repairs=3)
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("STEP = 1.0 / 0"), constants("STEP = 2.0 / 0"), constants("STEP = 3.0 / 0"),
                           constants("STEP = 1.0")])
    assert outcome.ok and [r.category for r in rows] == [Category.RUNTIME_ERROR] * 3 + [None]
    assert h.model.calls["PartChoice"] == 2, "attempts 2 and 3 fixed in place; attempt 4 chose its parts afresh"
    assert "STEP = 1.0 / 0" in prompts[2] and "STEP = 2.0 / 0" in prompts[3], "each fix sees the code it fixes"
    assert "Baseline experiment.py (it runs)" in prompts[4] and "Fix the mistake" not in prompts[4]
    temperatures = [body["temperature"] for body in h.fake.requests]
    assert temperatures[2] < temperatures[3], "the second fix samples more freely"


def test_a_fix_that_gives_the_part_back_unchanged_is_asked_for_once_more(harness):
    h = harness()
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("STEP = 1.0 / 0"), constants("STEP = 1.0 / 0"), constants("STEP = 1.0")])
    assert outcome.ok and [(r.attempt, r.category) for r in rows] == [(1, Category.RUNTIME_ERROR), (2, None)]
    assert "could not fix it (it gave constants back unchanged)" in prompts[-1]
    assert "back unchanged" not in prompts[-2]


def test_a_fix_that_keeps_the_failing_line_is_asked_for_once_more_before_it_runs(harness):
    h = harness()
    prompts = user_prompts(h)
    # the fix adds a constant but gives the crashing line back as it was: it would crash the same way
    outcome, rows = h.run([constants("STEP = 1.0 / 0"), constants("STEP = 1.0 / 0\nSCALE = 2.0"),
                           constants("STEP = 1.0")])
    assert outcome.ok and [(r.attempt, r.category) for r in rows] == [(1, Category.RUNTIME_ERROR), (2, None)]
    assert "it leaves line 6 (STEP = 1.0 / 0)" in prompts[-1] and "could not fix it" not in prompts[-2]


def test_a_fix_given_back_unchanged_twice_gives_way_to_the_change_from_the_baseline(harness):
    h = harness()
    prompts = user_prompts(h, with_schema=True)
    outcome, rows = h.run([constants("STEP = 1.0 / 0"), constants("STEP = 1.0 / 0"), constants("STEP = 1.0 / 0"),
                           constants("STEP = 1.0")])
    assert outcome.ok and [(r.attempt, r.category) for r in rows] == [(1, Category.RUNTIME_ERROR), (2, None)]
    assert "Fix the mistake in constants" in prompts[-3][1] and "back unchanged" in prompts[-3][1]
    assert prompts[-2][0] == "PartChoice" and "Baseline experiment.py (it runs)" in prompts[-1][1]


def test_a_reply_repeating_failed_code_is_asked_for_once_more_within_the_attempt(harness):
    h = harness(max_repairs=1)
    prompts = user_prompts(h)
    # a crash in a part the attempt did not change (the toy's sum over the values): no fix in place
    outcome, rows = h.run([constants("STEP = 'a'"), constants("STEP = 'a'"), constants("STEP = 1.0")])
    assert outcome.ok and [(r.attempt, r.category) for r in rows] == [(1, Category.RUNTIME_ERROR), (2, None)]
    assert "exactly the code of attempt 1, which failed" in prompts[-1]
    assert not any("exactly the code of attempt" in p for p in prompts[:-2])
    temperatures = [body["temperature"] for body in h.fake.requests]
    assert temperatures[-1] > temperatures[-3], "the second ask samples more freely"


def test_a_new_value_nothing_reads_is_found_before_the_run(harness):
    h = harness()
    dead = "def bigger(step):\n    doubled = 2 * step\n    return step\n\n\nSTEP = bigger(1.0)"
    outcome, rows = h.run([constants(dead), constants("STEP = 1.0")])
    assert outcome.ok and [r.category for r in rows] == [Category.NO_EFFECTIVE_CHANGE, None]
    assert rows[0].message.startswith("'doubled' is computed in bigger but nothing reads it (line ")
    log = (h.services.folder.path / "experiments" / "bigger_step" / "executions.log").read_text().split()
    assert log == ["run_0", "run_1"], "the dead-code attempt never ran"


def test_a_dead_value_beside_new_computation_in_its_function_still_runs(harness, tmp_path):
    # The 1.5B model's restarts computed a perturbed_trace it never read in a step_budget that now restarted.
    h = harness(template=toy_with(tmp_path / "toy_functions", TOY_WITH_FUNCTIONS))
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["def make_values"]}
    outcome, rows = h.run([Step("```python\ndef make_values(step):\n    factor = 2.0\n    spare = step + 1\n"
                                "    return [scale(x) * step * factor for x in range(10)]\n```")],
                          change="Double each value before averaging")
    assert outcome.ok and [r.category for r in rows] == [None]


SAME_VALUES = Step("```python\ndef make_values(step):\n    factor = 2.0\n    return [scale(x) * step for x in range(10)]\n```")
DOUBLED_VALUES = Step("```python\ndef make_values(step):\n    factor = 2.0\n"
                      "    return [scale(x) * step * factor for x in range(10)]\n```")


def rewriting_make_values(harness, tmp_path) -> tuple:
    """A harness whose model rewrites ``make_values``, and the last message of each request it gets."""
    h = harness(template=toy_with(tmp_path / "toy_functions", TOY_WITH_FUNCTIONS))
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["def make_values"]}
    prompts: list = []
    h.model.on_request = lambda schema, body: prompts.append(body["messages"][-1]["content"])
    return h, prompts


def test_a_function_given_back_unchanged_is_asked_for_again_with_a_todo_where_the_change_goes(harness, tmp_path):
    # The 1.5B model, asked to rewrite optimise for a cosine schedule, copied it word for word twice running.
    h, prompts = rewriting_make_values(harness, tmp_path)
    outcome, rows = h.run([SAME_VALUES, DOUBLED_VALUES], change="Double each value before averaging")
    assert outcome.ok and [r.category for r in rows] == [None]
    assert "# TODO" not in prompts[-3], "the first ask shows the function as it is"
    assert "    factor = 2.0\n    # TODO: Double each value before averaging\n    return [scale(x)" in prompts[-1]
    assert "Replace the TODO line with the code that makes the change there" in prompts[-1]


def test_after_an_attempt_that_changed_nothing_the_next_one_is_shown_the_todo_at_once(harness, tmp_path):
    h, prompts = rewriting_make_values(harness, tmp_path)
    outcome, rows = h.run([SAME_VALUES, SAME_VALUES, DOUBLED_VALUES], change="Double each value before averaging")
    assert outcome.ok and [r.category for r in rows] == [Category.NO_EFFECTIVE_CHANGE, None]
    assert len(prompts) == 6 and "# TODO: Double each value" in prompts[-1]


def test_the_values_a_failing_line_read_are_shown_in_the_repair_prompt(harness):
    h = harness()
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("SIZES = (3, 4)\nSTEP = SIZES[2] * 0.5"), constants("STEP = 1.0")])
    assert outcome.ok and rows[0].exception_type == "IndexError"
    assert "Values the failing line was working with: SIZES[2] = (raises IndexError); SIZES = (3, 4)\n" in prompts[2]
    run_dir = h.services.folder.path / "experiments" / "bigger_step" / "run_1"
    assert not (run_dir / "failing_values.txt").exists(), "the successful attempt replaced the failed one's folder"
    kept = run_dir.parent / "attempts" / "run_1" / "attempt_1"
    assert rows[0].run_dir == str(kept) and "SIZES[2]" in (kept / "failing_values.txt").read_text()
    assert (kept / "failure.txt").read_text().startswith("runtime_error: tuple index out of range\nwhere: line 7")
    assert "SIZES[2] * 0.5" in (kept / "experiment.py").read_text() and "IndexError" in (kept / "stderr.txt").read_text()


def test_the_repair_prompt_shows_the_failing_line_s_values_in_the_baseline_where_they_differ(harness):
    h = harness()
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("STEP = [0.5]"), constants("STEP = 1.0")])
    assert outcome.ok and rows[0].exception_type == "TypeError"
    values = prompts[2].split("Values the failing line was working with: ", 1)[1].split("\n", 1)[0]
    assert "values = list of length 10, first item []" in values
    assert "| the same line in the baseline (which runs) read: " in values
    assert "values = list of length 10, first item 0.0" in values.split("| the same line in the baseline")[1]
    workdir = h.services.folder.path / "experiments" / "bigger_step"
    assert not (workdir / "baseline_for_values.py").exists() and not (workdir / ".baseline_values").exists()


def test_a_repeated_failure_is_named_and_repairs_sample_more_freely(harness):
    h = harness(max_repairs=2)
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("STEP = 'a'"), constants("STEP = 'b'"), constants("STEP = 1.0")])
    assert outcome.ok and [r.category for r in rows] == [Category.RUNTIME_ERROR, Category.RUNTIME_ERROR, None]
    third = prompts[-1]
    assert "Attempt 3" in third and "Earlier attempts failed with: runtime_error: unsupported operand" in third
    assert "\nWhere: line 16 in 'code at line 8': per_seed = " in third
    assert "The same failure happened twice in a row" in third
    assert "Earlier attempts" not in prompts[2] and "happened twice" not in prompts[2]
    temperatures = [body["temperature"] for body in h.fake.requests]
    assert temperatures[0] < temperatures[2] < temperatures[4], temperatures


def test_a_run_that_succeeds_has_its_code_judged_against_its_change(harness):
    from scientist.nodes.writeup import results_text

    h = harness(fidelity_check=True)
    asked = []
    h.model.overrides["FidelityVerdict"] = lambda body: asked.append(body["messages"][-1]["content"]) or {
        "asked": "STEP 1.0", "done": "STEP 1.0 and a print", "differences": ["the print is extra"], "verdict": "partial"}
    outcome, rows = h.run([constants("STEP = 1.0")])
    assert outcome.ok and [r.category for r in rows] == [None], "the verdict does not decide the run"
    assert outcome.fidelity is not None and outcome.fidelity.verdict == "partial"
    assert "set STEP to 1.0" in asked[0] and "+STEP = 1.0" in asked[0], "the judge reads the change and the diff"
    saved = json.loads((h.services.folder.path / "experiments" / "bigger_step" / "run_1" / "outcome.json").read_text())
    assert saved["fidelity"]["differences"] == ["the print is extra"]
    text = results_text({"baseline": {"toy": {"mean_value": 1.0}}, "runs": [saved]})
    assert "run_1 CAVEAT: a check of its code found the change implemented only in part: the print is extra" in text


TOY_WITH_FUNCTIONS = (TOY / "experiment.py").read_text().replace(
    "values = [x * STEP for x in range(10)]\n",
    "\n\ndef scale(x):\n    return x\n\n\ndef make_values(step):\n    factor = 2.0\n    return [scale(x) * step for x in range(10)]\n\n\n"
    "values = make_values(STEP)\n")


def test_a_change_put_where_its_values_do_not_exist_is_made_again_in_the_function_that_has_them(harness, tmp_path):
    template = toy_with(tmp_path / "toy_functions", TOY_WITH_FUNCTIONS)
    h = harness(template=template)
    prompts = user_prompts(h, with_schema=True)
    outcome, rows = h.run([Step("```python\ndef scale(x):\n    return x * factor\n```"),
                           Step("```python\ndef make_values(step):\n    factor = 2.0\n"
                                "    return [scale(x) * step * factor for x in range(10)]\n```")],
                          change="Double each value before averaging")
    assert outcome.ok and [r.category for r in rows] == [Category.RUNTIME_ERROR, None]
    assert "'factor' is not defined (it is a local of make_values only" in rows[0].message
    assert [schema for schema, _ in prompts].count("PartChoice") == 1, "the second attempt is told where, not asked"
    second = prompts[-1][1]
    assert "Make the change inside def make_values this time" in second and "Baseline experiment.py" in second


def test_a_function_that_lost_its_return_is_found_before_the_run(harness, tmp_path):
    template = toy_with(tmp_path / "toy_functions", TOY_WITH_FUNCTIONS)
    h = harness(template=template)
    # (a function that ends by computing one value is made to return it: autofix.return_the_last_value)
    outcome, rows = h.run([Step("```python\ndef make_values(step):\n    values = [x * step * 2 for x in range(10)]\n"
                                "    print(len(values))\n```"),
                           Step("```python\ndef make_values(step):\n    return [x * step * 2 for x in range(10)]\n```")],
                          change="Double each value before averaging")
    assert outcome.ok and [(r.category, r.exception_type) for r in rows] == [(Category.RUNTIME_ERROR, "TypeError"),
                                                                             (None, None)]
    assert rows[0].message.startswith("make_values() no longer returns anything") and "found before running" in rows[0].message
    log = (h.services.folder.path / "experiments" / "bigger_step" / "executions.log").read_text().split()
    assert log == ["run_0", "run_1"], "the failed attempt never ran"


TOY_WITH_NUMPY = (TOY / "experiment.py").read_text().replace("import os\n", "import os\n\nimport numpy as np\n").replace(
    "values = [x * STEP for x in range(10)]\n",
    "\n\ndef make_values(step):\n    x = np.arange(10.0)\n    return x * step\n\n\nvalues = make_values(STEP)\n")


def test_results_that_are_not_finite_are_traced_to_the_line_that_made_the_first_nan_and_fixed_there(harness, tmp_path):
    template = toy_with(tmp_path / "toy_numpy", TOY_WITH_NUMPY)
    h = harness(template=template)
    prompts = user_prompts(h)
    outcome, rows = h.run([Step("```python\ndef make_values(step):\n    x = np.arange(10.0)\n"
                                "    scale = np.sqrt(x - 5.0)\n    return x * step * scale\n```"),
                           Step("```python\ndef make_values(step):\n    x = np.arange(10.0)\n"
                                "    scale = np.sqrt(np.abs(x - 5.0))\n    return x * step * scale\n```")],
                          change="Scale each value by the square root of its distance from 5")
    assert outcome.ok and [r.category for r in rows] == [Category.INVALID_RESULTS, None]
    code = (h.services.folder.path / "experiments" / "bigger_step" / "attempts" / "run_1" / "attempt_1")
    line = (code / "experiment.py").read_text().splitlines().index("    scale = np.sqrt(x - 5.0)") + 1
    assert rows[0].message.endswith(f"is not finite (nan); the first inf or nan was made at line {line} "
                                    "(FloatingPointError: invalid value encountered in sqrt, in a rerun with numpy's "
                                    "floating-point errors raised)")
    values = (code / "failing_values.txt").read_text()
    assert "x - 5.0 = ndarray float64 shape (10,), from -5 to 4" in values, "float arrays with their range"
    assert f"Where: line {line} in 'def make_values'" in prompts[-1], "the fix is asked for in the part that made the nan"
    assert "Fix the mistake in def make_values" in prompts[-1] and "what it computes must stay finite" in prompts[-1]
    workdir = h.services.folder.path / "experiments" / "bigger_step"
    assert not (workdir / ".float_errors").exists(), "the rerun's scratch output is removed"


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
    outcome, rows = harness().run([constants("STEP = 0.25 * 2")])
    assert not outcome.ok
    assert rows[0].category is Category.NO_EFFECTIVE_CHANGE and "identical to the baseline" in rows[0].message


def test_an_edit_that_only_adds_what_nothing_reads_is_found_before_the_run(harness):
    h = harness()
    prompts = user_prompts(h)
    unread, comment = constants(BASE_LINE + "\nK = 4  # never used"), constants("# a comment only\n" + BASE_LINE)
    outcome, rows = h.run([unread, unread, comment, comment])  # each attempt asks once more, told why
    assert not outcome.ok and [r.category for r in rows] == [Category.NO_EFFECTIVE_CHANGE] * 2
    assert rows[0].message == ("the edit does not change what the experiment computes: you added K but nothing "
                               "reads it (found before running)")
    assert "it changes only comments or layout" in rows[1].message
    assert h.model.calls["PartChoice"] == 4, json.dumps(h.model.calls)
    assert "Your first answer to this attempt changed nothing the experiment computes (you added K but nothing " \
           "reads it)" in prompts[2]
    log = (h.services.folder.path / "experiments" / "bigger_step" / "executions.log").read_text().split()
    assert log == ["run_0"], "neither attempt ran"


def test_a_plan_that_repeats_the_baseline_is_asked_for_again(harness):
    from scientist.nodes.plan import plan_idea

    h = harness()
    answers = iter([{"idea": "x", "runs": [{"name": "same", "change": "set STEP to 0.5"}], "measure": "mean_value"},
                    {"idea": "x", "runs": [{"name": "double", "change": "set STEP to 1.0"}], "measure": "mean_value"}])
    h.model.overrides["ExperimentPlan"] = lambda body: next(answers)
    prompts = []
    h.model.on_request = lambda schema, body: prompts.append(body["messages"][-1]["content"])
    plan = plan_idea(idea("bigger_step"), None, h.services)
    assert [r.change for r in plan.runs] == ["set STEP to 1.0"]
    assert "same: STEP is already 0.5 in the baseline" in prompts[1]


def test_a_planned_run_equal_to_the_baseline_is_dropped_and_the_next_one_kept(harness):
    from scientist.nodes.plan import plan_idea

    h = harness()
    h.services.settings.runs_per_idea = 1
    sweep = [{"name": "sweep", "change": f"set STEP to {v}"} for v in ("0.5", "1.0", "2.0")]  # 0.5 is the baseline's
    h.model.overrides["ExperimentPlan"] = lambda body: {"idea": "x", "runs": sweep, "measure": "mean_value"}
    plan = plan_idea(idea("bigger_step"), None, h.services)
    assert [r.change for r in plan.runs] == ["set STEP to 1.0"]
    assert h.model.calls["ExperimentPlan"] == 1, "a usable run was left: no second plan"


def test_a_run_still_wrong_after_the_second_plan_becomes_the_ideas_own_change(harness):
    from scientist.nodes.plan import plan_idea

    h = harness()
    answers = iter([{"idea": "x", "runs": [{"name": "same", "change": "set step_size to 2 in the loop"}],
                     "measure": "mean_value"},
                    {"idea": "x", "runs": [{"name": "echo", "change": "experiment.py has no constant step_size"}],
                     "measure": "mean_value"}])
    h.model.overrides["ExperimentPlan"] = lambda body: next(answers)
    plan = plan_idea(idea("bigger_step"), None, h.services)
    assert [r.change for r in plan.runs] == ["Change STEP in experiment.py and compare mean_value."]


def test_a_function_that_changes_a_module_constant_is_repaired_before_the_run(harness, tmp_path):
    template = toy_with(tmp_path / "toy_functions", TOY_WITH_FUNCTIONS)
    h = harness(template=template)
    outcome, rows = h.run([Step("```python\ndef make_values(step):\n    out = [scale(x) * STEP for x in range(10)]\n"
                                "    STEP *= 2\n    return [v * 2 for v in out]\n```")],
                          change="Double each value before averaging")
    assert outcome.ok and [r.category for r in rows] == [None], "an UnboundLocalError-to-be is repaired, not run"
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5)
    code = (h.services.folder.path / "experiments" / "bigger_step" / "run_1" / "experiment.py").read_text()
    assert "    step_2 = STEP  # a local copy" in code and "scale(x) * step_2" in code and "step_2 *= 2" in code


TOY_WITH_SEAM = (TOY / "experiment.py").read_text().replace(
    "values = [x * STEP for x in range(10)]\n",
    '\n\ndef scale_value(x):\n    """Each value as it is averaged: the value itself."""\n    return x\n\n\n'
    "values = [scale_value(x * STEP) for x in range(10)]\n")


def test_the_first_attempt_makes_a_change_that_names_a_seam_in_it_without_a_part_choice(harness, tmp_path):
    template = toy_with(tmp_path / "toy_seam", TOY_WITH_SEAM)
    h = harness(template=template)
    prompts = user_prompts(h, with_schema=True)
    outcome, rows = h.run([Step("```python\ndef scale_value(x):\n    return 2 * x\n```")],
                          change="Scale each value by 2 before averaging")
    assert outcome.ok and [r.category for r in rows] == [None]
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5)
    assert [schema for schema, _ in prompts] == ["text"], "no part choice: the change names the seam"
    assert "Make the change inside def scale_value: the change names it" in prompts[0][1]


def test_a_change_adding_computation_goes_to_the_one_function_reading_the_constants_it_names(harness, tmp_path):
    reader = (TOY / "experiment.py").read_text().replace(
        "values = [x * STEP for x in range(10)]\n",
        "\n\ndef make_values():\n    return [x * STEP for x in range(10)]\n\n\nvalues = make_values()\n")
    h = harness(template=toy_with(tmp_path / "toy_reader", reader))
    prompts = user_prompts(h, with_schema=True)
    outcome, rows = h.run([Step("```python\ndef make_values():\n    return [2 * x * STEP for x in range(10)]\n```")],
                          change="Add a doubling of each value, keeping STEP")
    assert outcome.ok and [r.category for r in rows] == [None]
    assert [schema for schema, _ in prompts] == ["text"], "no part choice: one function reads STEP"
    assert "Make the change inside def make_values: it is the one function that reads STEP" in prompts[0][1]


def test_a_fresh_start_after_a_failure_makes_the_change_in_the_seam_again(harness, tmp_path):
    template = toy_with(tmp_path / "toy_seam", TOY_WITH_SEAM)
    h = harness(template=template)
    prompts = user_prompts(h, with_schema=True)
    outcome, rows = h.run([Step("```python\ndef scale_value(x):\n    import no_such_module_here\n    return 2 * x\n```"),
                           Step("```python\ndef scale_value(x):\n    return 2 * x\n```")],
                          change="Scale each value by 2 before averaging")
    assert outcome.ok and [r.category for r in rows] == [Category.IMPORT_ERROR, None]
    assert [schema for schema, _ in prompts] == ["text", "text"], "no part choice at the fresh start either"
    assert "Make the change inside def scale_value: the change names it" in prompts[1][1]


def test_after_two_fresh_starts_fail_in_the_seam_the_model_chooses_the_parts_itself(harness, tmp_path):
    """A rule's place for the change is a prior, not a cage: the seam a change's words name may be the
    wrong place, and every later fresh start would fail there the same way."""
    template = toy_with(tmp_path / "toy_seam", TOY_WITH_SEAM)
    h = harness(template=template, max_repairs=2)
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["def scale_value"]}
    prompts = user_prompts(h, with_schema=True)
    def seam(body: str) -> Step:
        return Step(f"```python\ndef scale_value(x):\n{body}    return 2 * x\n```")

    outcome, rows = h.run([seam("    import no_such_module_here\n"), seam("    import no_such_module_there\n"), seam("")],
                          change="Scale each value by 2 before averaging")
    assert outcome.ok and [r.category for r in rows] == [Category.IMPORT_ERROR, Category.IMPORT_ERROR, None]
    assert [schema for schema, _ in prompts] == ["text", "text", "PartChoice", "text"], \
        "the third attempt chooses its parts"
    assert "Make the change inside def scale_value" in prompts[1][1]
    assert "Make the change inside" not in prompts[2][1]


def test_results_identical_to_the_baseline_s_name_the_new_lines_that_never_ran(harness, tmp_path):
    template = toy_with(tmp_path / "toy_functions", TOY_WITH_FUNCTIONS)
    h = harness(template=template, max_repairs=0)
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["def make_values"]}
    never = ("```python\ndef make_values(step):\n    factor = 2.0\n    if step > 10:\n        step = step * factor\n"
             "    return [scale(x) * step for x in range(10)]\n```")
    outcome, rows = h.run([Step(never)], change="Double each value before averaging")
    assert not outcome.ok and rows[0].category is Category.NO_EFFECTIVE_CHANGE
    assert rows[0].message.startswith("the results are identical to the baseline's")
    assert "of your change never ran (" in rows[0].message and ": step = step * factor): the condition" in rows[0].message
    assert not (h.services.folder.path / "experiments" / "bigger_step" / ".lines_run").exists()


HIDDEN_IMPORT = "```python\nimport argparse\nimport json\nimport os\nfrom math import factorial as factor\n```"


def test_a_new_import_hidden_by_a_local_is_renamed_before_the_run(harness, tmp_path):
    template = toy_with(tmp_path / "toy_functions", TOY_WITH_FUNCTIONS)
    h = harness(template=template, max_repairs=0)
    uses = "```python\ndef make_values(step):\n    factor = 2.0\n    return [scale(x) * step * factor(2) for x in range(10)]\n```"
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["imports", "def make_values"]}
    outcome, rows = h.run([Step(HIDDEN_IMPORT), Step(uses)], change="Double each value before averaging")
    assert outcome.ok and [r.category for r in rows] == [None], "a certain AttributeError is repaired, not run"
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5), "factorial(2) doubles each value"
    code = (h.services.folder.path / "experiments" / "bigger_step" / "run_1" / "experiment.py").read_text()
    assert "from math import factorial as math_factor\n" in code and "step * math_factor(2)" in code


def test_a_new_import_hidden_by_a_local_the_baseline_used_as_an_object_is_found_before_the_run(harness, tmp_path):
    baseline = TOY_WITH_FUNCTIONS.replace("    factor = 2.0\n", "    factor = 2.0\n    factor = factor.real\n")
    template = toy_with(tmp_path / "toy_functions", baseline)
    h = harness(template=template, max_repairs=0)
    uses = ("```python\ndef make_values(step):\n    factor = 2.0\n    factor = factor.real\n"
            "    return [scale(x) * step * factor(2) for x in range(10)]\n```")
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["imports", "def make_values"]}
    outcome, rows = h.run([Step(HIDDEN_IMPORT), Step(uses)], change="Double each value before averaging")
    assert not outcome.ok and rows[0].category is Category.RUNTIME_ERROR and rows[0].exception_type == "AttributeError"
    assert rows[0].message.startswith("factor is imported at line 5, but make_values has its own local factor")
    log = (h.services.folder.path / "experiments" / "bigger_step" / "executions.log").read_text().split()
    assert log == ["run_0"], "the failed attempt never ran: which use means the import is not plain, so no repair"


TOY_WITH_WALK = (TOY / "experiment.py").read_text().replace(
    "values = [x * STEP for x in range(10)]\n",
    '\n\ndef walk(x, steps):\n    """``steps`` halvings of x: (the last x, every x on the way)."""\n    seen = []\n'
    "    for t in range(steps):\n        half = x / 2\n        x = half + 0.0\n        seen.append(x)\n"
    "        if x < 0:\n            break\n        x = x * 1.0\n    return x, seen\n\n\n"
    "def make_values(step):\n    last, seen = walk(step * 8, 3)\n    return [v for v in seen] + [last]\n\n\n"
    "values = make_values(STEP)\n")


def test_a_failure_in_code_copied_from_another_function_says_how_to_call_it(harness, tmp_path):
    template = toy_with(tmp_path / "toy_walk", TOY_WITH_WALK)
    h = harness(template=template)
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["def make_values"]}
    copied = ("```python\ndef make_values(step):\n    x = step * 16\n    for t in range(3):\n        half = x / 2\n"
              "        x = half + 0.0\n        seen.append(x)\n        if x < 0:\n            break\n"
              "        x = x * 1.0\n    return seen + [x]\n```")
    called = "```python\ndef make_values(step):\n    last, seen = walk(step * 16, 3)\n    return seen + [last]\n```"
    outcome, rows = h.run([Step(copied), Step(called)], change="Start from twice the value")
    # seen is a local of walk only, but it came with the copy: the fix stays in make_values, not walk
    assert outcome.ok and [r.category for r in rows] == [Category.RUNTIME_ERROR, None]
    assert "copy walk's code without what walk sets up first: call walk(x, steps) (``steps`` halvings of x" \
        in rows[0].message


def test_a_new_log_opened_by_two_processes_at_once_is_created_once(tmp_path):
    import threading

    from scientist.failures import Attempt, read_attempts

    # The race (two connections switching one new file to WAL) is lost only now and then, so
    # it is run many times: before the retry about one round in twenty failed here.
    for round_ in range(100):
        path = tmp_path / f"failures_{round_}.sqlite"
        assert read_attempts(path) == [], "a log not yet created reads as empty, and is not created by reading"
        assert not path.exists()
        errors: list[BaseException] = []
        start = threading.Barrier(6)

        def open_log(path=path, errors=errors, start=start) -> None:
            start.wait()
            try:
                FailureLog(path).close()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=open_log) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], f"round {round_}"
        log = FailureLog(path)
        assert log.schema_version == 1
        log.record(Attempt(run_id="r", idea="i", stage="run_1", attempt=1, model="m", template="t"))
        log.close()
        assert [a.stage for a in read_attempts(path)] == ["run_1"]


def test_the_journal_holds_every_attempt_with_its_parent_passes_and_ending(harness):
    from scientist.experiments import journal

    h = harness(max_repairs=2)
    outcome, rows = h.run([constants("undefined_thing\nSTEP = 1.0"), constants("STEP = 1.0 / 0"),
                           constants("from json import nope\nSTEP = 1.0")])
    assert outcome.ok and outcome.attempts == 3
    entries = journal.read(h.services.folder.path / "experiments" / "bigger_step")
    assert [(e.attempt, e.ok, e.category) for e in entries] == [
        (1, False, "runtime_error"), (2, False, "runtime_error"), (3, True, None)]
    first, second, third = entries
    assert [p.name for p in first.passes] == ["undefined_names"], "the check that stopped it, before any run"
    assert "found before running" in first.message and first.parent == "baseline"
    assert second.passes == [] and "division by zero" in second.message and second.move == "fix"
    assert second.parent == "attempt 1", "the crash was in a part the attempt changed: fixed in place"
    assert [(p.name, p.kind) for p in third.passes] == [("drop_unread_imports", "repair")]
    assert third.means["toy"]["mean_value"] == pytest.approx(4.5) and "+STEP = 1.0" in third.diff
    assert len(rows) == 3, "the failure log counts the same attempts"


def test_passes_stop_at_the_first_check_that_finds_a_failure_and_record_the_repairs_before_it():
    from scientist.experiments.passes import PASSES, Check, PassContext, Repair, run_passes

    names = [p.name for p in PASSES]
    assert len(names) == len(set(names)) and names[0] == "syntax"
    assert all(isinstance(p, Check | Repair) for p in PASSES)
    base = "RATE = 0.1\n\n\ndef fit(x):\n    return x * RATE\n"
    edited = "RATE = 0.1\n\n\ndef fit(x):\n    rate *= 0.5\n    return x * rate\n"
    ran = run_passes(edited, PassContext(baseline=base, change="halve the rate in fit"))
    assert [(f.name, f.kind) for f in ran.fired][:1] == [("localise_constants", "repair")]
    assert "rate = RATE" in ran.code
    broken = run_passes("def fit(x:\n", PassContext(baseline=base, change="c"))
    assert broken.failure is not None and broken.failure.category.value == "syntax_error"
    assert [f.name for f in broken.fired] == ["syntax"]
    assert run_passes(base, PassContext(baseline=base, change="c")).failure.category.value == "no_effective_change"


def test_candidates_that_fail_in_different_ways_are_all_journalled_and_the_most_promising_is_repaired(harness):
    """Generate and test: three candidates from one prompt fail three ways; the next round fixes the one
    that ran and crashed, told what the others failed with, and succeeds."""
    from scientist.experiments import journal

    h = harness(candidates=3, max_repairs=1)
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("STEP = (1.0"), constants("STEP = 1.0 / 0"),
                           constants("STEP = 1.0\nHELPER = not_defined_anywhere"), constants("STEP = 1.0")])
    assert outcome.ok and outcome.attempts == 4
    assert [r.category for r in rows] == [Category.SYNTAX_ERROR, Category.RUNTIME_ERROR, Category.RUNTIME_ERROR, None]
    entries = journal.read(h.services.folder.path / "experiments" / "bigger_step")
    assert [(e.round, e.candidate, e.ok) for e in entries] == [(1, 1, False), (1, 2, False), (1, 3, False),
                                                                (2, 1, True)]
    assert entries[2].passes[-1].name == "undefined_names", "the third was stopped before running"
    assert entries[3].move == "fix" and entries[3].parent == "attempt 2", "the crash that ran is the one fixed"
    fix = prompts[-1]
    assert "division by zero" in fix and "Other candidates for the last attempt failed differently: syntax_error" in fix
    first_round = [p for p in prompts[:6]]
    assert first_round[0] == first_round[2] == first_round[4], "the round's candidates share one prompt"
    summary = summarise(h.services.failures.attempts())
    assert summary.first_attempt.failures == 1 and summary.after_repair.failures == 0


def test_when_the_next_round_fixes_in_place_its_last_candidate_starts_afresh(harness):
    """Samples of one fix prompt tend to repeat one mistake: of a round's two candidates, the first fixes
    the most promising failure in place and the second makes the change again from the baseline."""
    from scientist.experiments import journal

    h = harness(candidates=2, max_repairs=1)
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("STEP = 1.0 / 0"), constants("STEP = 2.0 / 0"),
                           constants("STEP = 3.0 / 0"), constants("STEP = 1.0")])
    assert outcome.ok and outcome.attempts == 4
    entries = journal.read(h.services.folder.path / "experiments" / "bigger_step")
    assert [(e.round, e.candidate, e.move, e.parent, e.ok) for e in entries] == [
        (1, 1, "change", "baseline", False), (1, 2, "change", "baseline", False),
        (2, 1, "fix", "attempt 1", False), (2, 2, "change", "baseline", True)]
    fix = next(p for p in prompts if "Fix the mistake" in p)
    fresh = prompts[-1]
    assert "Fix the mistake" not in fresh and "float division by zero" in fresh, "a fresh start, told the failure"
    head = os.path.commonprefix([fix, fresh])
    assert "Baseline experiment.py" in head, "both moves' prompts begin with the same head"
    assert [r.category for r in rows] == [Category.RUNTIME_ERROR] * 3 + [None]


def test_a_function_s_new_text_is_asked_for_under_a_grammar_and_other_parts_are_not(harness):
    h = harness()
    task = {"idea": idea("bigger_step"), "plan": {"runs": [{"name": "a", "change": "c"}]}, "first_run": 1}
    experiments = IdeaExperiments(h.services, task)  # type: ignore[arg-type]
    code = "STEP = 0.5\n\n\ndef helper(x):\n    return x\n\n\ndef fit(x):\n    return helper(x) * STEP\n"
    grammar = experiments.part_grammar(code, "def fit")
    assert grammar is not None and 'target ::= "def fit(" line body' in grammar
    assert experiments.part_grammar(code, "constants") is None
    h.services.settings.part_grammar = False
    assert experiments.part_grammar(code, "def fit") is None


def test_a_template_with_no_seams_goes_through_the_search(harness, tmp_path):
    """An AI Scientist-style experiment.py with no function at all (the toy's): no seam, no rule, and the
    search still runs its candidates."""
    plain = toy_with(tmp_path / "plain", (TOY / "experiment.py").read_text())
    assert "def " not in (plain / "experiment.py").read_text()
    h = harness(candidates=2, max_repairs=0, template=plain)
    outcome, rows = h.run([constants("STEP = 1.0 / 0"), constants("STEP = 1.0")])
    assert outcome.ok and [r.category for r in rows] == [Category.RUNTIME_ERROR, None]


def test_an_executed_run_carries_its_fidelity_signals_and_one_that_fails_them_is_not_called_a_success(harness):
    h = harness(fidelity_signals=True)
    outcome, _ = h.run([constants("STEP = 1.0")], change="set STEP to 1.0")
    assert outcome.ok and outcome.shown and outcome.signals.new_lines_ran is True
    assert outcome.signals.beyond_seed_noise is True and outcome.signals.numbers_in_code is True
    h2 = harness(fidelity_signals=True, fidelity_search=False)
    outcome, _ = h2.run([constants("STEP = 0.75")], change="set STEP to 0.7")
    assert outcome.ok and not outcome.shown, "the change's 0.7 is in no changed line"
    assert outcome.signals.problems == outcome.signals.defects == ["the change's 0.7 appears in no changed line"]


def test_a_candidate_that_runs_with_defects_does_not_end_the_search(harness):
    """Its signals say it is not the change (the change's 0.7 is nowhere): the next round is told why and
    makes the change; the journal and the failure log hold both executed candidates."""
    from scientist.experiments import journal

    h = harness(fidelity_signals=True, max_repairs=1)
    prompts = user_prompts(h)
    outcome, rows = h.run([constants("STEP = 0.75"), constants("STEP = 0.7")], change="set STEP to 0.7")
    assert outcome.ok and outcome.shown and outcome.attempts == 2
    assert outcome.means["toy"]["mean_value"] == pytest.approx(3.15)
    assert "it ran, but it is not the change asked for: the change's 0.7 appears in no changed line" in prompts[-1]
    entries = journal.read(h.services.folder.path / "experiments" / "bigger_step")
    assert [(e.round, e.ok) for e in entries] == [(1, True), (2, True)]
    assert [r.category for r in rows] == [None, None]
    kept = h.services.folder.path / "experiments" / "bigger_step" / "attempts" / "run_1" / "attempt_1"
    assert "STEP = 0.75" in (kept / "experiment.py").read_text() and "it ran, but" in (kept / "failure.txt").read_text()


TOY_WITH_PAIR = (TOY / "experiment.py").read_text().replace(
    "values = [x * STEP for x in range(10)]\n",
    "\n\ndef f(x):\n    return x * x\n\n\ndef f_der(x):\n    return 2 * x\n\n\n"
    "values = [f(x * STEP) + f_der(x * STEP) for x in range(10)]\n")


def test_a_run_that_changed_a_function_and_not_its_derivative_has_the_derivative_fixed_in_place(harness, tmp_path):
    """It ran, but f changed and f_der (its pair) did not: the next round rewrites f_der of that attempt's
    code, keeping its f, instead of making the change again from the baseline."""
    from scientist.experiments import journal

    h = harness(template=toy_with(tmp_path / "toy_pair", TOY_WITH_PAIR), fidelity_signals=True, max_repairs=1)
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["def f"]}
    last: list = []
    h.model.on_request = lambda schema, body: last.append(body["messages"][-1]["content"])
    outcome, rows = h.run([Step("```python\ndef f(x):\n    return x * x * x\n```"),
                           Step("```python\ndef f_der(x):\n    return 3 * x * x\n```")],
                          change="Use the cube in f instead of the square")
    assert outcome.ok and outcome.shown and outcome.attempts == 2 and [r.category for r in rows] == [None, None]
    assert "The previous attempt ran, but def f_der still computes what it computed for the" in last[-1]
    assert "def f_der(x):\n    return 2 * x" in last[-1], "shown the pair as the attempt left it"
    code = (h.services.folder.path / "experiments" / "bigger_step" / "run_1" / "experiment.py").read_text()
    assert "return x * x * x" in code and "return 3 * x * x" in code, "the attempt's f kept, its f_der changed"
    entries = journal.read(h.services.folder.path / "experiments" / "bigger_step")
    assert [(e.move, e.part, e.parent) for e in entries] == [("change", None, "baseline"),
                                                             ("fix", "def f_der", "attempt 1")]


def test_when_nothing_better_executes_the_run_keeps_the_candidate_with_the_fewest_defects(harness):
    h = harness(fidelity_signals=True, max_repairs=1)
    outcome, rows = h.run([constants("STEP = 0.75"), constants("STEP = 1.0 / 0")], change="set STEP to 0.7")
    assert outcome.ok and not outcome.shown and outcome.attempts == 2
    assert [r.category for r in rows] == [None, Category.RUNTIME_ERROR]
    run = h.services.folder.path / "experiments" / "bigger_step" / "run_1"
    assert "STEP = 0.75" in (run / "experiment.py").read_text(), "the executed candidate is back in run_1/"
    assert outcome.means["toy"]["mean_value"] == pytest.approx(3.375)
    assert (run / "final_info.json").is_file() and not (run / "failure.txt").exists()


def test_a_defect_at_the_last_chance_ends_the_search(harness):
    h = harness(fidelity_signals=True, max_repairs=0)
    outcome, rows = h.run([constants("STEP = 0.75")], change="set STEP to 0.7")
    assert outcome.ok and not outcome.shown and len(rows) == 1


def test_clean_runs_are_gathered_until_two_agree_and_the_run_keeps_the_earliest_of_them(harness):
    """Consensus: a clean run does not end the search; a round whose candidates all ran clean is asked
    again with new samples of the same prompts; the first two runs whose results agree end it."""
    from scientist.experiments import journal

    h = harness(candidates=2, max_repairs=2, consensus=3)
    seeds: list = []
    prompts: list = []
    h.model.on_request = lambda schema, body: (seeds.append(body.get("seed")) if schema == "text" else None,
                                               prompts.append(body["messages"][1]["content"]))
    outcome, rows = h.run([constants("STEP = 1.0"), constants("STEP = 2.0"),
                           constants("STEP = 1.0  # the same value again")])
    assert outcome.ok and outcome.attempts == 3 and [r.category for r in rows] == [None, None, None]
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5)
    entries = journal.read(h.services.folder.path / "experiments" / "bigger_step")
    assert [(e.round, e.candidate, e.move, e.ok) for e in entries] == [(1, 1, "change", True), (1, 2, "change", True),
                                                                       (2, 1, "change", True)]
    assert prompts[0] == prompts[-1], "the repeated round asks the first round's prompt again"
    assert len(seeds) == 3 and len(set(seeds)) == 3, "with a new sample (seed) each time"
    folder = h.services.folder.path / "experiments" / "bigger_step"
    assert "STEP = 1.0\n" in (folder / "run_1" / "experiment.py").read_text(), "attempt 1 is back in run_1/"
    assert not (folder / "run_1" / "failure.txt").exists()
    assert "STEP = 2.0" in (folder / "attempts" / "run_1" / "attempt_2" / "experiment.py").read_text()


def test_when_no_clean_runs_agree_the_earliest_is_kept_and_a_later_failure_is_no_failure_after_repair(harness):
    h = harness(candidates=3, max_repairs=0, consensus=3)
    outcome, rows = h.run([constants("STEP = 1.0"), constants("STEP = 1.0 / 0"), constants("STEP = 2.0")])
    assert outcome.ok and outcome.attempts == 3
    assert [r.category for r in rows] == [None, Category.RUNTIME_ERROR, None]
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5), "no two agree: the earliest clean run"
    summary = summarise(h.services.failures.attempts())
    assert summary.after_repair.failures == 0, "a run that ran once has not failed after repair"


def test_a_clean_run_beats_an_executed_one_with_defects_at_the_last_chance(harness):
    h = harness(candidates=2, max_repairs=0, consensus=2, fidelity_signals=True)
    outcome, rows = h.run([constants("STEP = 0.7"), constants("STEP = 0.75")], change="set STEP to 0.7")
    assert outcome.ok and outcome.shown and outcome.means["toy"]["mean_value"] == pytest.approx(3.15)


def test_a_token_budget_stops_the_search_before_its_next_candidate(harness):
    h = harness(candidates=3, max_repairs=2)
    h.services.settings.run_budget_tokens = 1
    outcome, rows = h.run([constants("STEP = 1.0 / 0"), constants("STEP = 1.0")])
    assert not outcome.ok and len(rows) == 1, "the first candidate spent the budget; no other started"


def test_a_new_round_s_prompt_keeps_the_first_round_s_prefix_through_the_baseline_code(harness):
    """What changes between rounds (the failure, the other candidates) comes after the baseline code and
    the change, so llama.cpp serves the long shared prefix of a fresh start from its cache."""
    h = harness(max_repairs=1)
    prompts = user_prompts(h, with_schema=True)
    outcome, _ = h.run([constants("STEP = (1.0"), constants("STEP = 1.0")])
    assert outcome.ok
    first, fresh = [text for schema, text in prompts if schema == "PartChoice"][:2]
    code = (TOY / "experiment.py").read_text()
    shared = os.path.commonprefix([first, fresh])
    assert shared == first, "the fresh start's prompt is the first prompt with the failure after it"
    assert code.strip() in shared and "must make exactly this change" in shared
    assert "syntax_error" in fresh[len(shared):], "the failure is told after the shared prefix"


def test_a_fix_prompt_starts_with_the_same_prefix_as_the_change_prompt(harness):
    h = harness(max_repairs=1)
    prompts = user_prompts(h, with_schema=True)
    outcome, _ = h.run([constants("STEP = 1.0 / 0"), constants("STEP = 1.0")])
    assert outcome.ok
    first = next(text for schema, text in prompts if schema == "PartChoice")
    fix = prompts[-1][1]
    assert "Fix the mistake in constants of the previous attempt" in fix and "division by zero" in fix
    assert fix.startswith(first), "the fix is asked after the change prompt's whole text"
    assert "STEP = 1.0 / 0" in fix, "the failed part's text is shown"


def test_the_plan_and_the_planned_run_s_prompts_share_their_opening_through_the_baseline_code(harness):
    """llama.cpp's prompt cache serves the longest prefix a new prompt shares with an earlier one: the plan
    and the run's first prompt begin alike, so the baseline code is read once, not once per prompt."""
    from scientist.nodes.plan import plan_idea

    h = harness()
    requests = []
    h.model.on_request = lambda schema, body: requests.append((schema, body["messages"]))
    plan_idea(idea("bigger_step"), None, h.services)
    outcome, _ = h.run([constants("STEP = 1.0")])
    assert outcome.ok
    (_, plan), (_, first) = requests[0], next(r for r in requests if r[0] == "PartChoice")
    assert requests[0][0] == "ExperimentPlan"
    assert plan[0] == first[0], "one system message"
    shared = os.path.commonprefix([plan[1]["content"], first[1]["content"]])
    code = (TOY / "experiment.py").read_text()
    assert code.strip() in shared and "Its parts:" in shared, "the code and its outline are in the shared opening"


TOY_WITH_LONG_FUNCTION = (TOY / "experiment.py").read_text().replace(
    "values = [x * STEP for x in range(10)]\n",
    "\n\ndef make_values(step):\n    \"\"\"The values the toy averages.\"\"\"\n    values = []\n"
    "    for x in range(10):\n        value = x * step\n        values.append(value)\n"
    + "".join(f"    unused_{k} = {k}\n" for k in range(8)) + "    return values\n\n\nvalues = make_values(STEP)\n")


def choose_line(containing: str):
    """A scripted ``SpotChoice`` answer: the offered line whose text holds ``containing``."""
    def answer(body: dict) -> dict:
        offered = body["response_format"]["json_schema"]["schema"]["properties"]["line"]["enum"]
        return {"reasoning": "the values are kept there", "line": next(o for o in offered if containing in o)}
    return answer


def test_a_change_in_a_long_function_is_made_at_the_line_the_model_names_and_the_rest_is_kept(harness, tmp_path):
    h = harness(template=toy_with(tmp_path / "toy_long", TOY_WITH_LONG_FUNCTION), line_choice=True)
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["def make_values"]}
    h.model.overrides["SpotChoice"] = choose_line("values.append(value)")
    asked = []
    h.model.on_request = lambda schema, body: asked.append((schema, body["messages"][-1]["content"]))
    outcome, rows = h.run([Step("```python\nvalues.append(2 * value)\n```")],
                          change="Double each value before it is kept")
    assert outcome.ok and [r.category for r in rows] == [None]
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5)
    schema, where = asked[-2]
    assert schema == "SpotChoice" and "        values.append(value)\n" in where, "the function is shown"
    assert "takes the place of this line of def make_values" in asked[-1][1]
    assert "```python\nvalues.append(value)\n```" in asked[-1][1]
    code = (h.services.folder.path / "experiments" / "bigger_step" / "experiment.py").read_text()
    assert "        value = x * step\n        values.append(2 * value)\n    unused_0 = 0\n" in code


def test_the_second_candidate_writes_the_function_with_a_todo_at_the_line_the_model_names(harness, tmp_path):
    h = harness(template=toy_with(tmp_path / "toy_long", TOY_WITH_LONG_FUNCTION), line_choice=True, candidates=2,
                max_repairs=0)
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["def make_values"]}
    h.model.overrides["SpotChoice"] = choose_line("values.append(value)")
    asked = []
    h.model.on_request = lambda schema, body: asked.append((schema, body["messages"][-1]["content"]))
    whole = ("```python\ndef make_values(step):\n    values = []\n    for x in range(10):\n"
             "        values.append(2 * x * step)\n    return values\n```")
    outcome, rows = h.run([Step("```python\nvalues.append(2 * undefined_factor * value)\n```"), Step(whole)],
                          change="Double each value before it is kept")
    assert outcome.ok and [r.category for r in rows] == [Category.RUNTIME_ERROR, None]
    assert "undefined_factor" in rows[0].message
    todo = [text for schema, text in asked if schema == "text"][-1]
    assert ("        value = x * step\n        # TODO: Double each value before it is kept\n"
            "        values.append(value)\n") in todo
    assert "TODO line where the change usually goes" in todo


def test_a_run_killed_by_the_memory_limit_is_rerun_capped_to_find_the_line_and_fixed_there(harness, tmp_path):
    h = harness(template=toy_with(tmp_path / "toy_functions", TOY_WITH_FUNCTIONS), max_repairs=1)
    h.services.template.manifest.limits.memory_mb = 256
    h.model.overrides["PartChoice"] = lambda body: {"reasoning": "r", "parts": ["def make_values"]}
    asked = []
    h.model.on_request = lambda schema, body: asked.append(body["messages"][-1]["content"])
    grows = ("```python\ndef make_values(step):\n    factor = 2.0\n    rows = [[step] * 1000000 for _ in range(200)]\n"
             "    return [scale(x) * step * factor for x in range(10)]\n```")
    fixed = ("```python\ndef make_values(step):\n    factor = 2.0\n"
             "    return [scale(x) * step * factor for x in range(10)]\n```")
    outcome, rows = h.run([Step(grows), Step(fixed)], change="Double each value before averaging")
    assert outcome.ok and [r.category for r in rows] == [Category.OUT_OF_MEMORY, None]
    assert "in a rerun with its memory capped, line " in rows[0].message and "MemoryError" in rows[0].message
    fix = asked[-1]
    assert "Fix the mistake in def make_values of the previous attempt" in fix
    assert "rows = [[step] * 1000000" in fix.split("Where:")[1].splitlines()[0]


SCALED_TOO = Step("```python\ndef scale(x):\n    return x * 1.5\n\n\ndef make_values(step):\n    factor = 2.0\n"
                  "    return [scale(x) * step * factor for x in range(10)]\n```")
SCALE_NEEDED = Step("```python\ndef scale(x, by=1.0):\n    return x * by\n\n\ndef make_values(step):\n"
                    "    factor = 2.0\n    return [scale(x, factor) * step for x in range(10)]\n```")


def test_a_clean_run_that_also_changed_a_function_its_change_does_not_name_is_kept_without_that_edit(harness,
                                                                                                     tmp_path):
    from scientist.experiments import journal

    h, _ = rewriting_make_values(harness, tmp_path)
    outcome, rows = h.run([SCALED_TOO], change="Double each value in make_values before averaging")
    assert outcome.ok and outcome.attempts == 2 and [r.category for r in rows] == [None, None]
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5), "doubled, and not scaled by 1.5 as well"
    folder = h.services.folder.path / "experiments" / "bigger_step"
    code = (folder / "run_1" / "experiment.py").read_text()
    assert "def scale(x):\n    return x\n" in code and "scale(x) * step * factor" in code
    entries = journal.read(folder)
    assert [(e.attempt, e.move, e.parent, e.part, e.ok) for e in entries][1] == (2, "narrow", "attempt 1", "def scale",
                                                                                 True)
    assert "x * 1.5" in (folder / "attempts" / "run_1" / "attempt_1" / "experiment.py").read_text()
    assert not (folder / "attempts" / "run_1" / "attempt_1" / "failure.txt").exists()


def test_a_narrowed_run_that_fails_leaves_the_clean_run_as_it_was(harness, tmp_path):
    h, _ = rewriting_make_values(harness, tmp_path)
    outcome, rows = h.run([SCALE_NEEDED], change="Double each value in make_values before averaging")
    assert outcome.ok and outcome.attempts == 2 and rows[0].category is None and rows[1].category is not None
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5)
    folder = h.services.folder.path / "experiments" / "bigger_step"
    assert "def scale(x, by=1.0)" in (folder / "run_1" / "experiment.py").read_text()
    assert (folder / "run_1" / "final_info.json").is_file()
    assert summarise(h.services.failures.attempts()).after_repair.failures == 0


def test_narrowing_is_a_setting(harness, tmp_path):
    h, _ = rewriting_make_values(harness, tmp_path)
    h.services.settings.narrow_edits = False
    outcome, rows = h.run([SCALED_TOO], change="Double each value in make_values before averaging")
    assert outcome.ok and outcome.attempts == 1 and outcome.means["toy"]["mean_value"] == pytest.approx(6.75)


def test_a_clean_run_whose_only_effect_is_outside_the_function_its_change_names_is_searched_on(harness, tmp_path):
    h, _ = rewriting_make_values(harness, tmp_path)
    elsewhere = Step("```python\ndef scale(x):\n    return x * 2.0\n\n\ndef make_values(step):\n"
                     "    factor = 2.0  # the factor\n    return [scale(x) * step for x in range(10)]\n```")
    outcome, rows = h.run([elsewhere, DOUBLED_VALUES], change="Double each value in make_values before averaging")
    assert outcome.ok and outcome.means["toy"]["mean_value"] == pytest.approx(4.5)
    folder = h.services.folder.path / "experiments" / "bigger_step"
    first = folder / "attempts" / "run_1" / "attempt_1"
    assert "comes only from its edits of def scale" in (first / "failure.txt").read_text()
    assert rows[1].category is Category.NO_EFFECTIVE_CHANGE and outcome.attempts >= 3
    assert "def scale(x):\n    return x\n" in (folder / "run_1" / "experiment.py").read_text()


def test_a_narrowed_run_whose_changed_function_computes_what_the_baseline_does_is_the_baseline(harness, tmp_path):
    # Its results differ (x = 5 is never among the compared calls 1, 2, 4, 8 of scale), but the rerun finds
    # scale computing what the baseline's does: the clean run's effect is its edit of make_values.
    h, _ = rewriting_make_values(harness, tmp_path)
    h.services.settings.fidelity_signals = True
    only_at_five = Step("```python\ndef scale(x):\n    return 3 * x if x == 5 else x\n\n\ndef make_values(step):\n"
                        "    factor = 2.0\n    return [scale(x) * step * factor for x in range(10)]\n```")
    outcome, rows = h.run([only_at_five, DOUBLED_VALUES], change="Triple the values in scale before averaging")
    folder = h.services.folder.path / "experiments" / "bigger_step"
    first = folder / "attempts" / "run_1" / "attempt_1"
    assert "comes only from its edits of def make_values" in (first / "failure.txt").read_text()
    assert rows[1].category is None, "the narrowed run executed; its signals, not its results, say it is the baseline"
    assert outcome.ok and outcome.attempts >= 3
    assert outcome.means["toy"]["mean_value"] == pytest.approx(4.5), "the next candidate's run (doubled) is kept"
