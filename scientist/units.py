"""Whole-unit rewrites of a Python file: the edit format made for a small model.

A file is cut into named units along its top-level statements: ``imports``, ``constants`` (a run
of UPPER_CASE assignments), one unit per ``def``/``class``, ``main guard`` and ``code at line N``
for any other run of statements. The model names the units it will change (a schema enum, so it cannot
name one that does not exist), then writes each one's complete new text as an ordinary code block,
not inside JSON (small models write far worse code in escaped JSON strings). Nothing has to be
copied exactly, indentation is the model's own (top level), and a syntax error is found in the
unit the model wrote, with its own line numbers, before the file is touched.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from scientist.edits import EditNotApplied, NoEffectiveChange
from scientist.schemas import UnitRewrite

CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]*$")
FENCE = re.compile(r"```[a-zA-Z0-9_+-]*[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)


class RewriteSyntaxError(EditNotApplied):
    """A rewritten unit does not parse on its own."""

    code = "syntax_error"


@dataclass(frozen=True)
class Unit:
    """Lines ``start`` (0-based) to ``end`` (exclusive) of the file, under one name."""

    name: str
    kind: str
    start: int
    end: int
    defines: str | None = None
    names: tuple[str, ...] = ()  # constants: the names it sets; other units: the constants they read


def _kind(node: ast.stmt) -> str:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return "imports"
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return "def"
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test) and "__main__" in ast.unparse(node.test):
        return "main guard"
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    if targets and all(isinstance(t, ast.Name) and CONSTANT.match(t.id) for t in targets):
        return "constants"
    return "code"


def code_units(source: str) -> list[Unit]:
    """The file's units in order (the module docstring belongs to none). Raises ``SyntaxError``."""
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    groups: list[tuple[str, list[ast.stmt]]] = []
    for node in body:
        kind = _kind(node)
        if groups and groups[-1][0] == kind and kind not in ("def", "class"):
            groups[-1][1].append(node)
        else:
            groups.append((kind, [node]))
    constants = {t.id for kind, nodes in groups if kind == "constants" for n in nodes
                 for t in (n.targets if isinstance(n, ast.Assign) else [n.target])}  # type: ignore[attr-defined]
    units: list[Unit] = []
    seen: set[str] = set()
    for kind, nodes in groups:
        first = nodes[0]
        start = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))]) - 1
        end = nodes[-1].end_lineno or nodes[-1].lineno
        defines = getattr(first, "name", None) if kind in ("def", "class") else None
        name = f"{kind} {defines}" if defines else kind
        if kind == "code" or name in seen:
            name = f"{name} at line {start + 1}"
        seen.add(name)
        read = {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}
        names = tuple(sorted(read & constants))
        units.append(Unit(name=name, kind=kind, start=start, end=end, defines=defines, names=names))
    return units


def outline(source: str) -> str:
    """One line per unit, for the prompt: its name, line range and the constants it sets or reads."""
    def line(u: Unit) -> str:
        verb = "sets" if u.kind == "constants" else "reads"
        return f"- {u.name} (lines {u.start + 1}-{u.end})" + (f": {verb} {', '.join(u.names)}" if u.names else "")
    return "\n".join(line(u) for u in code_units(source))


def code_block(reply: str) -> str:
    """The code of a model's reply: its longest fenced block, else the whole reply."""
    blocks = FENCE.findall(reply)
    return max(blocks, key=len) if blocks else reply


def _clean(code: str) -> str:
    """The model's code without a fence or common indentation, ending in one newline."""
    return textwrap.dedent(code_block(code).strip("\n")).strip("\n") + "\n"


def apply_rewrites(source: str, rewrites: list[UnitRewrite]) -> str:
    """The file with each named unit replaced; raises before changing anything on any problem."""
    units = {u.name: u for u in code_units(source)}
    chosen: dict[str, str] = {}
    for rewrite in rewrites:
        unit = units.get(rewrite.unit)
        if unit is None:
            raise EditNotApplied(f"there is no unit named {rewrite.unit!r}; the units are: {', '.join(units)}")
        if rewrite.unit in chosen:
            raise EditNotApplied(f"{rewrite.unit!r} is rewritten twice; write it once, with every change")
        code = _clean(rewrite.code)
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            lines = code.splitlines()
            bad = lines[exc.lineno - 1].strip() if exc.lineno and 0 < exc.lineno <= len(lines) else ""
            raise RewriteSyntaxError(f"your new {rewrite.unit!r}, its line {exc.lineno}: {exc.msg}"
                                     + (f" (in: {bad[:120]})" if bad else "")) from exc
        if unit.defines and not any(getattr(n, "name", None) == unit.defines for n in tree.body):
            raise EditNotApplied(f"the new {rewrite.unit!r} no longer defines {unit.defines}, which the rest of the "
                                 f"file uses; keep the {unit.kind} {unit.defines} in it")
        chosen[rewrite.unit] = code
    lines = source.splitlines(keepends=True)
    for unit in sorted((units[n] for n in chosen), key=lambda u: u.start, reverse=True):
        lines[unit.start:unit.end] = [chosen[unit.name]]
    new = "".join(lines)
    if new == source:
        raise NoEffectiveChange(f"your new {', '.join(repr(n) for n in chosen)} is the same as the current text: "
                                "change the lines this run needs")
    return new


def unit_text(source: str, name: str) -> str:
    """The current text of the unit called ``name``."""
    unit = next(u for u in code_units(source) if u.name == name)
    return "".join(source.splitlines(keepends=True)[unit.start:unit.end])


def unit_at_line(source: str, lineno: int) -> Unit | None:
    """The unit holding 1-based line ``lineno``."""
    try:
        units = code_units(source)
    except SyntaxError:
        return None
    return next((u for u in units if u.start < lineno <= u.end), None)


def mentioned_parts(source: str, text: str) -> list[str]:
    """Units whose function name, or a constant they set or read, appears in ``text`` (a hint for the model)."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    return [u.name for u in code_units(source)
            if (u.defines and u.defines in words) or (u.kind != "main guard" and words & set(u.names))]
