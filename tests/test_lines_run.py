"""Which of an edit's new lines ran, from a real rerun in the sandbox."""

from __future__ import annotations

import pytest

from scientist.lines_run import describe_not_run, lines_not_run, new_statement_lines
from scientist.sandbox.base import Limits
from scientist.sandbox.probe import bwrap_status

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


@pytest.mark.skipif(not bwrap_status().ok, reason="bwrap sandbox unavailable")
def test_a_rerun_names_the_new_lines_that_never_ran(tmp_path):
    from scientist.sandbox.bwrap import BwrapSandbox

    (tmp_path / "experiment.py").write_text(NEVER)
    missed = lines_not_run(BwrapSandbox(), tmp_path, BASELINE, NEVER, Limits(timeout_s=60, memory_mb=1024))
    assert missed == [12]
    assert describe_not_run(NEVER, missed) == ("line 12 of your change never ran (12: rate *= 0.99): the condition, "
                                               "loop or call that should reach it never does")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.py"], "no scratch output left behind"
    reached = NEVER.replace("t % 20 / 10 == 3", "t % 10 == 0")
    (tmp_path / "experiment.py").write_text(reached)
    assert lines_not_run(BwrapSandbox(), tmp_path, BASELINE, reached, Limits(timeout_s=60, memory_mb=1024)) == []
    assert describe_not_run(reached, []).startswith("every line you changed ran, yet the results are the same")
    split = BASELINE.replace('json.dump({"x": optimise(1.0)}, fh)', 'json.dump(\n        {"x": optimise(1.0)}, fh)')
    second_line = split.replace("optimise(1.0)}", "optimise(2.0)}")
    (tmp_path / "experiment.py").write_text(second_line)
    assert lines_not_run(BwrapSandbox(), tmp_path, split, second_line, Limits(timeout_s=60, memory_mb=1024)) == [], \
        "a changed second line of a call that ran"
    crashes = NEVER.replace("    return x\n", "    return x / 0\n")
    (tmp_path / "experiment.py").write_text(crashes)
    assert lines_not_run(BwrapSandbox(), tmp_path, BASELINE, crashes, Limits(timeout_s=60, memory_mb=1024)) == [12], \
        "a script that raises still reports the lines it reached"
