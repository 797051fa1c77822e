"""Checks of generated code before its run: names that nothing defines, and library names that do not exist.

A small model's commonest failures after a syntax error are a name it left undefined (it rewrote
the constants and dropped one) and a library function it made up (``numpy.linalg.sqrt``,
``scipy.optimize.RMSProp``). Both would end the run with a traceback, sometimes minutes in; both are
found here in about a second, all at once, with the line that uses each name.

- ``undefined_names`` is static (``symtable``): a global name read somewhere that no statement of
  the file binds and that is not a builtin.
- ``missing_library_names`` imports, inside the sandbox, what the file imports and follows the
  dotted names it reaches through an imported module (``np.linalg.sqrt``). Only the sandbox imports
  anything: an import runs the module's code, and the module is the model's choice.
"""

from __future__ import annotations

import ast
import builtins
import json
import logging
import symtable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from scientist.sandbox.base import Limits, Sandbox

log = logging.getLogger(__name__)

MODULE_NAMES = {"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__", "__builtins__",
                "__annotations__", "__dict__", "__path__", "__cached__"}
CHECK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Problem:
    """One name that will fail: what Python would raise, and where."""

    exception_type: str  # NameError, ImportError, ModuleNotFoundError or AttributeError
    message: str
    line: int

    def describe(self, source: str) -> str:
        lines = source.splitlines()
        text = lines[self.line - 1].strip()[:120] if 0 < self.line <= len(lines) else ""
        return f"{self.message} (line {self.line}: {text})" if text else self.message


def _first_use(tree: ast.AST, name: str) -> int:
    lines = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name]
    return min(lines, default=0)


def undefined_names(source: str) -> list[Problem]:
    """Global names the file reads but never binds (as a NameError would report them). ``[]`` for a
    file that does ``from m import *`` (its names cannot be known without importing)."""
    tree = ast.parse(source)
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree)):
        return []
    top = symtable.symtable(source, "experiment.py", "exec")
    known = _module_bindings(source) | set(dir(builtins)) | MODULE_NAMES
    wanted: set[str] = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    stack = list(top.get_children())
    while stack:
        table = stack.pop()
        stack.extend(table.get_children())
        for symbol in table.get_symbols():
            if symbol.is_declared_global() and symbol.is_assigned():
                known.add(symbol.get_name())
            if symbol.is_global() and symbol.is_referenced():
                wanted.add(symbol.get_name())
    return [Problem("NameError", f"name {name!r} is not defined", _first_use(tree, name))
            for name in sorted(wanted - known, key=lambda n: (_first_use(tree, n), n))]


def _module_bindings(source: str) -> set[str]:
    top = symtable.symtable(source, "experiment.py", "exec")
    return {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}


def unused_additions(before: str, after: str) -> list[str]:
    """Module-level names ``after`` adds to ``before`` (a constant, an import, a helper) that nothing
    in ``after`` reads: the usual reason an edit leaves the results unchanged."""
    tree = ast.parse(after)
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    read |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return sorted(_module_bindings(after) - _module_bindings(before) - read)


def _imports(tree: ast.AST) -> tuple[list[dict[str, object]], dict[str, str]]:
    """Each import to resolve, and the module each imported alias names."""
    wanted: list[dict[str, object]] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                wanted.append({"module": alias.name, "attrs": [], "line": node.lineno, "kind": "import"})
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            wanted += [{"module": node.module, "attrs": [a.name], "line": node.lineno, "kind": "from"}
                       for a in node.names if a.name != "*"]
    return wanted, aliases


def library_references(source: str) -> list[dict[str, object]]:
    """What to resolve in the sandbox: each imported module (and name imported from it), and each
    dotted name reached through a module alias, with the line of its first use."""
    tree = ast.parse(source)
    rebound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    rebound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
                for a in [*n.posonlyargs, *n.args, *n.kwonlyargs]}
    imports, aliases = _imports(tree)
    wanted = [*imports]
    for node in ast.walk(tree):
        chain: list[str] = []
        inner: ast.expr | None = node if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) else None
        while isinstance(inner, ast.Attribute):
            chain.append(inner.attr)
            inner = inner.value
        if isinstance(inner, ast.Name) and inner.id in aliases and inner.id not in rebound:
            wanted.append({"module": aliases[inner.id], "attrs": chain[::-1], "line": node.lineno,  # type: ignore[attr-defined]
                           "kind": "attribute"})
    first: dict[tuple[str, tuple[str, ...]], dict[str, object]] = {}
    for want in sorted(wanted, key=lambda w: w["line"]):  # type: ignore[arg-type,return-value]
        first.setdefault((str(want["module"]), tuple(want["attrs"])), want)  # type: ignore[arg-type]
    return list(first.values())


def resolver_script() -> str:
    """The program the sandbox runs to resolve the names (package data: it imports nothing of ours)."""
    return resources.files("scientist.sandbox").joinpath("resolve_names.py").read_text(encoding="utf-8")


def missing_library_names(source: str, sandbox: Sandbox, workdir: Path, limits: Limits) -> list[Problem]:
    """Library names the file uses that do not exist where it will run. ``[]`` when the check itself
    cannot run (the experiment's own run then reports whatever is wrong)."""
    references = library_references(source)
    if not references:
        return []
    quick = limits.model_copy(update={"timeout_s": min(limits.timeout_s, CHECK_TIMEOUT_S)})
    result = sandbox.run(["python", "-c", resolver_script(), json.dumps(references)], workdir, quick)
    lines = result.stdout.strip().splitlines()
    if not result.ok or not lines:
        log.warning("name check did not run (%s); the run itself will show any missing name", result.one_line())
        return []
    try:
        found = json.loads(lines[-1])
    except json.JSONDecodeError:
        log.warning("name check printed no verdict; the run itself will show any missing name")
        return []
    return [Problem(str(f["type"]), str(f["message"]), int(f["line"])) for f in found]
