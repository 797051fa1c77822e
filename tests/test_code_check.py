"""Names checked before a run: undefined names (static), library names (resolved in the real sandbox)."""

from __future__ import annotations

import pytest

from scientist.code_check import library_references, missing_library_names, undefined_names, unused_additions
from scientist.sandbox.base import Limits
from scientist.sandbox.probe import bwrap_status

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
        ("NameError", "name 'SEEDS' is not defined", 21), ("NameError", "name 'missing_helper' is not defined", 21)]
    assert problems[0].describe(CODE).endswith("(line 21: print(json.dumps(helper(SEEDS)), ospath.sep, "
                                               "np.linalg.norm([1.0]), COUNTER, missing_helper(), __file__))")
    fixed = CODE.replace("SEEDS", "[1, 2]").replace("missing_helper()", "0")
    assert undefined_names(fixed) == [], "builtins, locals, comprehensions, globals and class names are defined"
    assert undefined_names("from math import *\nprint(pi)\n") == [], "a star import cannot be judged"


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


@pytest.mark.skipif(not bwrap_status().ok, reason="bwrap sandbox unavailable")
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
