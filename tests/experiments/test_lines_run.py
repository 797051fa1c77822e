"""Which of an edit's new lines ran, from a real rerun in the sandbox."""

from __future__ import annotations

import pytest

from scientist.experiments.reruns.lines import (
    Rerun,
    assigned_names,
    changed_functions,
    describe_not_run,
    lines_not_run,
    new_statement_lines,
    twins,
    updates,
)
from scientist.sandbox.base import Limits

BASELINE = '''import argparse
import json
import os

RATE = 0.1


def optimise(x, steps=20):
    for t in range(1, steps + 1):
        x = x - RATE * 2 * x
    return x


parser = argparse.ArgumentParser()
parser.add_argument("--out_dir")
out_dir = parser.parse_args().out_dir
os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, "final_info.json"), "w") as fh:
    json.dump({"x": optimise(1.0)}, fh)
'''
# The 1.5B model's cosine decay: a condition true at no step, so the results were the baseline's.
NEVER = BASELINE.replace("        x = x - RATE * 2 * x\n",
                         "        rate = RATE\n        if t > 0 and t % 20 / 10 == 3:\n            rate *= 0.99\n"
                         "        x = x - rate * 2 * x\n")


def test_the_new_statement_lines_are_those_the_edit_added_or_changed():
    assert new_statement_lines(BASELINE, NEVER) == [10, 11, 12, 13]
    assert new_statement_lines(BASELINE, BASELINE.replace("RATE = 0.1", "RATE = 0.2")) == [5]
    assert new_statement_lines(BASELINE, BASELINE + "\n# a comment\n") == []
    # The 1.5B model's small-data change rewrote only the second line of a two-line call.
    split = BASELINE.replace('json.dump({"x": optimise(1.0)}, fh)', 'json.dump(\n        {"x": optimise(1.0)}, fh)')
    assert new_statement_lines(split, split.replace("optimise(1.0)}", "optimise(2.0)}")) == [19]
    assert new_statement_lines(BASELINE, NEVER.replace("if t > 0", "if (t > 0").replace("== 3:", "== 3\n                and t > 1):")) == [10, 11, 13, 14]


def test_an_edited_docstring_is_no_new_line_to_run():
    # a docstring compiles to nothing, so a line trace never sees it: it must not count as a line that never ran
    documented = BASELINE.replace("def optimise(x, steps=20):\n", "def optimise(x, steps=20):\n    \"\"\"Descend.\"\"\"\n")
    edited = documented.replace("Descend.", "Descend with a\n    smaller rate.").replace("RATE * 2", "RATE * 3")
    assert new_statement_lines(documented, edited) == [12]
    assert new_statement_lines(documented, documented.replace("def optimise(x, steps=20):\n",
                                                              "def optimise(x, steps=20):\n    global RATE\n")) == []


@pytest.mark.needs_bwrap
def test_a_rerun_names_the_new_lines_that_never_ran(tmp_path):
    from scientist.sandbox.bwrap import BwrapSandbox

    (tmp_path / "experiment.py").write_text(NEVER)
    rerun = lines_not_run(BwrapSandbox(), tmp_path, BASELINE, NEVER, Limits(timeout_s=60, memory_mb=1024))
    assert rerun is not None and rerun.missed == [12]
    assert describe_not_run(NEVER, rerun) == ("line 12 of your change never ran (12: rate *= 0.99): the condition, "
                                               "loop or call that should reach it never does")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.py"], "no scratch output left behind"
    reached = NEVER.replace("t % 20 / 10 == 3", "t % 10 == 0")
    (tmp_path / "experiment.py").write_text(reached)
    rerun = lines_not_run(BwrapSandbox(), tmp_path, BASELINE, reached, Limits(timeout_s=60, memory_mb=1024))
    assert rerun == Rerun(missed=[], kept=[], constants={"rate": "0.1"}) or rerun.missed == [] and not rerun.kept
    assert describe_not_run(reached, rerun).startswith("every line you changed ran, yet the results are the same")
    split = BASELINE.replace('json.dump({"x": optimise(1.0)}, fh)', 'json.dump(\n        {"x": optimise(1.0)}, fh)')
    second_line = split.replace("optimise(1.0)}", "optimise(2.0)}")
    (tmp_path / "experiment.py").write_text(second_line)
    assert lines_not_run(BwrapSandbox(), tmp_path, split, second_line, Limits(timeout_s=60, memory_mb=1024)).missed == [], \
        "a changed second line of a call that ran"
    crashes = NEVER.replace("    return x\n", "    return x / 0\n")
    (tmp_path / "experiment.py").write_text(crashes)
    assert lines_not_run(BwrapSandbox(), tmp_path, BASELINE, crashes, Limits(timeout_s=60, memory_mb=1024)).missed == [12], \
        "a script that raises still reports the lines it reached"


# The 1.5B model's "diagonal preconditioner", four attempts running: g_pre is exactly 1, so every new line
# ran and g never changed.
ONE = "        g = 2 * x\n        g_pre = np.dot(g, g) / np.dot(g, np.dot(np.identity(1), g))\n        g = g_pre * g\n"
NO_OP = BASELINE.replace("import os\n", "import os\n\nimport numpy as np\n").replace(
    "        x = x - RATE * 2 * x\n", ONE + "        x = x - RATE * g\n").replace(
    'json.dump({"x": optimise(1.0)}, fh)', 'json.dump({"x": float(optimise(np.array([1.0]))[0])}, fh)')


def test_the_watched_lines_are_the_new_assignments_and_updates_are_those_that_read_their_own_name():
    lines = new_statement_lines(BASELINE, NO_OP)
    assert assigned_names(NO_OP, lines) == {12: ["g"], 13: ["g_pre"], 14: ["g"], 15: ["x"]}
    assert updates(NO_OP, 14, "g") and not updates(NO_OP, 13, "g_pre") and not updates(NO_OP, 12, "g")
    assert updates("x = 1\nx *= 2\n", 2, "x")


@pytest.mark.needs_bwrap
def test_a_rerun_names_a_new_update_that_never_changed_its_name_and_the_constant_it_read(tmp_path):
    from scientist.sandbox.bwrap import BwrapSandbox

    (tmp_path / "experiment.py").write_text(NO_OP)
    rerun = lines_not_run(BwrapSandbox(), tmp_path, BASELINE, NO_OP, Limits(timeout_s=60, memory_mb=1024))
    assert rerun is not None and rerun.missed == [] and rerun.kept == [(14, "g")]
    assert rerun.constants["g_pre"] == "1.0"
    assert describe_not_run(NO_OP, rerun) == (
        "every line you changed ran, yet the results are the same: line 14 (g = g_pre * g) left g as it was every "
        "time it ran (g_pre was 1.0 every time): the new computation leaves the values as they were; compute "
        "what the change asks for")
    scaled = NO_OP.replace("g = g_pre * g", "g = 0.5 * g_pre * g")
    (tmp_path / "experiment.py").write_text(scaled)
    rerun = lines_not_run(BwrapSandbox(), tmp_path, BASELINE, scaled, Limits(timeout_s=60, memory_mb=1024))
    assert rerun is not None and rerun.missed == [] and rerun.kept == [], "an update that changes g is not named"


def test_the_twins_are_the_changed_functions_with_their_baseline_text():
    found = twins(BASELINE, NEVER)
    assert list(found) == ["optimise"] and found["optimise"]["line"] == 8
    source = found["optimise"]["source"]
    assert source.startswith("def optimise(x, steps=20):") and "rate" not in source
    documented = BASELINE.replace("def optimise(x, steps=20):\n",
                                  "def optimise(x, steps=20):\n    \"\"\"Descend.\"\"\"\n")
    assert twins(BASELINE, documented) == {}, "a docstring computes nothing"
    assert twins(BASELINE, BASELINE.replace("RATE = 0.1", "RATE = 0.2")) == {}, "no function changed"
    declares = NEVER.replace("        rate = RATE\n", "        global RATE\n        rate = RATE\n")
    assert twins(BASELINE, declares) == {}, "a function that declares a global is not compared by what it returns"


def test_the_changed_functions_are_known_only_when_nothing_else_changed():
    assert changed_functions(BASELINE, NEVER) == {"optimise"}
    assert changed_functions(BASELINE, NEVER.replace("RATE = 0.1", "RATE = 0.2")) is None, "a setting changed too"
    documented = BASELINE.replace("def optimise(x, steps=20):\n",
                                  "def optimise(x, steps=20):\n    \"\"\"Descend.\"\"\"\n")
    assert changed_functions(BASELINE, documented) == set()


# A function rewritten so that it computes what it did: the 1.5B model's "momentum in accuracy" and
# "shifted images" runs were rewrites of this kind, with comments naming the method.
SAME = BASELINE.replace("        x = x - RATE * 2 * x\n", "        # heavy-ball momentum\n        step = 2 * RATE * x\n"
                        "        x = x - step\n")
# A change that matters only late in the run: compared at calls 1, 2, 4, ..., it differs at the 16th.
LATE = BASELINE.replace("def optimise(x, steps=20):\n    for t in range(1, steps + 1):\n        x = x - RATE * 2 * x\n"
                        "    return x\n",
                        "def rate_at(t):\n    return RATE\n\n\ndef optimise(x, steps=20):\n"
                        "    for t in range(1, steps + 1):\n        x = x - rate_at(t) * 2 * x\n    return x\n")


@pytest.mark.needs_bwrap
def test_a_rerun_names_a_changed_function_that_computes_what_the_baseline_did(tmp_path):
    from scientist.sandbox.bwrap import BwrapSandbox

    limits = Limits(timeout_s=60, memory_mb=1024)
    (tmp_path / "experiment.py").write_text(SAME)
    rerun = lines_not_run(BwrapSandbox(), tmp_path, BASELINE, SAME, limits)
    assert rerun is not None and rerun.missed == [] and rerun.same == [("optimise", 1)]
    assert describe_not_run(SAME, rerun) == (
        "every line you changed ran, yet the results are the same: optimise returned, and left in its arguments, "
        "what the baseline's optimise does at the one call compared: the new code computes nothing new; compute "
        "what the change asks for")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.py"], "no twins file left behind"
    changed = SAME.replace("step = 2 * RATE * x", "step = 3 * RATE * x")
    (tmp_path / "experiment.py").write_text(changed)
    assert lines_not_run(BwrapSandbox(), tmp_path, BASELINE, changed, limits).same == []
    late = LATE.replace("    return RATE\n", "    return RATE / 2 if t > 12 else RATE\n")
    (tmp_path / "experiment.py").write_text(late)
    assert lines_not_run(BwrapSandbox(), tmp_path, LATE, late, limits).same == [], "the 16th call differs"
    early = LATE.replace("    return RATE\n", "    return RATE / 2 if t > 30 else RATE\n")
    (tmp_path / "experiment.py").write_text(early)
    assert lines_not_run(BwrapSandbox(), tmp_path, LATE, early, limits).same == [("rate_at", 5)], \
        "calls 1, 2, 4, 8 and 16 of 20 compared, none differed"


@pytest.mark.needs_bwrap
def test_a_rerun_reports_what_it_saw_by_its_deadline_and_then_says_nothing_of_lines_not_reached(tmp_path):
    from scientist.sandbox.bwrap import BwrapSandbox

    slow = BASELINE.replace("import os\n", "import os\nimport time\n").replace(
        "    return x\n", "    time.sleep(30)\n    y = x * 2\n    return y\n")
    (tmp_path / "experiment.py").write_text(slow)
    rerun = lines_not_run(BwrapSandbox(), tmp_path, BASELINE, slow, Limits(timeout_s=5, memory_mb=1024))
    assert rerun is not None and rerun.complete is False
    assert rerun.missed == [], "lines after the deadline may yet run: none is said never to"


# A model whose gradient comes from autograd: the forward pass is called with traced values (boxes).
TRACED = '''import argparse
import json
import os

import autograd.numpy as np
from autograd import grad


def forward(w, x):
    return np.maximum(x * w, 0.0)


def loss(w, x):
    return np.sum(forward(w, x) ** 2)


w = np.ones(3)
for _ in range(4):
    w = w - 0.1 * grad(loss)(w, np.arange(3.0))
parser = argparse.ArgumentParser()
parser.add_argument("--out_dir")
out_dir = parser.parse_args().out_dir
os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, "final_info.json"), "w") as fh:
    json.dump({"w": float(np.sum(w))}, fh)
'''


@pytest.mark.needs_bwrap
def test_a_function_called_inside_automatic_differentiation_is_compared_by_its_values(tmp_path):
    from scientist.sandbox.bwrap import BwrapSandbox

    limits = Limits(timeout_s=60, memory_mb=1024)
    same = TRACED.replace("np.maximum(x * w, 0.0)", "np.maximum(x * w, 0.0) * 1.0")
    (tmp_path / "experiment.py").write_text(same)
    rerun = lines_not_run(BwrapSandbox(), tmp_path, TRACED, same, limits)
    assert rerun is not None and rerun.same == [("forward", 3)], "traced calls are compared, not taken as changed"
    changed = TRACED.replace("np.maximum(x * w, 0.0)", "np.tanh(x * w)")
    (tmp_path / "experiment.py").write_text(changed)
    assert lines_not_run(BwrapSandbox(), tmp_path, TRACED, changed, limits).same == []
