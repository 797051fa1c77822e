"""Code an edit copied from another function of the file, instead of calling it.

A small model often copies another function's loop into the function it changes, without the state
that function sets up before its loop, where calling the function was meant. When an attempt fails on a line of
such a copy, the failure says which function's code it copies and how that function is called, with
the first sentence of its docstring (what it returns).
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass

from scientist.experiments.facts.code import changed_lines

MIN_COPIED = 6  # new, non-blank lines matching another function's before it counts as a copy
GAP = 3  # lines between two matching runs of one copy (a copied loop with a renamed variable)
DOC_CHARS = 240


@dataclass(frozen=True)
class Copy:
    """Lines ``first``-``last`` of ``into`` (the edit's code, whose lines are ``span``) copy lines of
    ``source``."""

    source: str
    into: str
    first: int
    last: int
    span: range


def _functions(source: str) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}


def _body_lines(function: ast.FunctionDef) -> range:
    """The lines of a function's body after its docstring."""
    body = function.body[1:] if ast.get_docstring(function) is not None and len(function.body) > 1 else function.body
    return range(body[0].lineno, (function.end_lineno or body[-1].lineno) + 1)


def _runs(matcher: difflib.SequenceMatcher) -> list[tuple[int, int]]:
    """Matching runs (start, end) in the second sequence, joined across gaps of up to GAP lines."""
    runs: list[tuple[int, int]] = []
    for block in matcher.get_matching_blocks():
        if not block.size:
            continue
        if runs and block.b - runs[-1][1] <= GAP:
            runs[-1] = (runs[-1][0], block.b + block.size)
        else:
            runs.append((block.b, block.b + block.size))
    return runs


def copies(before: str, after: str) -> list[Copy]:
    """Blocks of new lines in ``after`` that copy at least MIN_COPIED lines of another function the
    file still defines (a function's copy of its own old body is not one)."""
    try:
        old, new = _functions(before), _functions(after)
    except SyntaxError:
        return []
    added, before_lines, after_lines = changed_lines(before, after), before.splitlines(), after.splitlines()
    found = []
    for source, function in old.items():
        if source not in new:
            continue
        theirs = [before_lines[n - 1].strip() for n in _body_lines(function)]
        for into, target in new.items():
            if into == source:
                continue
            span = range(target.lineno, (target.end_lineno or target.lineno) + 1)
            ours = [after_lines[n - 1].strip() for n in span]
            for start, end in _runs(difflib.SequenceMatcher(a=theirs, b=ours, autojunk=False)):
                lines = [span[i] for i in range(start, end)]
                copied = [n for n in lines if n in added and after_lines[n - 1].strip()
                          and not after_lines[n - 1].strip().startswith("#")]
                if len(copied) >= MIN_COPIED:
                    found.append(Copy(source=source, into=into, first=copied[0], last=copied[-1], span=span))
    return found


def _how_called(function: ast.FunctionDef) -> str:
    """'optimise(f, grad, x0, steps=STEPS)', with its docstring's first sentence when it has one."""
    call = f"{function.name}({ast.unparse(function.args)})"
    doc = " ".join((ast.get_docstring(function) or "").split())
    sentence = doc.split(". ")[0].rstrip(".")
    if len(sentence) > DOC_CHARS:
        sentence = sentence[:DOC_CHARS].rsplit(" ", 1)[0] + " ..."
    return f"{call} ({sentence})" if sentence else call


def copy_hint(before: str, after: str, lines: tuple[int, ...]) -> str | None:
    """What to tell an attempt that failed on one of ``lines`` in a function holding a copy of another
    function's code: 'lines 90-110 of run copy fit's code without what fit sets up first: call
    fit(x, steps=STEPS) (...) instead of copying it'; ``None`` when no failing line is in such a
    function (the copy's failing line may come after it, reading a name the copied loop's function
    set up)."""
    for copy in copies(before, after):
        if any(line in copy.span for line in lines):
            function = _functions(after)[copy.source]
            return (f"lines {copy.first}-{copy.last} of {copy.into} copy {copy.source}'s code without what "
                    f"{copy.source} sets up first: call {_how_called(function)} instead of copying it")
    return None
