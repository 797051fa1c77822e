"""Facts about Python source: the names a node binds, and the lines and statements an edit changed."""

from __future__ import annotations

import ast
import difflib

COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def binds(node: ast.AST) -> set[str]:
    """The names ``node`` binds in its own scope."""
    names: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(item.name)
            continue
        if isinstance(item, (ast.Lambda, *COMPREHENSIONS)):
            continue
        if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Store):
            names.add(item.id)
        elif isinstance(item, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in item.names}
        elif isinstance(item, ast.ExceptHandler) and item.name:
            names.add(item.name)
        stack.extend(ast.iter_child_nodes(item))
    return names


def changed_lines(before: str, after: str) -> set[int]:
    """The lines of ``after`` (from 1) that the edit added or changed."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    return {line + 1 for tag, _, _, j1, j2 in matcher.get_opcodes() if tag in ("replace", "insert")
            for line in range(j1, j2)}


def new_statement_lines(before: str, after: str) -> list[int]:
    """The first lines of the statements of ``after`` that hold a line the edit added or changed:
    the innermost statement around each such line (a changed argument on a call's second line is
    that call's statement; a changed condition is its ``if``), except statements that compile to
    nothing (an edited docstring)."""
    statements = [node for node in ast.walk(ast.parse(after)) if isinstance(node, ast.stmt)]
    changed = changed_lines(before, after)
    found = set()
    for line in changed:
        around = [node for node in statements if node.lineno <= line <= (node.end_lineno or node.lineno)]
        if around:
            innermost = max(around, key=lambda node: node.lineno)
            if not _compiles_to_nothing(innermost):
                found.add(innermost.lineno)
    return sorted(found)


def may_rightly_not_run(before: str, after: str, lines: list[int]) -> set[int]:
    """Those of ``lines`` of ``after`` that lie in a branch of an ``if`` (or ``elif``) a run may rightly
    never take: one whose test the edit did not change (a setting the baseline does not select, such
    as ``if OPTIMIZER == "gd":`` under ``OPTIMIZER = "adam"``, where an edit that renames a value in
    every branch leaves new lines), or one holding the baseline's own text (stripped): the old
    computation kept as the fallback of a new setting (``if MODE == "new": ... else: <the baseline's
    line>``)."""
    if not lines:
        return set()
    changed = changed_lines(before, after)
    old = {line.strip() for line in before.splitlines() if line.strip()}
    text = after.splitlines()
    branches = [node for node in ast.walk(ast.parse(after)) if isinstance(node, ast.If)]
    found = set()
    for line in lines:
        around = [node for node in branches if any(child.lineno <= line <= (child.end_lineno or child.lineno)
                                                   for child in node.body + node.orelse)]
        if not around:
            continue
        test = max(around, key=lambda node: node.lineno).test
        if text[line - 1].strip() in old or not any(
                k in changed for k in range(test.lineno, (test.end_lineno or test.lineno) + 1)):
            found.add(line)
    return found


def _compiles_to_nothing(node: ast.stmt) -> bool:
    """A statement the interpreter never steps on (a docstring or other bare string, ``global``,
    ``nonlocal``): a line trace cannot see it run, so an edit of one is no new line to run."""
    bare_string = (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                   and isinstance(node.value.value, str))
    return bare_string or isinstance(node, ast.Global | ast.Nonlocal)


def assigned_names(after: str, lines: list[int]) -> dict[int, list[str]]:
    """The plain names each simple assignment starting at one of ``lines`` binds (tuples unpacked)."""
    found: dict[int, list[str]] = {}
    for node in ast.walk(ast.parse(after)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and node.lineno in lines:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            if names:
                found[node.lineno] = list(dict.fromkeys(names))
    return found


def updates(after: str, line: int, name: str) -> bool:
    """Whether the assignment at ``line`` makes ``name`` from itself (``g = c * g``, ``g *= c``)."""
    for node in ast.walk(ast.parse(after)):
        if isinstance(node, ast.AugAssign) and node.lineno == line:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.lineno == line and node.value is not None:
            return name in {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
    return False
