"""The baseline contrast of a crash: which baseline line the failing line is, and how its values differ."""

from __future__ import annotations

from scientist.experiments.reruns.values import baseline_line, baseline_return

BASELINE = """def a(x):
    y = x + 1
    return y


def b(x):
    y = x * 2
    return y
"""


def test_a_line_whose_text_is_in_the_baseline_twice_is_found_through_the_unchanged_stretch_around_it():
    edited = BASELINE.replace("    y = x * 2\n", "    z = x * 3\n    y = z * 2\n")
    # edited line 9 is b's `return y`; its text is also a's line 3
    assert edited.splitlines()[8] == "    return y"
    assert baseline_line(BASELINE, edited, 9) == 8
    assert baseline_line(BASELINE, edited, 3) == 3


def test_a_moved_line_is_found_by_its_text_when_the_baseline_has_it_once():
    edited = "import math\n\n\n" + BASELINE.replace("    y = x + 1\n", "") + "\n\ndef c(x):\n    y = x + 1\n    return y\n"
    line = edited.splitlines().index("    y = x + 1") + 1
    assert baseline_line(BASELINE, edited, line) == 2


def test_a_new_or_blank_line_has_no_baseline_line():
    edited = BASELINE.replace("    y = x * 2\n", "    y = x * 4\n")
    assert baseline_line(BASELINE, edited, 7) is None, "changed text"
    assert baseline_line(BASELINE, edited, 4) is None, "blank"
    assert baseline_line(BASELINE, edited, 99) is None, "past the end"


def test_a_shape_that_differs_along_one_axis_from_the_baselines_is_named():
    from scientist.experiments.reruns.values import FailingValues

    # The 1.5B model's quadratic readout joined the squared states along rows, not features.
    found = FailingValues(80, {"x": "ndarray float64 shape (10000, 300)", "y": "ndarray float64 shape (5000, 3)"},
                          baseline={"x": "ndarray float64 shape (5000, 300)"})
    assert found.describe().endswith("read: x = ndarray float64 shape (5000, 300) (x has 10000 along axis 0 where "
                                     "the baseline had 5000)")
    other_rank = FailingValues(9, {"y": "ndarray float64 shape (64,)"}, baseline={"y": "ndarray float64 shape (64, 10)"})
    assert other_rank.describe() == ("y = ndarray float64 shape (64,) | the same line in the baseline (which runs) "
                                     "read: y = ndarray float64 shape (64, 10)")


def test_a_new_line_is_contrasted_with_the_one_return_of_its_function_in_the_baseline():
    edited = BASELINE.replace("    y = x * 2\n    return y", "    return x[:, None] * 2")
    assert baseline_return(BASELINE, edited, 7) == 8, "b's return in the baseline"
    two_returns = BASELINE.replace("    y = x * 2\n", "    if x:\n        return 0\n    y = x * 2\n")
    assert baseline_return(two_returns, edited, 7) is None, "which return is meant is not known"
    assert baseline_return(BASELINE, "def c(x):\n    return x\n", 2) is None, "a new function"
    not_a_return = BASELINE.replace("    y = x * 2\n", "    y = x[:, None] * 2\n")
    assert baseline_return(BASELINE, not_a_return, 7) is None, "only a failing return is contrasted with the return"


def test_a_broadcast_between_ranks_names_the_operand_that_needs_the_larger_shape():
    from scientist.experiments.reruns.values import shape_clash

    values = {"epsilon * noise": "ndarray float64 shape (1347,)", "noise": "ndarray float64 shape (1347,)",
              "np.eye(10)[y]": "ndarray float64 shape (1347, 10)", "epsilon": "0.05"}
    error = "ValueError: operands could not be broadcast together with shapes (1347,) (1347,10) "
    assert shape_clash(values, error) == ("epsilon * noise has shape (1347,) where np.eye(10)[y] has shape "
                                          "(1347, 10): epsilon * noise must have shape (1347, 10) too")
    assert shape_clash(values, "ValueError: shapes (3,4) and (5,6) not aligned") is None
    same_rank = "ValueError: operands could not be broadcast together with shapes (64,10) (32,10) "
    assert shape_clash({"a": "ndarray float64 shape (64, 10)", "b": "ndarray float64 shape (32, 10)"}, same_rank) is None
