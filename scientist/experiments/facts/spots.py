"""Places in one function where a change can go: its statements, each a line a model can name.

A small model asked to rewrite a long function copies it, and often copies it unchanged or makes
the change at the wrong place; asked first which of the function's lines the change goes at (a
schema enum of those lines), then for the few lines that take that line's place, it writes tens of
tokens instead of hundreds and cannot lose the rest of the function. This is localisation before
editing (function, then line), as Agentless does for repositories, with the code as the only input.
"""

from __future__ import annotations

import ast
import textwrap
from collections import Counter
from dataclasses import dataclass

from scientist.experiments.facts.units import indentation, todo_before

LABEL_CHARS = 90  # a line's text in its label: enough to tell lines apart, short enough for an enum


@dataclass(frozen=True)
class Spot:
    """Rows ``start`` (0-based) to ``end`` (exclusive) of a function's text: one simple statement, or
    the header of a compound one (``for ...:``, ``if ...:``). ``label`` is its first line's text, with
    ``# 2nd time`` (and so on) after a text the function has already had: a small model copies a line
    of code it has in mind far better than it picks that line's number."""

    start: int
    end: int
    label: str
    header: bool = False


def _header_end(node: ast.stmt) -> int:
    """The row after a compound statement's header: where its first body statement starts."""
    body = getattr(node, "body", None)
    return body[0].lineno - 1 if body else (node.end_lineno or node.lineno)


def spots(text: str) -> list[Spot]:
    """The statements of the function ``text`` (as ``unit_text`` gives it), in order, its docstring
    and its ``def`` line aside; ``[]`` when ``text`` is not one function."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    function = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return []
    lines = text.splitlines()
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    rows: dict[int, int] = {}
    headers: set[int] = set()
    for statement in (s for top in body for s in ast.walk(top) if isinstance(s, ast.stmt)):
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        compound = isinstance(getattr(statement, "body", None), list)
        end = _header_end(statement) if compound else (statement.end_lineno or statement.lineno)
        rows.setdefault(statement.lineno - 1, max(end, statement.lineno))
        if compound:
            headers.add(statement.lineno - 1)
    found, seen = [], Counter()
    for start in sorted(rows):
        text = " ".join(lines[start].split())[:LABEL_CHARS]
        seen[text] += 1
        found.append(Spot(start, rows[start], text if seen[text] == 1 else f"{text}  # {_ordinal(seen[text])}",
                          start in headers))
    return found


def _ordinal(n: int) -> str:
    return f"{n}{'nd' if n == 2 else 'rd' if n == 3 else 'th'} time"


def with_todo_at(text: str, spot: Spot, change: str) -> str:
    """``text`` with a line ``# TODO: <change>`` right before ``spot``, at its indentation."""
    return todo_before(text, spot.start, indentation(text.splitlines()[spot.start]), change)


def splice(text: str, spot: Spot, reply: str) -> str:
    """The function ``text`` with ``spot``'s rows replaced by the lines of ``reply``, indented as that
    statement is (the reply's own relative indentation kept). When the spot is a compound statement's
    header and the reply has no header of the same kind (``for ...:`` replaced by ``x = ...`` or by
    ``if ...:``, which would leave the loop's body without its loop), the lines go first in that block
    instead, the header kept.
    A reply that is the whole function (it starts with the function's ``def``) is taken as its new
    text."""
    block = textwrap.dedent(reply.strip("\n"))
    first_line = text.lstrip().splitlines()[0] if text.strip() else ""
    head = first_line.split("(")[0]
    if head and block.lstrip().startswith(head + "("):
        return block if block.endswith("\n") else block + "\n"
    lines = text.splitlines(keepends=True)
    first = lines[spot.start]
    indent = indentation(first)
    keyword = first.split()[0].rstrip(":") if first.split() else ""
    same = {"elif": "if", "else": "if"}
    if spot.header and not any(line.rstrip().endswith(":") and not line[:1].isspace()
                               and same.get(word := line.split()[0].rstrip(":"), word) == same.get(keyword, keyword)
                               for line in block.splitlines() if line.strip()):
        # no header of the same kind in the reply: the lines are what the block does first, the header stays
        inside = indentation(lines[spot.end]) if spot.end < len(lines) else indent + "    "
        new = [f"{inside}{line}\n" if line.strip() else "\n" for line in block.splitlines()]
        return "".join([*lines[:spot.end], *new, *lines[spot.end:]])
    new = [f"{indent}{line}\n" if line.strip() else "\n" for line in block.splitlines()]
    return "".join([*lines[:spot.start], *new, *lines[spot.end:]])
