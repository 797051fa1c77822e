"""Calls to the file's own functions that do not fit their parameters, found before the run.

A small model that adds a parameter to a function (``def optimise(f, grad, x0, eta)``) often leaves
its callers as they were; the run then ends in ``TypeError: optimise() missing 1 required
positional argument: 'eta'``, after minutes of work. The same mismatch is visible in the source:
each call by name to a module-level function, against that function's parameters. A function
whose name is bound anywhere else (a parameter, a local, a second ``def``) or that has decorators
is left alone, as is a call with ``*args`` or ``**kwargs``: what those pass is not known here.
"""

from __future__ import annotations

import ast

from scientist.experiments.checks.names import Problem, parameters


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """Module-level plain functions whose name means that function everywhere in the file."""
    defined: dict[str, list[ast.FunctionDef]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            defined.setdefault(node.name, []).append(node)
    rebound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)}
    rebound |= set().union(*(parameters(n) for n in ast.walk(tree) if isinstance(n, ast.arguments)))
    rebound |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and n not in tree.body}
    rebound |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                for a in n.names}
    return {name: nodes[0] for name, nodes in defined.items()
            if len(nodes) == 1 and not nodes[0].decorator_list and name not in rebound}


def _signature(function: ast.FunctionDef) -> str:
    return f"{function.name}({ast.unparse(function.args)})"


def _mismatch(function: ast.FunctionDef, call: ast.Call) -> str | None:
    """What Python would say calling ``function`` as ``call`` does, or ``None`` when it fits."""
    args = function.args
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    required = positional[:len(positional) - len(args.defaults)]
    given = len(call.args)
    keywords = [k.arg for k in call.keywords if k.arg is not None]
    name = function.name
    if given > len(positional) and args.vararg is None:
        return f"{name}() takes {len(positional)} positional arguments but {given} were given"
    named = {a.arg for a in [*args.args, *args.kwonlyargs]}
    unexpected = [k for k in keywords if k not in named]
    if unexpected and args.kwarg is None:
        return f"{name}() got an unexpected keyword argument {unexpected[0]!r}"
    missing = [p for p in required[given:] if p not in keywords]
    if missing:
        listed = " and ".join(repr(p) for p in missing)
        plural = "s" if len(missing) > 1 else ""
        return f"{name}() missing {len(missing)} required positional argument{plural}: {listed}"
    kw_missing = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                  if d is None and a.arg not in keywords]
    if kw_missing:
        return f"{name}() missing {len(kw_missing)} required keyword-only argument: {kw_missing[0]!r}"
    return None


def call_mismatches(source: str) -> list[Problem]:
    """Each call by name to one of the file's own functions that does not fit its parameters, as the
    ``TypeError`` the run would raise, with the function's parameters and what to do."""
    tree = ast.parse(source)
    functions = _functions(tree)
    problems = []
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in functions):
            continue
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            continue
        function = functions[call.func.id]
        found = _mismatch(function, call)
        if found is not None:
            problems.append(Problem("TypeError", f"{found}; it is defined as {_signature(function)}: give a new "
                                    "parameter a default value, or pass it at every call", call.lineno))
    return sorted(problems, key=lambda p: p.line)


def _returns_value(function: ast.FunctionDef) -> bool:
    """Whether the function's own body (nested functions aside) has a ``return <value>`` or a ``yield``."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if (isinstance(node, ast.Return) and node.value is not None) or isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def lost_returns(before: str, after: str) -> list[Problem]:
    """Each function that returned a value in ``before``, no longer returns one in ``after``, and whose
    value a call in ``after`` uses: the run would fail at that call (a rewrite that lost its
    ``return``; ``a, b = f(...)`` then raises ``cannot unpack non-iterable NoneType object``).
    Reported at the function, where the fix goes."""
    old, tree = _functions(ast.parse(before)), ast.parse(after)
    new = _functions(tree)
    lost = {name for name, function in new.items()
            if name in old and _returns_value(old[name]) and not _returns_value(function)}
    if not lost:
        return []
    discarded = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    used = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in lost and id(node) not in discarded}
    return [Problem("TypeError", f"{name}() no longer returns anything, and its callers use what it returned: "
                    "end it with the return statement it had", new[name].lineno) for name in sorted(used)]
