"""Checks of generated code before its run: names that nothing defines, and library names that do not exist.

A small model's commonest failures after a syntax error are a name it left undefined (it rewrote
the constants and dropped one) and a library function it made up (``numpy.linalg.sqrt``,
``scipy.stats.made_up``). Both would end the run with a traceback, sometimes minutes in; both are
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
from pathlib import Path

from scientist.experiments.facts.code import COMPREHENSIONS, binds
from scientist.sandbox import program, reported
from scientist.sandbox.base import Limits, Sandbox
from scientist.sandbox.protocol import RESOLVED_NAMES_MARK

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


def _global_reads(tree: ast.Module) -> dict[str, int]:
    """The first line each name is read where it is not local (a function's parameters and the names
    it binds, a comprehension's targets): where a NameError for it would be raised. A loop variable
    of another function is no use to the model as 'the line'."""
    first: dict[str, int] = {}

    def visit(node: ast.AST, local: frozenset[str]) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            for outer in [*args.defaults, *(d for d in args.kw_defaults if d is not None),
                          *getattr(node, "decorator_list", [])]:
                visit(outer, local)
            params = parameters(args)
            body = node.body if isinstance(node.body, list) else [node.body]
            inner = local | params | (_function_locals(node) if isinstance(node.body, list) else set())
            for stmt in body:
                visit(stmt, frozenset(inner))
            return
        if isinstance(node, COMPREHENSIONS):
            own = local | set().union(*(binds(g.target) for g in node.generators))
            visit(node.generators[0].iter, local)
            for child in ast.iter_child_nodes(node):
                if child is not node.generators[0].iter:
                    visit(child, frozenset(own))
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            first[node.id] = min(first.get(node.id, node.lineno), node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, local)

    visit(tree, frozenset())
    return first


def star_import(tree: ast.AST) -> bool:
    """``from m import *`` anywhere: the names it binds cannot be known without importing ``m``."""
    return any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree))


def undefined_names(source: str) -> list[Problem]:
    """Global names the file reads but never binds (as a NameError would report them). ``[]`` for a
    file that does ``from m import *`` (its names cannot be known without importing)."""
    tree = ast.parse(source)
    reads = _global_reads(tree)
    return [Problem("NameError", f"name {name!r} is not defined" + (_local_elsewhere(tree, name) or _never_written(tree, name)),
                    reads.get(name, 0))
            for name in undefined_globals(source)]


def undefined_calls(source: str) -> list[str]:
    """The names ``undefined_names`` finds that the file only ever calls, and that no function has as a
    local: helpers the model called and never wrote (``swish(z)``), first read first."""
    tree = ast.parse(source)
    return [name for name in undefined_globals(source)
            if not _local_elsewhere(tree, name) and _never_written(tree, name)]


def _never_written(tree: ast.Module, name: str) -> str:
    """' (nothing in the file defines the function ...)' when every read of ``name`` calls it: the
    model called a helper it never wrote (``add_noise(x, sigma)``)."""
    reads = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    if not reads or any(id(n) not in called for n in reads):
        return ""
    return (f" (nothing in the file defines the function {name}: write its def in the same code block, above "
            "the function that calls it, or compute its result in place)")


def undefined_globals(source: str) -> list[str]:
    """The names of ``undefined_names``, first read first."""
    tree = ast.parse(source)
    if star_import(tree):
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
    reads = _global_reads(tree)
    return sorted(wanted - known, key=lambda n: (reads.get(n, 0), n))


def local_owners(tree: ast.Module, name: str) -> list[str]:
    """The functions of the file (nested ones too) that have ``name`` as a parameter or local."""
    return sorted({f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                   and name in names_local_to(f)})


def names_local_to(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The names that are ``function``'s own: its parameters and what its body binds (``global`` and
    ``nonlocal`` names aside)."""
    return _function_locals(function) | parameters(function.args)


def _local_elsewhere(tree: ast.Module, name: str) -> str:
    """' (it is a local of optimise only: ...)' when functions of the file have ``name`` as a parameter or
    local: the model put code that reads ``t`` in a function where no ``t`` exists."""
    owners = local_owners(tree, name)
    if not owners:
        return ""
    return (f" (it is a local of {', '.join(owners)} only: make this change inside "
            f"{'that function' if len(owners) == 1 else 'one of them'}, or pass {name} in as an argument)")


CATCHES_NAME_ERROR = {"NameError", "UnboundLocalError", "Exception", "BaseException"}


def _reads_now(node: ast.AST) -> list[ast.Name]:
    """The names ``node`` reads from its scope when it runs: not inside the bodies of functions or
    lambdas it defines (their decorators and defaults do run), nor a comprehension's own variables."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        now = [*getattr(node, "decorator_list", []), *node.args.defaults, *filter(None, node.args.kw_defaults)]
        return [name for item in now for name in _reads_now(item)]
    if isinstance(node, ast.ClassDef):  # its body has its own names; only what builds the class is read here
        now = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
        return [name for item in now for name in _reads_now(item)]
    if isinstance(node, ast.Name):
        return [node] if isinstance(node.ctx, ast.Load) else []
    inner = [name for child in ast.iter_child_nodes(node) for name in _reads_now(child)]
    if isinstance(node, COMPREHENSIONS):
        own = set().union(*(binds(g.target) for g in node.generators))
        inner = [name for name in inner if name.id not in own]
    return sorted(inner, key=lambda n: (n.lineno, n.col_offset))


class _ReadBeforeBound:
    """Walks statements in the order they run and reports a watched name read before anything binds it.
    Branches are joined permissively (a name bound in either branch counts as bound after it)."""

    def __init__(self, watched: set[str], bound: set[str]) -> None:
        self.watched, self.bound = watched, set(bound)
        self.found: dict[str, int] = {}
        self.excused = 0  # inside a try whose handler catches NameError: a read there is a deliberate probe

    def read(self, node: ast.AST | None) -> None:
        if node is None or self.excused:
            return
        self.bound |= {n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr)
                       and isinstance(n.target, ast.Name)}
        for name in _reads_now(node):
            if name.id in self.watched and name.id not in self.bound:
                self.found.setdefault(name.id, name.lineno)

    def run(self, statements: list[ast.stmt]) -> None:
        for stmt in statements:
            self.statement(stmt)

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.If | ast.While):
            self.read(stmt.test)
            self.run(stmt.body)
            self.run(stmt.orelse)
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            self.read(stmt.iter)
            self.bound |= binds(stmt.target)
            self.run(stmt.body)
            self.run(stmt.orelse)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                self.read(item.context_expr)
                self.bound |= binds(item.optional_vars) if item.optional_vars else set()
            self.run(stmt.body)
        elif isinstance(stmt, ast.Match):
            self.read(stmt.subject)
            for case in stmt.cases:
                self.bound |= {n for p in ast.walk(case.pattern) for n in
                               [getattr(p, "name", None), getattr(p, "rest", None)] if isinstance(n, str)}
                self.read(case.guard)
                self.run(case.body)
        elif isinstance(stmt, ast.Try):
            probe = any(h.type is None or any(isinstance(n, ast.Name) and n.id in CATCHES_NAME_ERROR
                                              for n in ast.walk(h.type)) for h in stmt.handlers)
            self.excused += probe
            self.run(stmt.body)
            self.excused -= probe
            for handler in stmt.handlers:
                self.bound |= {handler.name} if handler.name else set()
                self.run(handler.body)
            self.run(stmt.orelse)
            self.run(stmt.finalbody)
        else:
            if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and not self.excused \
                    and stmt.target.id in self.watched and stmt.target.id not in self.bound:
                self.found.setdefault(stmt.target.id, stmt.lineno)
            self.read(stmt)
            self.bound |= binds(stmt)


def _function_locals(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    declared = {name for n in ast.walk(function) if isinstance(n, ast.Global | ast.Nonlocal) for name in n.names}
    return set().union(*(binds(stmt) for stmt in function.body)) - declared if function.body else set()


def read_before_bound(source: str) -> list[Problem]:
    """Names read before the statement that binds them runs: at module level (a NameError), and in a
    function that assigns a module constant's name (``LEARNING_RATE = LEARNING_RATE * 0.5`` inside a
    function is an UnboundLocalError: assigning makes the name local to the whole function)."""
    tree = ast.parse(source)
    if star_import(tree):
        return []
    module = _ReadBeforeBound(_module_bindings(source), set(dir(builtins)) | MODULE_NAMES)
    module.run(tree.body)
    problems = [Problem("NameError", f"name {name!r} is not defined yet where it is read (it is set later)", line)
                for name, line in module.found.items()]
    module_names = _module_bindings(source)
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        problems += [Problem("UnboundLocalError", f"cannot access local variable {name!r} where it is not "
                             f"associated with a value ({_why_unbound(function, name, line, module_names)})", line)
                     for name, line in unbound_reads(function).items()]
    return sorted(problems, key=lambda p: p.line)


def parameters(args: ast.arguments) -> set[str]:
    """Every name a function's or lambda's parameters bind, ``*args`` and ``**kwargs`` too."""
    return {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a is not None}


def unbound_reads(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, int]:
    """The function's locals it reads before anything binds them, each with the line of its first such read."""
    params = parameters(function.args)
    check = _ReadBeforeBound(_function_locals(function) - params, params)
    check.run(function.body)
    return check.found


def _why_unbound(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str, line: int, module_names: set[str]) -> str:
    """Why ``name`` has no value where ``function`` reads it at ``line``, and what to do."""
    if name in module_names:
        return (f"{function.name} assigns {name}, so {name} is local to all of {function.name}; "
                "give the new value another name")
    first = min((stmt.lineno for stmt in ast.walk(function) if isinstance(stmt, ast.stmt) and stmt is not function
                 and name in _header_binds(stmt)), default=line)
    if first == line:
        return (f"this line gives {name} its first value in {function.name}, so it cannot read {name} yet: "
                "build the new value from values that already exist, in two steps if needed")
    arguments = sorted(parameters(function.args))
    start = f", or start from what {function.name} is given ({', '.join(arguments)})" if arguments else ""
    return (f"{function.name} gives {name} its first value at line {first}, after this line: read it after that "
            f"line{start}")


def _header_binds(stmt: ast.stmt) -> set[str]:
    """What the statement itself binds: a simple statement's targets, a ``for``'s or ``with``'s header,
    not the bodies of compound statements."""
    if isinstance(stmt, ast.For | ast.AsyncFor):
        return binds(stmt.target)
    if isinstance(stmt, ast.With | ast.AsyncWith):
        return set().union(*(binds(i.optional_vars) for i in stmt.items if i.optional_vars is not None))
    return set() if hasattr(stmt, "body") else binds(stmt)


def _module_bindings(source: str) -> set[str]:
    top = symtable.symtable(source, "experiment.py", "exec")
    return {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}


def _module_reads(source: str) -> set[str]:
    """Module-level names the file reads: at module level, or in a function or comprehension where the
    name is global (a comprehension's own ``k`` in ``{k: v for k, v in ...}`` does not read a module
    ``k``). Attribute names count too (``self.k``, ``module.k``)."""
    top = symtable.symtable(source, "experiment.py", "exec")
    read = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    stack = list(top.get_children())
    while stack:
        table = stack.pop()
        stack.extend(table.get_children())
        read |= {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
    return read | {n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute)}


def unused_additions(before: str, after: str) -> list[str]:
    """Module-level names ``after`` adds to ``before`` (a constant, an import, a helper) that nothing
    in ``after`` reads: the usual reason an edit leaves the results unchanged."""
    return sorted(_module_bindings(after) - _module_bindings(before) - _module_reads(after))


def inert_edit(before: str, after: str) -> list[str] | None:
    """``None`` when ``after`` computes something ``before`` does not. Otherwise what the edit added
    that nothing reads (``[]``: it changed only comments, docstrings or layout): without those
    top-level statements the two files are the same program, and a run would only repeat the baseline
    (``k = 4`` added where the only ``k`` read is a comprehension's own)."""
    unused = set(unused_additions(before, after))
    tree = ast.parse(after)
    tree.body = [node for node in _without_repeated_settings(tree.body) if not (binds(node) and binds(node) <= unused)]
    return sorted(unused) if _program(tree) == _program(ast.parse(before)) else None


def _without_repeated_settings(body: list[ast.stmt]) -> list[ast.stmt]:
    """Top-level statements without a ``NAME = literal`` that sets a name to the literal it already
    holds (an edit that repeats ``BETAS = (0.9, 0.999)`` and changes nothing else)."""
    held: dict[str, str] = {}
    kept = []
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, ast.dump(node.value)
            if _is_literal(node.value):
                if held.get(name) == value:
                    continue
                held[name] = value
            else:
                held.pop(name, None)
        else:
            for name in binds(node):
                held.pop(name, None)
        kept.append(node)
    return kept


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _inline_constants(tree: ast.Module) -> None:
    """Replace each read of a module constant by its value and drop its assignment, in place: a
    constant set once at the top level to an immutable literal (a number, string, or tuple of them)
    and bound nowhere else. Writing a constant's value where its name was changes nothing a run
    computes (``test_size=0.25`` written for ``TEST_FRACTION = 0.25``)."""
    values = {node.targets[0].id: node.value for node in tree.body
              if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
              and _is_immutable_literal(node.value)}
    bound: dict[str, int] = {}
    for node in ast.walk(tree):
        names = [node.id] if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) else \
            [node.arg] if isinstance(node, ast.arg) else \
            [a.asname or a.name.split(".")[0] for a in node.names] if isinstance(node, ast.Import | ast.ImportFrom) else \
            list(node.names) if isinstance(node, ast.Global | ast.Nonlocal) else \
            [node.name] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else []
        for name in names:
            bound[name] = bound.get(name, 0) + 1
    inline = {name: value for name, value in values.items() if bound.get(name) == 1}
    if not inline:
        return
    tree.body = [node for node in tree.body if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                                                    and isinstance(node.targets[0], ast.Name)
                                                    and node.targets[0].id in inline)]

    class Inliner(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return inline[node.id] if isinstance(node.ctx, ast.Load) and node.id in inline else node

    Inliner().visit(tree)


def _is_immutable_literal(node: ast.expr) -> bool:
    return _is_literal(node) and all(isinstance(n, ast.Constant | ast.Tuple | ast.UnaryOp | ast.unaryop | ast.Load)
                                     for n in ast.walk(node))


def _program(tree: ast.Module) -> str:
    """The module without its docstrings, with its constants' values where they are read
    (``_inline_constants``), and without the default of its ``--out_dir`` argument (every run passes
    ``--out_dir run_k``, so the default never takes effect: an edit of only ``default="run_0"`` to
    ``"run_1"`` changes nothing): what running it computes, for comparing two files."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument" \
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "--out_dir":
            node.keywords = [k for k in node.keywords if k.arg != "default"]
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    _inline_constants(tree)
    return ast.dump(tree)


def _functions(tree: ast.AST) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Each function and method by its (qualified) name."""
    found = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            found |= {f"{node.name}.{name}": f for name, f in _functions(node).items()}
    return found


def _assigned(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, int]:
    """Names the function's own body assigns with ``=`` (first line each), nested functions aside."""
    found: dict[str, int] = {}
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(name, ast.Name):
                        found[name.id] = min(found.get(name.id, node.lineno), node.lineno)
        stack.extend(ast.iter_child_nodes(node))
    return found


def unread_new_locals(before: str, after: str) -> list[Problem]:
    """Local variables ``after`` adds to a function that nothing in the function reads: a computed
    value that is never used (``x_noisy = x + noise`` while training still reads ``x``). Names the
    function already assigned are left alone: a value the edit stopped using is not a new mistake."""
    return sorted((Problem("NoEffectiveChange", f"{var!r} is computed in {function} but nothing reads it", line)
                   for function, var, line in _unread_new_locals(before, after)), key=lambda p: p.line)


def _unread_new_locals(before: str, after: str) -> list[tuple[str, str, int]]:
    """(function, local, line of its first assignment) for each of ``unread_new_locals``."""
    old = _functions(ast.parse(before))
    found = []
    for name, function in _functions(ast.parse(after)).items():
        known = _assigned(old[name]) if name in old else {}
        declared = {n for node in ast.walk(function) if isinstance(node, ast.Global | ast.Nonlocal) for n in node.names}
        read = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        found += [(name, var, line) for var, line in _assigned(function).items()
                  if var not in known and var not in read and var not in declared and not var.startswith("_")]
    return found


def without_unread_locals(before: str, after: str) -> str:
    """``after`` without the statements of a function that only assign its new locals nothing reads
    (``unread_new_locals``), again until none is left (the noise a dead ``x_noisy`` read goes next),
    as source: what the edit computes apart from its dead values."""
    source = after
    while True:
        dead = _unread_new_locals(before, source)
        if not dead:
            return source
        tree = ast.parse(source)
        for qualified, function in _functions(tree).items():
            names = {var for name, var, _ in dead if name == qualified}
            if names:
                _drop_assignments(function, names)
        stripped = ast.unparse(ast.fix_missing_locations(tree))
        if stripped == ast.unparse(ast.parse(source)):
            return source
        source = stripped


def dead_values_only(before: str, after: str) -> bool:
    """Whether a function holding new locals nothing reads is, without the statements that assign
    them (``without_unread_locals``), the baseline's function again: those values were all the edit
    did there (``x_noisy = x + noise`` while training still reads ``x``). A dead value beside new
    computation in the same function (an unread ``trace`` in a function whose loop now works
    differently) is not. A new function's dead value counts as all it does."""
    dead = _unread_new_locals(before, after)
    old, stripped = _functions(ast.parse(before)), _functions(ast.parse(without_unread_locals(before, after)))
    return any(name not in old or name not in stripped  # a new function's dead value: nothing to compare with
               or _function_program(stripped[name]) == _function_program(old[name]) for name, _, _ in dead)


def _function_program(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    return _program(ast.Module(body=[function], type_ignores=[]))


def _drop_assignments(function: ast.FunctionDef | ast.AsyncFunctionDef, names: set[str]) -> None:
    """Remove from ``function``'s own statements (nested functions aside) those that only assign ``names``."""
    stack: list[ast.AST] = [function]
    while stack:
        node = stack.pop()
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
                continue
            kept = [s for s in body if not (isinstance(s, ast.Assign | ast.AnnAssign | ast.AugAssign)
                                            and binds(s) and binds(s) <= names)]
            setattr(node, field, kept or ([ast.Pass()] if field == "body" else []))
        stack += [child for child in ast.iter_child_nodes(node)
                  if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)]


@dataclass(frozen=True)
class LateUpdate:
    """A new statement (``body[index]``) in a loop's body that changes ``name`` after the body's last
    read of it (line ``last``), when the pass's first statement about it (``body[first]``) gives it a
    fresh value."""

    name: str
    body: list[ast.stmt]
    index: int
    first: int
    last: int


def late_updates(after: str, new_lines: set[int]) -> list[LateUpdate]:
    """New statements in a loop's body that change a name after the body's last read of it, when
    every pass first gives the name a fresh value before reading it and nothing outside the loop
    reads it: the change is thrown away each pass (``g += noise`` after the update that read ``g``,
    and ``g = grad(x)`` at the top of the loop)."""
    found = []
    for function in (f for f in ast.walk(ast.parse(after)) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)):
        for loop in (n for n in ast.walk(function) if isinstance(n, ast.For | ast.While)):
            body, in_loop = loop.body, {id(n) for n in ast.walk(loop)}
            outside = [n for n in ast.walk(function) if isinstance(n, ast.stmt) and id(n) not in in_loop
                       and not isinstance(n, ast.FunctionDef)]
            for index, statement in enumerate(body):
                target = single_target(statement)
                if target is None or statement.lineno not in new_lines:
                    continue
                if any(_reads(later, target) for later in body[index + 1:]):
                    continue
                first = next((i for i, s in enumerate(body[:index]) if target in binds(s) or _reads(s, target)), None)
                if first is None or single_target(body[first]) != target or _reads(body[first], target) \
                        or isinstance(body[first], ast.AugAssign):
                    continue
                if any(_reads(n, target) for n in outside):
                    continue
                last = max((s.lineno for s in body[:index] if _reads(s, target) and s.lineno not in new_lines),
                           default=None)
                if last is not None:
                    found.append(LateUpdate(target, body, index, first, last))
    return found


def overwritten_before_read(after: str, new_lines: set[int]) -> list[str]:
    """Each of ``late_updates``, told as the line that changes a name, the loop's last use of it and
    the line that replaces it."""
    text = after.splitlines()
    return [f"line {u.body[u.index].lineno} changes {u.name} after the loop's last use of it (line {u.last}: "
            f"{text[u.last - 1].strip()}), and the next pass replaces it (line {u.body[u.first].lineno}: "
            f"{text[u.body[u.first].lineno - 1].strip()}) before anything reads it: change {u.name} before "
            f"line {u.last}" for u in late_updates(after, new_lines)]


def single_target(statement: ast.stmt) -> str | None:
    """The one plain name an assignment statement gives a value, or ``None``."""
    if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id
    return None


def _reads(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.AugAssign) and single_target(node) == name or any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(node))


def module_constants(source: str) -> dict[str, object]:
    """The literal values of the file's top-level ``NAME = <literal>`` assignments (the last one wins,
    as when the file runs)."""
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            values.update({t.id: value for t in node.targets if isinstance(t, ast.Name)})
    return values


def _selector_branches(tree: ast.AST, constants: dict[str, str]) -> set[tuple[str, str]]:
    """Each ``NAME == "option"`` test of a module string constant: (NAME, option)."""
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.In))
                and isinstance(node.left, ast.Name) and node.left.id in constants):
            right = node.comparators[0]
            options = right.elts if isinstance(right, (ast.Tuple, ast.List, ast.Set)) else [right]
            found |= {(node.left.id, o.value) for o in options
                      if isinstance(o, ast.Constant) and isinstance(o.value, str)}
    return found


def unselected_branches(before: str, after: str) -> list[str]:
    """Branches ``after`` adds for a new option of a selector constant that still selects another:
    'MODE == "new" (MODE is "old")'. The new code never runs."""
    def strings(source: str) -> dict[str, str]:
        return {name: value for name, value in module_constants(source).items() if isinstance(value, str)}

    constants = strings(after)
    added = _selector_branches(ast.parse(after), constants) - _selector_branches(ast.parse(before), strings(before))
    return [f"{name} == {option!r} ({name} is {constants[name]!r})" for name, option in sorted(added)
            if constants[name] != option]


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
    rebound |= set().union(*(parameters(n) for n in ast.walk(tree) if isinstance(n, ast.arguments)))
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


def missing_library_names(source: str, sandbox: Sandbox, workdir: Path, limits: Limits) -> list[Problem]:
    """Library names the file uses that do not exist where it will run. ``[]`` when the check itself
    cannot run (the experiment's own run then reports whatever is wrong)."""
    references = library_references(source)
    if not references:
        return []
    quick = limits.model_copy(update={"timeout_s": min(limits.timeout_s, CHECK_TIMEOUT_S)})
    result = sandbox.run(["python", "-c", program("resolve_names.py"), json.dumps(references)], workdir, quick)
    if not result.ok:
        log.warning("name check did not run (%s); the run itself will show any missing name", result.one_line())
        return []
    found = reported(result.stdout, RESOLVED_NAMES_MARK)
    if not isinstance(found, list):
        log.warning("name check printed no verdict; the run itself will show any missing name")
        return []
    return [Problem(str(f["type"]), str(f["message"]), int(f["line"])) for f in found]


def _imported_names(tree: ast.Module) -> dict[str, int]:
    """Names the module's top-level imports bind, each with its import's line."""
    return {(a.asname or a.name).split(".")[0]: node.lineno for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom) for a in node.names if a.name != "*"}


def _used_as_object(function: ast.AST, name: str) -> list[ast.expr]:
    """Reads of ``name`` in ``function`` as an object: ``name.attr`` or ``name(...)``."""
    return sorted((n for n in ast.walk(function) if (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                                                     and n.value.id == name)
                   or (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name)),
                  key=lambda n: (n.lineno, n.col_offset))


@dataclass(frozen=True)
class Shadowing:
    """A newly imported ``name`` (imported at ``line``) that ``function`` uses as an object although its
    own local of that name hides the import there; ``before``: how often the baseline's function used
    its local as an object (``uses`` is the new function's, in order)."""

    name: str
    line: int
    function: ast.FunctionDef | ast.AsyncFunctionDef
    uses: list[ast.expr]
    before: int


def shadowings(before: str, after: str) -> list[Shadowing]:
    """Each function where a name the edit newly imports (and reads nowhere at module level) is used as
    an object more often than the baseline's function used its own local of that name."""
    old, tree = ast.parse(before), ast.parse(after)
    old_functions = {f.name: f for f in old.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
    imported_before = _imported_names(old)
    new_imports = {name: line for name, line in _imported_names(tree).items() if name not in imported_before}
    found = []
    for name, line in new_imports.items():
        reads_outside = any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                            for stmt in tree.body if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
                            for n in ast.walk(stmt))
        if reads_outside:
            continue
        for function in (f for f in tree.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)):
            was = old_functions.get(function.name)
            if was is None or name not in _function_locals(was) or name not in _function_locals(function):
                continue
            uses, used = _used_as_object(function, name), len(_used_as_object(was, name))
            if used < len(uses):
                found.append(Shadowing(name, line, function, uses, used))
    return found


def shadowed_imports(before: str, after: str) -> list[Problem]:
    """A name the edit newly imports, used as that object (``norm.rvs(...)``) only inside a function
    that already had a local of that name in ``before`` (``norm = np.linalg.norm(g)``): there the name
    is the local, so the import is out of reach and the call fails on the local's value
    (``'numpy.float64' object has no attribute 'rvs'``)."""
    problems = [Problem("AttributeError", f"{s.name} is imported at line {s.line}, but {s.function.name} has "
                        f"its own local {s.name}, so inside {s.function.name} {s.name} is that local, not "
                        f"the import: import it under another name (as ...) and use that name", s.uses[0].lineno)
                for s in shadowings(before, after)]
    return sorted(problems, key=lambda p: p.line)
