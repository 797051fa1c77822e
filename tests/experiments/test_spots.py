"""Places in a function where a change can go, and splicing the lines that take one's place."""

from __future__ import annotations

import ast

from scientist.experiments.facts.spots import splice, spots, with_todo_at

FUNCTION = '''def train(xs, rate):
    """Fit and return the weights."""
    w = 0.0
    for x in xs:
        grad = 2 * (w - x)
        if abs(grad) > 10:
            grad = 10.0
        w = w - rate * (
            grad)
    return w
'''


def test_spots_are_the_statements_and_compound_headers_without_the_docstring():
    labels = [s.label for s in spots(FUNCTION)]
    assert labels == ["w = 0.0", "for x in xs:", "grad = 2 * (w - x)", "if abs(grad) > 10:",
                      "grad = 10.0", "w = w - rate * (", "return w"]
    multi = next(s for s in spots(FUNCTION) if s.label.startswith("w = w"))
    assert (multi.start, multi.end) == (7, 9), "a statement on two lines is replaced whole"
    assert spots("x = 1\n") == [] and spots("def broken(:\n") == []


def test_a_splice_is_indented_as_the_line_it_replaces_and_keeps_the_reply_s_own_nesting():
    spot = next(s for s in spots(FUNCTION) if s.label.startswith("w = w"))
    reply = "if rate > 1:\n    rate = 1.0\nw = w - rate * grad * 0.5\n"
    new = splice(FUNCTION, spot, reply)
    ast.parse(new)
    assert "        if rate > 1:\n            rate = 1.0\n        w = w - rate * grad * 0.5\n    return w\n" in new
    assert new.startswith(FUNCTION[:FUNCTION.index("        w = w - rate")])


def test_a_reply_that_is_the_whole_function_is_taken_as_its_new_text():
    whole = "def train(xs, rate):\n    return 1.0\n"
    assert splice(FUNCTION, spots(FUNCTION)[0], "    " + whole.replace("\n", "\n    ")) == whole


def test_a_header_spot_replaces_only_the_header_and_the_todo_goes_before_it():
    header = next(s for s in spots(FUNCTION) if s.label.startswith("if abs"))
    new = splice(FUNCTION, header, "if abs(grad) > 5:")
    assert "        if abs(grad) > 5:\n            grad = 10.0\n" in new
    marked = with_todo_at(FUNCTION, header, "clip at   5")
    assert "        grad = 2 * (w - x)\n        # TODO: clip at 5\n        if abs(grad) > 10:\n" in marked


def test_a_line_the_function_has_twice_is_told_apart_by_its_count():
    twice = "def f(x):\n    x = x + 1\n    y = 2\n    x = x + 1\n    return x\n"
    assert [s.label for s in spots(twice)] == ["x = x + 1", "y = 2", "x = x + 1  # 2nd time", "return x"]


def test_lines_without_a_header_given_for_a_header_go_first_in_its_block():
    loop = next(s for s in spots(FUNCTION) if s.label == "for x in xs:")
    new = splice(FUNCTION, loop, "x = x * 2")
    ast.parse(new)
    assert "    for x in xs:\n        x = x * 2\n        grad = 2 * (w - x)\n" in new
    renamed = splice(FUNCTION, loop, "for x in reversed(xs):")
    assert "    for x in reversed(xs):\n        grad" in renamed
    branch = splice(FUNCTION, loop, "if rate > 1:\n    rate = 1.0")
    assert "    for x in xs:\n        if rate > 1:\n            rate = 1.0\n        grad = 2 * (w - x)\n" in branch
    test = next(s for s in spots(FUNCTION) if s.label == "if abs(grad) > 10:")
    both = splice(FUNCTION, test, "if abs(grad) > 20:\n    grad = 20.0\nelif abs(grad) > 5:")
    assert "        elif abs(grad) > 5:\n" in both
