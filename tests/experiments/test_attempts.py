"""Which part of a failed attempt the next attempt fixes in place (``attempts.part_to_fix``)."""

from __future__ import annotations

from scientist.experiments.failure import (
    MAX_FIXES,
    Failure,
    Fix,
    History,
    crash_kept,
    frame_lines,
    home_part,
    inert_reason,
    part_to_fix,
)
from scientist.failures import Category

BASELINE = '''import numpy as np

SCALE = 2.0


def helper(x):
    return x.sum()


def train(x):
    return helper(x * SCALE)


if __name__ == "__main__":
    print(train(np.ones(3)))
'''
CHANGED = BASELINE.replace("return helper(x * SCALE)", "noisy = x[:, None] * SCALE\n    return helper(noisy, 1)")


def traceback(*lines: int) -> str:
    frames = "".join(f'  File "/work/run/experiment.py", line {n}, in f\n    code\n' for n in lines)
    return f"Traceback (most recent call last):\n{frames}TypeError: helper() takes 1 positional argument\n"


def crashed(code: str, *lines: int, category: Category = Category.RUNTIME_ERROR) -> History:
    history = History()
    history.failed(Failure(category, "boom", code=code, output_tail=traceback(*lines)))
    return history


def test_frames_are_read_innermost_first():
    assert frame_lines(traceback(15, 11, 7)) == (7, 11, 15)


def test_a_crash_in_an_unchanged_helper_is_fixed_in_the_changed_caller():
    # main guard (line 16) -> train (changed, line 12) -> helper (unchanged, line 7)
    assert part_to_fix(BASELINE, crashed(CHANGED, 16, 12, 7)) == Fix("def train")


def test_a_crash_in_an_unchanged_caller_of_one_changed_function_is_fixed_in_that_function():
    changed = BASELINE.replace("return x.sum()", "return np.concatenate((x, x ** 2))")  # helper changed, line 7
    # main guard (line 16) -> train (unchanged, line 11), which calls the changed helper: it is the one to fix
    assert part_to_fix(BASELINE, crashed(changed, 16, 11)) == Fix("def helper", via="def train")


def test_no_fix_in_place_when_no_changed_part_is_in_the_traceback():
    constant_only = BASELINE.replace("SCALE = 2.0", "SCALE = 'x'")
    assert part_to_fix(BASELINE, crashed(constant_only, 16, 11, 7)) is None  # a changed constant is no function
    assert part_to_fix(BASELINE, crashed(CHANGED, 16)) == Fix("def train", via="main guard")
    assert part_to_fix(BASELINE, crashed(BASELINE, 15, 11, 7)) is None  # the attempt changed nothing


def test_only_crashes_are_fixed_in_place_and_only_so_many_in_a_row():
    assert part_to_fix(BASELINE, crashed(CHANGED, 12, category=Category.TIMEOUT)) is None
    assert part_to_fix(BASELINE, crashed(CHANGED, 12, category=Category.NO_EFFECTIVE_CHANGE)) is None
    history = crashed(CHANGED, 12)
    for _ in range(MAX_FIXES):
        assert part_to_fix(BASELINE, history) == Fix("def train")
        history.failed(Failure(Category.RUNTIME_ERROR, "boom", code=CHANGED, output_tail=traceback(12)),
                       fixed_in_place=True)
    assert part_to_fix(BASELINE, history) is None, "after MAX_FIXES fixes in a row, start from the baseline"
    history.failed(Failure(Category.RUNTIME_ERROR, "boom", code=CHANGED, output_tail=traceback(12)))
    assert part_to_fix(BASELINE, history) == Fix("def train"), "an attempt from the baseline resets the count"


def test_a_name_a_check_found_is_fixed_where_it_is_read():
    history = History()
    history.failed(Failure(Category.RUNTIME_ERROR, "name 'noisy' is not defined", code=CHANGED, lines=(12,)))
    assert part_to_fix(BASELINE, history) == Fix("def train")


def test_a_change_that_adds_computation_is_not_made_by_settings_alone():
    from scientist.experiments.failure import only_settings

    cosine = "Add a cosine decay of the learning rate over the steps"
    rate = BASELINE.replace("SCALE = 2.0", "SCALE = 2.0 * (1 - 0.01)")
    assert "adds computation (Add ...)" in only_settings(BASELINE, rate, cosine)
    assert only_settings(BASELINE, rate, "set SCALE to 1.98") is None, "a change of a setting may be one"
    assert only_settings(BASELINE, CHANGED, cosine) is None, "a function changed"
    selector = BASELINE.replace("SCALE = 2.0", "SCALE = 2.0\nMODE = 'plain'")
    assert only_settings(selector, selector.replace("'plain'", "'cosine'"), cosine) is None, \
        "a new value of a string constant may select code that does it"


def test_an_edit_that_only_sets_a_setting_its_change_never_mentions_is_not_the_change():
    from scientist.experiments.failure import only_settings

    clipped = BASELINE.replace("SCALE = 2.0", "SCALE = 2.0\nCLIP = 100.0").replace("CLIP = 100.0", "CLIP = 1.0")
    before = BASELINE.replace("SCALE = 2.0", "SCALE = 2.0\nCLIP = 100.0")
    normalised = "Use normalised descent (each step lr * g / |g|)"
    found = only_settings(before, clipped, normalised)
    assert found is not None and "CLIP = 1.0" in found and "neither names nor gives" in found
    halved = before.replace("CLIP = 100.0", "CLIP = 50.0")
    assert only_settings(before, halved, "Use a threshold of 50 on the norm") is None, "the change gives its value"
    assert only_settings(before, clipped, "Use a smaller clip threshold") is None, "the change names it"
    both = clipped.replace("SCALE = 2.0", "SCALE = 4.0")
    assert only_settings(before, both, "Use a larger scale") is None, "one of the settings is named"
    assert only_settings(before, before.replace("return helper(x * SCALE)", "return helper(x / SCALE)"),
                         normalised) is None, "a function changed"


def test_a_change_written_where_its_values_do_not_exist_goes_to_the_function_that_has_them():
    # The 1.5B model wrote label smoothing into the loss with train's rng and epsilon, two attempts running.
    misplaced = BASELINE.replace("    return x.sum()", "    noise = rng.normal(size=x.shape) * epsilon\n    return (x + noise).sum()")
    misplaced = misplaced.replace("def train(x):\n", "def train(x):\n    rng = np.random.default_rng(0)\n    epsilon = 0.1\n")
    history = History()
    history.failed(Failure(Category.RUNTIME_ERROR, "name 'rng' is not defined", code=misplaced, lines=(7,)))
    home = home_part(BASELINE, history)
    assert home is not None and home.part == "def train"
    assert home.rule == "values"
    assert part_to_fix(BASELINE, history) == Fix("def helper"), "without it, the misplaced code would be fixed in place"
    only_one = misplaced.replace("* epsilon", "* SCALE")
    history.failed(Failure(Category.RUNTIME_ERROR, "x", code=only_one.replace("rng.normal", "gen.normal"), lines=(7,)))
    assert home_part(BASELINE, history) is None, "a name no function has: nowhere to send the change"
    history.failed(Failure(Category.RUNTIME_ERROR, "boom", code=CHANGED, output_tail=traceback(7, 11)))
    assert home_part(BASELINE, history) is None, "no undefined names"


SMOOTHED = '''import numpy as np


def targets(y):
    epsilon = 0.1
    return np.where(y < 10, np.eye(10)[y], np.random.uniform(0, 1, 10)[y])


def train(y):
    total = 0.0
    for step in range(3):
        total += targets(y).sum() * step
        y = y + 1
    return total
'''


def test_a_fix_that_keeps_the_failing_line_and_what_feeds_it_cannot_work():
    # the label smoothing fix of the bench: a constant added at the top, the crashing line word for word
    fixed = SMOOTHED.replace("import numpy as np\n", "import numpy as np\n\nepsilon = 0.1\n")
    reason = crash_kept(SMOOTHED, fixed, "def targets", (6, 12))
    assert reason is not None and "line 6 (return np.where(" in reason
    kept_lines_after = SMOOTHED.replace("    return np.where", "    # smoothed\n    return np.where")
    assert crash_kept(SMOOTHED, kept_lines_after, "def targets", (6,)) is not None, "a comment changes nothing"


def test_a_fix_that_changes_the_failing_line_or_what_feeds_it_may_work():
    assert crash_kept(SMOOTHED, SMOOTHED.replace("np.random.uniform(0, 1, 10)[y]", "epsilon / 10"),
                      "def targets", (6,)) is None
    assert crash_kept(SMOOTHED, SMOOTHED.replace("epsilon = 0.1", "y = np.asarray(y)"), "def targets", (6,)) is None
    # a later line of the loop around the failing line feeds its next pass
    assert crash_kept(SMOOTHED, SMOOTHED.replace("y = y + 1", "y = y - 1"), "def train", (12,)) is None
    # a module value the failing line reads, set by the fix
    reads_module = SMOOTHED.replace("    epsilon = 0.1\n", "").replace("np.random.uniform(0, 1, 10)[y]", "NOISE")
    sets_it = reads_module.replace("import numpy as np\n", "import numpy as np\nNOISE = np.zeros((1, 10))\n")
    assert crash_kept(reads_module, sets_it, "def targets", (5,)) is None
    assert crash_kept(reads_module, reads_module.replace("import numpy as np\n", "import numpy as np\ny = 1\n"),
                      "def targets", (5,)) is not None, "the failing line's y is its parameter, not the new y"


def test_a_new_function_nothing_calls_is_named_with_where_its_work_belongs():
    copied = SMOOTHED.replace("def train(y):", "def smoothed(y):\n    return y * 0.9\n\n\ndef train(y):")
    reason = inert_reason(SMOOTHED, copied)
    assert reason is not None and reason.startswith("you added smoothed but nothing reads it")
    assert "make the change inside the existing function that does this work, or call smoothed" in reason
    constant = SMOOTHED.replace("import numpy as np\n", "import numpy as np\nEPS = 0.1\n")
    assert inert_reason(SMOOTHED, constant) == "you added EPS but nothing reads it"
