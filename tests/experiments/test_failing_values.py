"""The values a failing line read, from a real rerun in the sandbox."""

from __future__ import annotations

import pytest

from scientist.experiments.reruns.values import failing_values
from scientist.sandbox.base import Limits

pytestmark = pytest.mark.needs_bwrap

SCRIPT = '''import argparse
import numpy as np

EPSILON = 0.1


def loss(params, x, y):
    probs = np.tanh(x @ params["w"])
    return float(np.mean((1 - EPSILON) * y - probs))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir")
    out_dir = parser.parse_args().out_dir
    rng = np.random.default_rng(0)
    print(out_dir, loss({"w": rng.normal(size=(4, 10))}, np.ones((6, 4)), np.arange(6)))
'''


def rerun(tmp_path, script: str):
    from scientist.sandbox.bwrap import BwrapSandbox

    (tmp_path / "experiment.py").write_text(script)
    return failing_values(BwrapSandbox(), tmp_path, ["experiment.py", "--out_dir", "run_1"],
                          Limits(timeout_s=60, memory_mb=1024), first_wall_s=1.0)


def test_the_failing_statement_values_are_described_with_shapes(tmp_path):
    found = rerun(tmp_path, SCRIPT)
    assert found is not None and found.line == 9
    assert found.values == {"1 - EPSILON": "0.9", "EPSILON": "0.1", "(1 - EPSILON) * y": "ndarray float64 shape (6,)",
                            "y": "ndarray int64 shape (6,)", "(1 - EPSILON) * y - probs": "(raises ValueError)",
                            "probs": "ndarray float64 shape (6, 10)"}, "operands too, and only the innermost raise"
    assert found.describe().startswith("(1 - EPSILON) * y - probs = (raises ValueError); (1 - EPSILON) * y = "
                                       "ndarray float64 shape (6,); 1 - EPSILON = 0.9"), "outer expressions first"
    assert "; probs = ndarray float64 shape (6, 10) ((1 - EPSILON) * y has shape (6,) where probs has shape " \
           "(6, 10): (1 - EPSILON) * y must have shape (6, 10) too) | in the main block" in found.describe()


def test_subscripts_and_loop_headers_are_read_but_not_loop_bodies(tmp_path):
    script = SCRIPT.replace('    probs = np.tanh(x @ params["w"])\n',
                            '    for row in x @ params["v"]:\n        probs = row\n')
    found = rerun(tmp_path, script)
    assert found is not None and found.line == 8
    assert found.values == {"params['v']": "(raises KeyError)", "x": "ndarray float64 shape (6, 4)",
                            "params": "dict with keys ['w']"}


def test_operands_that_call_the_scripts_own_functions_are_not_run_again(tmp_path):
    script = SCRIPT.replace("    return float(np.mean((1 - EPSILON) * y - probs))",
                            "    return float(np.mean(helper(y) - probs))\n\n\ndef helper(v):\n    return v")
    found = rerun(tmp_path, script)
    assert found is not None and "helper(y)" not in found.values and "probs" in found.values


def test_a_script_that_does_not_fail_reports_nothing(tmp_path):
    assert rerun(tmp_path, SCRIPT.replace("* y -", "* y[:, None] -")) is None


def test_the_calls_that_led_to_the_failing_line_are_described_too(tmp_path):
    # The 1.5B model's input-noise fix passed all targets where the batch's were meant: the mistake is
    # in the caller's arguments, not in the line that raises.
    script = SCRIPT.replace("    print(out_dir, loss(", "    batch = np.arange(3)\n    targets = np.arange(6)\n"
                                                       "    print(out_dir, targets[batch], loss(")
    found = rerun(tmp_path, script)
    assert found is not None and found.line == 9
    ((function, line, values),) = found.callers
    assert (function, line) == ("<module>", 19)
    assert values["targets[batch]"] == "ndarray int64 shape (3,)" and values["np.ones((6, 4))"].endswith("(6, 4)")
    assert "loss({'w'" not in str(values), "the script's own function is not called again"
    assert " | in the main block, line 19, the call that led there: " in found.describe()


def test_a_numpy_scalar_is_described_by_its_value(tmp_path):
    # A scale of eta / (1 + np.sum(x)) ** 0.55 was invalid for a negative sum; "float64 shape ()" hid that.
    script = SCRIPT.replace("    return float(np.mean((1 - EPSILON) * y - probs))",
                            "    scale = np.sum(x) - 100\n    return np.random.normal(0, scale)")
    found = rerun(tmp_path, script)
    assert found is not None and found.values["scale"] == "-76.0 (float64)"


def test_the_same_line_in_the_baseline_shows_the_values_the_change_broke(tmp_path):
    # The 1.5B model's label smoothing returned one number per example: the loss line then read targets
    # of shape (6,) where the baseline's were (6, 10); the contrast says which value the change broke.
    from scientist.experiments.reruns.values import SCRATCH_DIR, with_baseline
    from scientist.sandbox.bwrap import BwrapSandbox

    baseline = SCRIPT.replace("np.arange(6)))", "np.eye(10)[np.arange(6)]))")
    found = rerun(tmp_path, SCRIPT)
    assert found is not None and found.baseline == {}
    both = with_baseline(found, BwrapSandbox(), tmp_path, SCRIPT, baseline, Limits(timeout_s=60, memory_mb=1024), 1.0)
    assert both.baseline == {"(1 - EPSILON) * y": "ndarray float64 shape (6, 10)", "y": "ndarray float64 shape (6, 10)",
                             "(1 - EPSILON) * y - probs": "ndarray float64 shape (6, 10)"}
    assert " | the same line in the baseline (which runs) read: (1 - EPSILON) * y - probs = ndarray float64 shape " \
           "(6, 10); (1 - EPSILON) * y = ndarray float64 shape (6, 10); y = ndarray" in both.describe()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.py"], "no baseline copy or scratch left behind"
    assert not (tmp_path / SCRATCH_DIR).exists()
    elsewhere = with_baseline(found, BwrapSandbox(), tmp_path, SCRIPT, baseline.replace("* y - probs", "* y + probs"),
                              Limits(timeout_s=60, memory_mb=1024), 1.0)
    assert elsewhere.returned_at.startswith("line 9 (return"), \
        "the failing line is not in the baseline: its function's return there instead"


def test_a_new_failing_line_is_shown_beside_what_the_baseline_function_returns(tmp_path):
    # The 1.5B model's label smoothing returned y * (1 - epsilon) + ... where the baseline returned
    # np.eye(10)[y]: the failing line is new, so the contrast is the baseline function's return.
    from scientist.experiments.reruns.values import with_baseline
    from scientist.sandbox.bwrap import BwrapSandbox

    baseline = SCRIPT.replace("(1 - EPSILON) * y - probs", "np.eye(10)[y] - probs")
    found = rerun(tmp_path, SCRIPT)
    assert found is not None
    both = with_baseline(found, BwrapSandbox(), tmp_path, SCRIPT, baseline, Limits(timeout_s=60, memory_mb=1024), 1.0)
    assert both.returned_at == "line 9 (return float(np.mean(np.eye(10)[y] - probs)))"
    assert both.baseline["np.eye(10)[y]"] == "ndarray float64 shape (6, 10)"
    assert " | what this function returns in the baseline (which runs), line 9 (return float(np.mean(" in both.describe()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.py"]


def test_a_recursion_names_each_place_once(tmp_path):
    script = SCRIPT.replace("    probs = np.tanh(x @ params[\"w\"])\n",
                            "    probs = np.tanh(x @ params[\"w\"])\n    return loss(params, x, y) + 1\n")
    found = rerun(tmp_path, script)
    assert found is not None and found.error.startswith("RecursionError: maximum recursion depth exceeded")
    places = [(function, line) for function, line, _ in found.callers]
    assert len(places) == len(set(places)) and (found.line, "loss") not in [(ln, f) for f, ln in places]


def test_a_function_read_as_a_value_is_named_as_a_function(tmp_path):
    # The 1.5B model's gradient noise read grad.shape: grad is the gradient function, g the gradient.
    script = SCRIPT.replace("    probs = np.tanh(x @ params[\"w\"])\n",
                            "    probs = np.tanh(x @ params[\"w\"]) + np.zeros(loss.shape)\n")
    found = rerun(tmp_path, script)
    assert found is not None and found.values["loss"] == "the function loss"
    assert "np.zeros" not in found.values and "np.tanh" not in found.values, "what is called is not described"


def test_a_broadcasting_error_with_long_shapes_keeps_both_shapes_and_names_the_clash(tmp_path):
    # The label-smoothing run's error ran past 80 characters and lost its second shape, so the clash
    # was never named.
    found = rerun(tmp_path, SCRIPT.replace("np.ones((6, 4)), np.arange(6)", "np.ones((1347, 4)), np.arange(1347)"))
    assert found is not None and found.error.endswith("shapes (1347,) (1347,10) ")
    assert "((1 - EPSILON) * y has shape (1347,) where probs has shape (1347, 10): (1 - EPSILON) * y must have " \
           "shape (1347, 10) too)" in found.describe()
