"""Code an edit copied from another function instead of calling it (the 1.5B model's restarts)."""

from __future__ import annotations

from scientist.experiments.checks.copies import copies, copy_hint

BASELINE = '''import numpy as np


def walk(x, steps=100):
    """``steps`` momentum steps from x: (the last point, the values on the way). More text."""
    velocity = np.zeros_like(x)
    trace = []
    for t in range(steps):
        g = 2 * x
        velocity = 0.9 * velocity - 0.01 * g
        x = x + velocity
        value = float(np.sum(x**2))
        if t % 10 == 0:
            trace.append(value)
    return x, trace


def budget(x0):
    x, trace = walk(x0)
    return float(np.sum(x**2)), trace
'''
# The restarts pattern: budget's new loop copies walk's, without walk's velocity and trace.
COPIED = BASELINE.replace('''def budget(x0):
    x, trace = walk(x0)
    return float(np.sum(x**2)), trace
''', '''def budget(x0):
    best = x0
    for k in range(4):
        x = best + 0.1
        for s in range(25):
            g = 2 * x
            velocity = 0.9 * velocity - 0.01 * g
            x = x + velocity
            value = float(np.sum(x**2))
            if s % 10 == 0:
                trace.append(value)
        best = x
    return float(np.sum(best**2)), trace
''')
CALLS = BASELINE.replace('''    x, trace = walk(x0)
    return''', '''    x, trace = walk(x0, steps=25)
    for k in range(3):
        x, more = walk(x + 0.1, steps=25)
        trace += more
    return''')


def test_new_lines_matching_another_function_s_body_are_a_copy_of_it():
    found = copies(BASELINE, COPIED)
    assert [(c.source, c.into, c.first, c.last) for c in found] == [("walk", "budget", 23, 28)]
    assert copies(BASELINE, CALLS) == [], "calling the function is no copy"
    assert copies(BASELINE, BASELINE.replace("velocity = 0.9", "velocity = 0.5")) == [], \
        "a function's own changed body is no copy"
    assert copies(BASELINE, "def broken(:\n") == []


def test_a_failure_in_the_function_holding_the_copy_says_how_to_call_the_copied_one():
    hint = copy_hint(BASELINE, COPIED, (26,))
    assert hint == ("lines 23-28 of budget copy walk's code without what walk sets up first: call "
                    "walk(x, steps=100) (``steps`` momentum steps from x: (the last point, the values on the "
                    "way)) instead of copying it")
    assert copy_hint(BASELINE, COPIED, (30,)) == hint, "a line after the copy in the same function"
    assert copy_hint(BASELINE, COPIED, (6,)) is None, "a failure elsewhere"
    assert copy_hint(BASELINE, CALLS, (21,)) is None
