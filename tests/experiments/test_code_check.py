"""Names checked before a run: undefined names (static), library names (resolved in the real sandbox)."""

from __future__ import annotations

import pytest

from scientist.experiments.checks.names import (
    inert_edit,
    library_references,
    missing_library_names,
    read_before_bound,
    undefined_names,
    unread_new_locals,
    unselected_branches,
    unused_additions,
)
from scientist.sandbox.base import Limits

CODE = '''import json
import numpy as np
from os import path as ospath

RATE = 0.1


class Box:
    size = RATE
    other = size * 2


def helper(values):
    global COUNTER
    COUNTER = len(values)
    squares = [v * v for v in values]
    return sum(squares) * RATE


def main():
    print(json.dumps(helper(SEEDS)), ospath.sep, np.linalg.norm([1.0]), COUNTER, missing_helper(), __file__)


if __name__ == "__main__":
    main()
'''


def test_names_that_nothing_defines_are_found_with_their_line():
    problems = undefined_names(CODE)
    assert [(p.exception_type, p.message, p.line) for p in problems] == [
        ("NameError", "name 'SEEDS' is not defined", 21),
        ("NameError", "name 'missing_helper' is not defined (nothing in the file defines the function missing_helper: "
                      "write its def in the same code block, above the function that calls it, or compute its result "
                      "in place)", 21)]
    assert problems[0].describe(CODE).endswith("(line 21: print(json.dumps(helper(SEEDS)), ospath.sep, "
                                               "np.linalg.norm([1.0]), COUNTER, missing_helper(), __file__))")
    fixed = CODE.replace("SEEDS", "[1, 2]").replace("missing_helper()", "0")
    assert undefined_names(fixed) == [], "builtins, locals, comprehensions, globals and class names are defined"
    assert undefined_names("from math import *\nprint(pi)\n") == [], "a star import cannot be judged"
    elsewhere = "def a():\n    for t in range(3):\n        pass\n\n\ndef b():\n    return t\n"
    assert [p.line for p in undefined_names(elsewhere)] == [7], "the line that reads it, not a loop elsewhere"
    read_elsewhere = "def a():\n    for t in range(3):\n        print(t)\n\n\nprint([t for t in 'ab'], t)\n"
    assert [p.line for p in undefined_names(read_elsewhere)] == [6], "not where another scope reads its own t"


def test_library_references_follow_module_aliases_only():
    refs = {(r["module"], tuple(r["attrs"]), r["kind"]) for r in library_references(CODE)}
    assert ("numpy", ("linalg", "norm"), "attribute") in refs and ("os", ("path",), "from") in refs
    assert ("json", ("dumps",), "attribute") in refs
    rebound = "import numpy as np\n\ndef f(np):\n    return np.nothing\n"
    assert {tuple(r["attrs"]) for r in library_references(rebound)} == {()}, "a parameter named np is not numpy"


def test_added_names_nothing_reads_are_listed():
    before = "import json\nRATE = 1\n\ndef f():\n    return RATE\n"
    after = "import json\nimport math\nRATE = 1\nsigma = 0.1\n\ndef noisy():\n    return 1\n\ndef f():\n    return RATE\n"
    assert unused_additions(before, after) == ["math", "noisy", "sigma"]
    assert unused_additions(before, after.replace("return RATE", "return RATE * sigma * noisy() * math.pi")) == []


def test_a_comprehension_variable_does_not_read_a_module_constant():
    before = "def f(xs):\n    return {k: v for k, v in xs}\n"
    after = "K = 4\nk = 4\n" + before
    assert unused_additions(before, after) == ["K", "k"]
    assert inert_edit(before, after) == ["K", "k"]


def test_an_edit_is_inert_when_it_only_adds_unread_names_or_changes_comments():
    before = '"""Doc."""\nRATE = 0.1\n\n\ndef f():\n    """What f does."""\n    return RATE\n'
    assert inert_edit(before, before.replace("What f does", "Another text") + "# note\n") == []
    assert inert_edit(before, before.replace("RATE = 0.1", "RATE = 0.1\nimport math\nSIGMA = 2")) == ["SIGMA", "math"]
    assert inert_edit(before, before.replace("return RATE", "return RATE * 2")) is None
    assert inert_edit(before, before.replace("RATE = 0.1\n", "RATE = 0.1\nRATE = 0.1\n")) == [], "set to its own value"
    assert inert_edit(before, before.replace("RATE = 0.1\n", "RATE = 0.1\nRATE = 0.2\n")) is None
    assert inert_edit(before, before.replace("RATE = 0.1\n", "RATE = 0.1\nRATE = 0.2\nRATE = 0.1\n")) is None
    assert inert_edit(before, before.replace("RATE = 0.1", "RATE = 0.1\nSIGMA = 2").replace("return RATE",
                                                                                          "return RATE * SIGMA")) is None
    parsing = ('import argparse\n\n\ndef main():\n    parser = argparse.ArgumentParser()\n'
               '    parser.add_argument("--out_dir", type=str, default="run_0")\n'
               '    parser.add_argument("--seeds", type=int, default=3)\n    return parser.parse_args()\n')
    assert inert_edit(parsing, parsing.replace('default="run_0"', 'default="run_1"')) == [], \
        "every run passes --out_dir: its default never takes effect"
    assert inert_edit(parsing, parsing.replace("default=3", "default=5")) is None


def test_an_edit_writing_a_constants_value_where_its_name_was_is_inert():
    # The 1.5B model's small-data change wrote test_size=0.25 where the baseline read TEST_FRACTION (= 0.25).
    before = ('TEST_FRACTION = 0.25\nSIZES = (64,)\nSEEDS = [0, 1]\n\n\n'
              'def split(data):\n    return data[:int(len(data) * TEST_FRACTION)], SIZES, SEEDS\n')
    assert inert_edit(before, before.replace("* TEST_FRACTION)", "* 0.25)")) == []
    assert inert_edit(before, before.replace("], SIZES", "], (64,)")) == [], "a tuple"
    assert inert_edit(before, before.replace("* TEST_FRACTION)", "* 0.25)").replace("TEST_FRACTION = 0.25\n", "")) == [], \
        "the constant dropped too"
    assert inert_edit(before, before.replace("* TEST_FRACTION)", "* 0.5)")) is None, "another value"
    assert inert_edit(before, before.replace("TEST_FRACTION = 0.25", "TEST_FRACTION = 0.5")) is None
    assert inert_edit(before, before.replace(", SEEDS\n", ", [0, 1]\n")) is None, "a list is not inlined: it can be mutated"
    shadowed = before.replace("def split(data):\n", "def split(data, TEST_FRACTION=0.5):\n")
    assert inert_edit(shadowed, shadowed.replace("* TEST_FRACTION)", "* 0.25)")) is None, "a parameter of that name"


def test_new_local_values_nothing_reads_are_found():
    before = ("def train(x, rng):\n    targets = x * 2\n    return targets.sum()\n\n\n"
              "class M:\n    def fit(self, x):\n        return x\n")
    after = ("def train(x, rng):\n    noise = rng.normal(size=x.shape)\n    x_noisy = x + noise\n"
             "    targets = x * 2\n    smooth = 0.9 * targets\n    _, last = divmod(3, 2)\n    return last + smooth.sum()\n\n\n"
             "class M:\n    def fit(self, x):\n        scale = 2\n        return x\n")
    problems = unread_new_locals(before, after)
    assert [(p.message, p.line) for p in problems] == [("'x_noisy' is computed in train but nothing reads it", 3),
                                                       ("'scale' is computed in M.fit but nothing reads it", 12)]
    stopped = before.replace("return targets.sum()", "smooth = 0.9 * x\n    return smooth.sum()")
    assert unread_new_locals(before, stopped) == [], "targets, no longer read, was there before the edit"


def test_a_dead_value_is_all_the_edit_did_only_when_its_function_is_otherwise_the_baselines():
    from scientist.experiments.checks.names import dead_values_only, without_unread_locals

    before = "def train(x, rng):\n    targets = x * 2\n    return targets.sum()\n"
    noisy = before.replace("    targets", "    noise = rng.normal(size=x.shape)\n    x_noisy = x + noise\n    targets")
    assert without_unread_locals(before, noisy) == "def train(x, rng):\n    targets = x * 2\n    return targets.sum()"
    assert dead_values_only(before, noisy), "x_noisy, then the noise only it read: the baseline's train again"
    # The 1.5B model's restarts: an unread perturbed_trace in a step_budget that now restarts.
    restarts = noisy.replace("    targets = x * 2\n", "    targets = x * 2\n    for _ in range(4):\n        x = x + 1\n")
    assert not dead_values_only(before, restarts)
    new_function = before + "\n\ndef bigger(step):\n    doubled = 2 * step\n    return step\n"
    assert dead_values_only(before, new_function), "a new function's dead value is all it does"
    assert not dead_values_only(before, before)


def test_a_new_option_the_selector_constant_does_not_select_is_listed():
    before = ('OPTIMIZER = "adam"\n\ndef step(g):\n    if OPTIMIZER == "gd":\n        return g\n'
              '    return 2 * g\n')
    after = before.replace('    return 2 * g', '    elif OPTIMIZER in ("rmsprop", "adagrad"):\n        return g / 3\n'
                           '    return 2 * g')
    assert unselected_branches(before, after) == ["OPTIMIZER == 'adagrad' (OPTIMIZER is 'adam')",
                                                  "OPTIMIZER == 'rmsprop' (OPTIMIZER is 'adam')"]
    assert unselected_branches(before, after.replace('= "adam"', '= "rmsprop"')) == [
        "OPTIMIZER == 'adagrad' (OPTIMIZER is 'rmsprop')"]
    assert unselected_branches(before, before.replace('"gd"', '"sgd"')) == ["OPTIMIZER == 'sgd' (OPTIMIZER is 'adam')"]


@pytest.mark.needs_bwrap
def test_library_names_that_do_not_exist_are_found_in_the_sandbox(tmp_path):
    from scientist.sandbox.bwrap import BwrapSandbox

    code = ("import json\nimport numpy as np\nimport not_a_module_anywhere\nfrom json import dumps, nope\n"
            "x = np.linalg.sqrt(4.0) + np.linalg.norm([1.0]) + np.random.default_rng(0).normal()\n")
    problems = missing_library_names(code, BwrapSandbox(), tmp_path, Limits(timeout_s=60, memory_mb=1024))
    assert [(p.exception_type, p.message, p.line) for p in problems] == [
        ("ModuleNotFoundError", "No module named 'not_a_module_anywhere'", 3),
        ("ImportError", "cannot import name 'nope' from 'json'", 4),
        ("AttributeError", "module 'numpy.linalg' has no attribute 'sqrt'", 5)]
    assert missing_library_names(code.replace("sqrt", "norm").replace(", nope", "").replace(
        "import not_a_module_anywhere\n", ""), BwrapSandbox(), tmp_path, Limits(timeout_s=60)) == []
    assert list(tmp_path.iterdir()) == [], "the check leaves nothing in the work directory"


def test_names_read_before_they_are_bound_are_found():
    code = ("import numpy as np\nRATE = 0.01 * BASE\nBASE = 1.0\n\n\n"
            "def optimise(x):\n    for t in range(10):\n        RATE = RATE * 0.5\n        total += t\n    return x\n")
    problems = [(p.exception_type, p.line, p.message.split(" (")[0]) for p in read_before_bound(code)]
    assert problems == [("NameError", 2, "name 'BASE' is not defined yet where it is read"),
                        ("UnboundLocalError", 8, "cannot access local variable 'RATE' where it is not associated with a value"),
                        ("UnboundLocalError", 9, "cannot access local variable 'total' where it is not associated with a value")]
    whys = [p.message.split(" (", 1)[1] for p in read_before_bound(code)[1:]]
    assert whys[0].startswith("optimise assigns RATE, so RATE is local to all of optimise; give the new value another name")
    assert whys[1].startswith("this line gives total its first value in optimise, so it cannot read total yet")
    # The 1.5B model's label smoothing: targets = np.eye(10)[y] + eps * np.random.rand(*targets.shape)
    later = "def f(y):\n    n = size + 1\n    size = len(y)\n    return n\n"
    (problem,) = read_before_bound(later)
    assert ("f gives size its first value at line 3, after this line: read it after that line, or start from "
            "what f is given (y)") in problem.message
    fine = '''import numpy as np
RATE = 0.1


class Box:
    size = RATE

    @property
    def shape(self):
        return self.size

    @shape.setter
    def shape(self, value):
        self.size = value


def optimise(x, *args, **kw):
    rate = RATE * 0.5
    for t in range(10):
        if t == 0:
            best = x
        else:
            best = min(best, x)
    try:
        probe = UNDEFINED_ON_PURPOSE
    except NameError:
        probe = None
    while (chunk := len(args)) > 5:
        break
    late = lambda: later
    later = 2
    match kw:
        case {"a": found}:
            best = found
    return rate, best, probe, chunk, late, [i for i in args], {k: v for k, v in kw.items()}
'''
    assert read_before_bound(fine) == []


def test_an_undefined_name_that_is_another_functions_local_says_so():
    source = "def grad(x):\n    return x * t\n\n\ndef optimise(x):\n    for t in range(3):\n        x = grad(x)\n    return x\n"
    [problem] = undefined_names(source)
    assert problem.line == 2 and problem.message == (
        "name 't' is not defined (it is a local of optimise only: make this change inside that function, "
        "or pass t in as an argument)")


def test_a_new_import_hidden_by_a_local_of_the_same_name_is_found():
    from scientist.experiments.checks.names import shadowed_imports

    before = ("import numpy as np\n\n\ndef optimise(g):\n    norm = np.linalg.norm(g)\n    if norm > 1:\n"
              "        g = g / norm\n    return g\n")
    after = before.replace("import numpy as np\n", "import numpy as np\nfrom scipy.stats import norm\n").replace(
        "    return g\n", "    return g + norm.rvs(0, 0.1, size=g.shape)\n")
    problems = shadowed_imports(before, after)
    assert [(p.exception_type, p.line) for p in problems] == [("AttributeError", 9)]
    assert problems[0].message.startswith("norm is imported at line 2, but optimise has its own local norm")
    assert shadowed_imports(before, after.replace("from scipy.stats import norm", "from scipy.stats import norm as normal")
                            .replace("norm.rvs", "normal.rvs")) == []
    reached = after + "\n\nNOISE = norm.rvs(0, 1)\n"
    assert shadowed_imports(before, reached) == [], "read at module level too: the import is in use"


def test_a_value_a_loop_replaces_before_reading_it_is_found():
    from scientist.experiments.checks.names import overwritten_before_read

    before = ("def optimise(grad, x):\n    for t in range(10):\n        g = grad(x)\n        x = x - 0.1 * g\n"
              "    return x\n")
    # The 1.5B model's gradient noise: added to g after the update that read it.
    late = before.replace("        x = x - 0.1 * g\n", "        x = x - 0.1 * g\n        g += 0.01 * t\n")
    assert overwritten_before_read(late, {5}) == [
        "line 5 changes g after the loop's last use of it (line 4: x = x - 0.1 * g), and the next pass replaces it "
        "(line 3: g = grad(x)) before anything reads it: change g before line 4"]
    assert overwritten_before_read(late, set()) == [], "only the edit's new lines"
    early = before.replace("        x = x - 0.1 * g\n", "        g += 0.01 * t\n        x = x - 0.1 * g\n")
    assert overwritten_before_read(early, {4}) == []
    kept = late.replace("    return x\n", "    return x, g\n")
    assert overwritten_before_read(kept, {5}) == [], "read after the loop"
    carried = late.replace("        g = grad(x)\n", "        g = grad(x) + g\n").replace("def optimise(grad, x):\n",
                                                                              "def optimise(grad, x):\n    g = 0\n")
    assert overwritten_before_read(carried, {6}) == [], "the next pass reads it"
