"""Mechanical repairs of the model's code, made before it runs.

Each repair rewrites one pattern whose intent is plain and whose only alternative is a certain crash
(or a run that certainly changes nothing), so it can turn an attempt that would fail into one that
runs, never the reverse. The repaired code is what runs and what the run folder keeps; the repair
leaves a comment on the line it adds.

One repair narrows instead: ``put_back_unasked_settings`` undoes numeric settings the change neither
names nor gives the value of, so a run measures the change as asked and not the change plus a tuning
the idea did not ask for.
"""

from __future__ import annotations

import ast
import difflib
import re
import symtable

from scientist.experiments.checks.calls import lost_returns
from scientist.experiments.checks.names import (
    binds,
    late_updates,
    local_owners,
    parameters,
    shadowings,
    single_target,
    star_import,
    unbound_reads,
    undefined_globals,
    unused_additions,
)
from scientist.experiments.facts.change import unrequested_setting
from scientist.experiments.facts.code import new_statement_lines

MARK = "# a local copy: this function changes it (added by scientist)"


def _module_variables(source: str) -> set[str]:
    """Names the module assigns a value to (constants and variables, not functions, classes or imports)."""
    top = symtable.symtable(source, "experiment.py", "exec")
    return {s.get_name() for s in top.get_symbols() if s.is_assigned() and not s.is_imported()
            and not s.is_namespace()}


def _free_name(name: str, taken: set[str]) -> str:
    """A name for a local copy of the module's ``name``: lower case, numbered when that is taken."""
    return _unused(name.lower() if name.lower() != name else f"{name}_local", taken)


def _taken_names(tree: ast.Module) -> set[str]:
    """Every name the file uses for anything: a new name must be none of them."""
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {n.arg for n in ast.walk(tree) if isinstance(
        n, ast.arg)} | {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)} \
        | {(n.asname or n.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.alias)}


def _unused(base: str, taken: set[str]) -> str:
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}_{number}"
    return candidate


def _inner_scopes_bind(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Whether a function, lambda or comprehension inside ``function`` binds ``name`` itself."""
    for node in ast.walk(function):
        if node is function:
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            if name in parameters(node.args):
                return True
            if not isinstance(node, ast.Lambda) and name in set().union(*(binds(s) for s in node.body)):
                return True
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) \
                and any(name in binds(g.target) for g in node.generators):
            return True
    return False


def localise_constants(source: str) -> tuple[str, list[str]]:
    """A top-level function that assigns a module-level name and reads it before that
    (``RATE *= 0.5`` inside ``fit``, then ``w - RATE * g``: an UnboundLocalError on the first read,
    a small model's common way to make a constant vary during a run) gets a
    local copy instead: ``learning_rate = LEARNING_RATE`` as its first statement and the name renamed
    to the copy throughout the function. A local that the function reads before giving it a value
    and that differs only in case from exactly one module variable (``rate *= 0.5`` beside
    ``RATE``) starts as a copy of that
    variable the same way. Returns the new source and one note per copy made; the source unchanged
    when there is nothing to repair or it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, []
    if star_import(tree):
        return source, []
    variables = _module_variables(source)
    taken = _taken_names(tree)
    lines = source.splitlines(keepends=True)
    renames: list[tuple[int, int, int, str]] = []  # (0-based line, start byte, end byte, new name)
    inserts: list[tuple[int, str]] = []  # (0-based line to insert before, text)
    notes = []
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        first = function.body[1] if len(function.body) > 1 and ast.get_docstring(function) is not None \
            else function.body[0]
        indent = lines[first.lineno - 1].encode()[:first.col_offset]
        if indent.strip():  # the body starts on the def line: no line of its own to put the copy before
            continue
        unbound = set(unbound_reads(function))
        for name in sorted(unbound & variables):
            if _inner_scopes_bind(function, name):
                continue
            local = _free_name(name, taken)
            taken.add(local)
            renames += _name_spans(function, name, local)
            inserts.append((first.lineno - 1, f"{indent.decode()}{local} = {name}  {MARK}\n"))
            notes.append(f"{function.name} assigns the module's {name} and reads it before that (an "
                         f"UnboundLocalError): it now works on a local copy, {local}")
        for name in sorted(unbound - variables):
            same = _differing_in_case(name, variables)
            if len(same) != 1 or _inner_scopes_bind(function, name):
                continue
            inserts.append((first.lineno - 1, f"{indent.decode()}{name} = {same[0]}  {MARK}\n"))
            notes.append(f"{function.name} reads {name} before giving it a value, and the module's {same[0]} "
                         f"differs only in case: {name} now starts as a local copy of {same[0]}")
    return _applied(source, renames, inserts, notes)


def match_constant_case(source: str) -> tuple[str, list[str]]:
    """A name that nothing binds, no function has as a local, and that differs only in case from
    exactly one of the module's variables is that variable: ``scale * x`` beside ``SCALE = 0.1`` is a
    certain NameError otherwise.
    Returns the new source and one note per name; the source unchanged when there is nothing to
    repair or it does not parse."""
    try:
        tree = ast.parse(source)
        undefined = undefined_globals(source)
    except SyntaxError:
        return source, []
    variables = _module_variables(source)
    renames, notes = [], []
    for name in undefined:
        same = _differing_in_case(name, variables)
        if len(same) != 1 or local_owners(tree, name):
            continue
        renames += _name_spans(tree, name, same[0])
        notes.append(f"{name} is not defined; the module's {same[0]} is: it now reads {same[0]}")
    return _applied(source, renames, [], notes)


def alias_shadowed_imports(before: str, source: str) -> tuple[str, list[str]]:
    """A name the edit newly imports and uses as an object (``norm.rvs(...)``) inside a function whose
    own local of that name hides it (``norm = np.linalg.norm(g)``, a float) is a certain
    AttributeError. When the baseline's function never used its local as an object, every such use
    means the import: the import gets another name (``from scipy.stats import norm as stats_norm``)
    and those uses, and the other functions' reads of the import, take it. Returns the new source and
    one note per import renamed; the source unchanged when there is nothing to repair."""
    try:
        found = [s for s in shadowings(before, source) if s.before == 0]
        tree = ast.parse(source)
    except SyntaxError:
        return source, []
    taken = _taken_names(tree)
    functions = [f for f in tree.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]
    renames, notes = [], []
    for name in dict.fromkeys(s.name for s in found):
        imports = [(node, a) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom) for a in node.names
                   if (a.asname or a.name) == name]
        owners = set(local_owners(tree, name))
        if len(imports) != 1 or name in _module_variables(source) or owners - {f.name for f in functions}:
            continue  # imported twice, a module variable too, or a nested function's local: no plain reading
        node, alias = imports[0]
        prefix = node.module.split(".")[-1] if isinstance(node, ast.ImportFrom) and node.module else "imported"
        new = _unused(f"{prefix}_{name}", taken)
        taken.add(new)
        renames.append((alias.lineno - 1, alias.col_offset, alias.end_col_offset or alias.col_offset, f"{alias.name} as {new}"))
        for shadowing in (s for s in found if s.name == name):
            renames += [_span(n, new) for n in (u.value if isinstance(u, ast.Attribute) else u.func
                                                for u in shadowing.uses)]
        for function in functions:
            if function.name not in owners:
                renames += _name_spans(function, name, new)
        notes.append(f"{name} is imported, but a function's own local {name} hides it there: the import is now "
                     f"{new}, and the uses of the import read {new}")
    return _applied(source, renames, [], notes)


def drop_unread_imports(before: str, source: str) -> tuple[str, list[str]]:
    """``source`` without the names its new top-level imports bind that nothing reads (a statement
    left with none goes): such an import changes nothing a run computes and can only end it, when the
    name does not exist (``from scipy.optimize import made_up_name``, never used). Made after the
    checks for an edit that changes nothing,
    which name such imports to the model when they are all the edit adds. An import that a function
    uses as an object where its own local hides it stays, for ``shadowed_imports`` to report."""
    unread = set(unused_additions(before, source)) - {s.name for s in shadowings(before, source)}
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    renames: list[tuple[int, int, int, str]] = []
    notes = []
    for node in tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno != node.end_lineno \
                or lines[node.lineno - 1].strip() != ast.get_source_segment(source, node):
            continue  # over several lines, or sharing its line with another statement: left alone
        dropped = [a for a in node.names if (a.asname or a.name.split(".")[0]) in unread]
        if not dropped:
            continue
        kept = [a for a in node.names if a not in dropped]
        row = node.lineno - 1
        if kept:
            node.names = kept
            renames.append((row, node.col_offset, node.end_col_offset or 0, ast.unparse(node)))
        else:
            renames += _deleted(lines, row, row + 1)
        notes.append(f"the new import of {', '.join(a.asname or a.name for a in dropped)} is removed: nothing reads it")
    return _applied(source, renames, [], notes)


_ARITHMETIC = {ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__, ast.Div: float.__truediv__,
               ast.Pow: float.__pow__}


def number_value(node: ast.expr) -> object | None:
    """The value of a numeric setting's expression (``1e-4``, ``0.5 * 1e-4``, ``(0.9, 0.999)``, ``-3``),
    or ``None`` when it is anything else: a string or a flag selects code, a name or call computes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = number_value(node.operand)
        return None if not isinstance(value, int | float) else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = number_value(node.left), number_value(node.right)
        if not isinstance(left, int | float) or not isinstance(right, int | float):
            return None
        try:
            return _ARITHMETIC[type(node.op)](float(left), float(right))
        except (ZeroDivisionError, OverflowError):
            return None
    if isinstance(node, ast.Tuple | ast.List) and node.elts:
        values = [number_value(element) for element in node.elts]
        return None if any(v is None for v in values) else tuple(values)
    return None


def _numeric_settings(tree: ast.Module) -> dict[str, ast.Assign]:
    """The module's top-level ``NAME = <number or numbers>`` assignments, the last one of each name."""
    return {node.targets[0].id: node for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and number_value(node.value) is not None}


def _only_statement(function: ast.AST, node: ast.stmt) -> bool:
    """Whether ``node`` is alone in its block inside ``function`` (deleting it would leave an empty block)."""
    for parent in ast.walk(function):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(parent, field, None)
            if isinstance(block, list) and node in block:
                return len(block) == 1
    return False


def _code_of(line: str) -> str:
    """A line's code without its indentation or comment."""
    return line.split("#")[0].strip()


def put_back_unasked_settings(before: str, source: str, change: str) -> tuple[str, list[str]]:
    """``source`` with the numeric settings the change did not ask for as the baseline has them: a
    module setting given a new number that the change neither names nor gives
    (``unrequested_setting``: ``LEARNING_RATE = 1e-4`` beside "epsilon inside the square root" in
    Adam) gets its baseline line back, and a new assignment of such a number to a module setting's
    name inside a function (the same ``LEARNING_RATE = 1e-4``, written in the training loop) is taken
    out, when it is the function's one binding of that name and not alone in its block. An idea's
    experiment compares the idea with the baseline; a tuning it did not ask for would be measured with
    it. Settings the change names or gives a value of, and string or flag settings (they select code),
    stay as the edit wrote them."""
    try:
        old_tree, tree = ast.parse(before), ast.parse(source)
    except SyntaxError:
        return source, []
    old, new = _numeric_settings(old_tree), _numeric_settings(tree)
    old_lines, lines = before.splitlines(keepends=True), source.splitlines(keepends=True)
    renames: list[tuple[int, int, int, str]] = []
    notes = []
    for name, node in new.items():
        was = old.get(name)
        value = ast.unparse(node.value)
        if was is None or number_value(was.value) == number_value(node.value) \
                or not unrequested_setting(name, value, change) or (node.end_lineno or 0) - node.lineno \
                != (was.end_lineno or 0) - was.lineno:
            continue
        for offset in range(node.lineno - 1, node.end_lineno or node.lineno):
            text = old_lines[was.lineno - 1 + offset - (node.lineno - 1)].rstrip("\r\n")
            renames.append((offset, 0, len(lines[offset].rstrip("\r\n").encode()), text))
        notes.append(f"the edit set {name} = {value}, a setting the change neither names nor gives the value "
                     f"of: it is back to the baseline's {ast.unparse(was.value)}")
    present = {_code_of(line) for line in old_lines}
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        bindings: dict[str, int] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bindings[node.id] = bindings.get(node.id, 0) + 1
        for node in ast.walk(function):
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            name, value = node.targets[0].id, number_value(node.value)
            if name not in old or value is None or value == number_value(old[name].value) \
                    or bindings.get(name) != 1 or node.lineno != node.end_lineno \
                    or _code_of(lines[node.lineno - 1]) in present or _only_statement(function, node) \
                    or not unrequested_setting(name, ast.unparse(node.value), change):
                continue
            renames += _deleted(lines, node.lineno - 1, node.lineno)
            notes.append(f"{function.name} set {name} = {ast.unparse(node.value)}, a setting the change neither "
                         f"names nor gives the value of: the line is taken out, so it reads the module's "
                         f"{ast.unparse(old[name].value)}")
    return _applied(source, renames, [], notes)


def _calls_to(node: ast.AST, name: str) -> list[ast.Name]:
    """The names in ``node``'s calls to ``name``, outside any function, lambda or class inside it."""
    found, stack = [], list(ast.iter_child_nodes(node))
    while stack:
        inner = stack.pop()
        if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == name:
            found.append(inner.func)
        stack.extend(ast.iter_child_nodes(inner))
    return found


def _recurses_without_end(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``function`` calls itself in a statement of its own body that always runs: no branch,
    loop, ``with`` or ``try`` around it, and no ``return`` or ``raise`` before it (a recursion that
    never ends)."""
    for statement in function.body:
        calls_itself = bool(_calls_to(ast.Module(body=[statement], type_ignores=[]), function.name))
        if not isinstance(statement, ast.If | ast.For | ast.AsyncFor | ast.While | ast.Try | ast.With
                          | ast.AsyncWith | ast.Match) and calls_itself:
            return True
        if any(isinstance(n, ast.Return | ast.Raise) for n in ast.walk(statement)):
            return False  # a way out before any certain self-call
    return False


def call_the_baseline_for_self_calls(before: str, source: str) -> tuple[str, list[str]]:
    """A function that calls itself with no way to stop, where the baseline's function of that name
    did not, meant the baseline's value: a copy of the baseline's function is added under another
    name, right before it, and those calls read the copy (``return 0.5 * features(x) + ...`` inside
    ``features``, meaning what the baseline's ``features`` returned: a RecursionError otherwise)."""
    old = {f.name: f for f in ast.parse(before).body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
    tree = ast.parse(source)
    taken = _taken_names(tree) | _taken_names(ast.parse(before))
    renames: list[tuple[int, int, int, str]] = []
    inserts: list[tuple[int, str]] = []
    notes = []
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or function.name not in old \
                or _calls_to(old[function.name], function.name) or not _recurses_without_end(function):
            continue
        copy_name = _unused(f"{function.name}_baseline", taken)
        taken.add(copy_name)
        baseline_copy = ast.parse(ast.unparse(old[function.name])).body[0]
        baseline_copy.name = copy_name  # type: ignore[attr-defined]
        start = min([function.lineno, *(d.lineno for d in function.decorator_list)]) - 1
        inserts.append((start, f"# the baseline's {function.name}, which the new one calls (added by scientist)\n"
                               f"{ast.unparse(baseline_copy)}\n\n\n"))
        renames += [_span(name, copy_name) for name in _calls_to(function, function.name)]
        notes.append(f"{function.name} called itself with no way to stop (a RecursionError): it meant the "
                     f"baseline's {function.name}, now a copy named {copy_name} that it calls")
    return _applied(source, renames, inserts, notes)


NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def given_value(name: str, change: str) -> str | None:
    """The one number the change gives ``name`` ("... (eta = 0.1)", in any case), or ``None`` when it
    gives none or several."""
    given = set(re.findall(rf"(?<![\w.]){re.escape(name)}\s*=\s*({NUMBER})(?![\w.])", change, re.I))
    return given.pop() if len(given) == 1 else None


def define_values_the_change_gives(source: str, change: str) -> tuple[str, list[str]]:
    """A name that nothing defines, that no function has as a local, and that the change gives a
    number for ("... with scale s (s = 0.1)" for ``S``, in any case) becomes a module constant with
    that number, after the module's last constant: a NameError otherwise."""
    tree = ast.parse(source)
    constants = [n for n in tree.body if isinstance(n, ast.Assign)
                 and all(isinstance(t, ast.Name) and t.id.isupper() for t in n.targets)]
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    last = (constants or imports or [None])[-1]
    row = (last.end_lineno or 0) if last is not None else 0
    inserts, notes = [], []
    for name in undefined_globals(source):
        given = given_value(name, change)
        if given is None or local_owners(tree, name):
            continue
        inserts.append((row, f"{name} = {given}  # the change's value (added by scientist)\n"))
        notes.append(f"{name} is not defined; the change gives it: it is now a module constant, {name} = {given}")
    return _applied(source, [], inserts, notes)


def return_the_last_value(before: str, source: str) -> tuple[str, list[str]]:
    """A function whose value its callers use (``call_check.lost_returns``) that no longer returns
    it, and whose new last statement gives one name a value, returns that name (``return x``
    replaced by ``y = np.concatenate([x, x**2], axis=-1)`` and nothing after it)."""
    lost = {problem.line for problem in lost_returns(before, source)}
    inserts, notes = [], []
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef) or node.lineno not in lost:
            continue
        name = single_target(node.body[-1])
        if name is None:
            continue
        last = node.body[-1]
        indent = lines[last.lineno - 1][:last.col_offset]
        inserts.append((last.end_lineno or last.lineno, f"{indent}return {name}\n"))
        notes.append(f"{node.name} no longer returned its value and ended by computing {name}: it now returns {name}")
    return _applied(source, [], inserts, notes)


def default_new_parameters(before: str, source: str, change: str) -> tuple[str, list[str]]:
    """A function's new trailing parameters that no call passes and that the change gives a number
    for ("... (alpha = 0.05)") get that number as their default (``def f(y, alpha):`` still called
    as ``f(y)``). Only parameters after which every parameter is new and given a number."""
    old = {f.name: f for f in ast.parse(before).body if isinstance(f, ast.FunctionDef)}
    tree = ast.parse(source)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    renames, notes = [], []
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or function.name not in old or function.args.vararg:
            continue
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        undefaulted = positional[:len(positional) - len(args.defaults)]
        had = {a.arg for a in [*old[function.name].args.posonlyargs, *old[function.name].args.args]}
        mine = [c for c in calls if c.func.id == function.name]  # type: ignore[attr-defined]
        given: list[tuple[ast.arg, str]] = []
        for arg in reversed(undefaulted):
            value = given_value(arg.arg, change)
            passed = any(len(c.args) > positional.index(arg) or arg.arg in {k.arg for k in c.keywords}
                         for c in mine)
            if arg.arg in had or value is None or passed or not mine:
                break
            given.append((arg, value))
        for arg, value in given:
            end = arg.end_col_offset or arg.col_offset + len(arg.arg)
            renames.append((arg.end_lineno - 1 if arg.end_lineno else arg.lineno - 1, end, end, f"={value}"))
            notes.append(f"{function.name}'s new parameter {arg.arg} had no default and no call passes it; "
                         f"the change gives it: it now defaults to {value}")
    return _applied(source, renames, [], notes)


def _loads(nodes: list[ast.stmt]) -> set[str]:
    """The names ``nodes`` read."""
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def move_late_updates(before: str, source: str) -> tuple[str, list[str]]:
    """New statements at the end of a loop pass that change a value the pass has already used, and
    that the next pass replaces before reading it (``code_check.late_updates``), move to right after
    the statement that makes the value: as written they change nothing a run computes, and where the
    value is made is where such a change is meant (a change to ``g`` written after the update that
    read it). The moved block is the run of new
    statements ending at that change, with the comments above it; it moves only when it reads nothing
    the statements it jumps over set (but the value itself), they read nothing it sets (but the
    value), and it holds no ``break``, ``continue`` or ``return``."""
    try:
        new_lines = set(new_statement_lines(before, source))
        updates = late_updates(source, new_lines)
    except SyntaxError:
        return source, []
    lines = source.splitlines(keepends=True)
    for update in updates[:1]:  # one move at a time: the positions of another are then stale
        body, name = update.body, update.name
        start = update.index
        while start - 1 > update.first and body[start - 1].lineno in new_lines \
                and not isinstance(body[start - 1], ast.If | ast.For | ast.While | ast.With | ast.Try):
            start -= 1
        block, jumped = body[start:update.index + 1], body[update.first + 1:start]
        sets = set().union(*(binds(s) for s in block))
        if (_loads(block) & set().union(*(binds(s) for s in jumped))) - {name} or (_loads(jumped) & sets) - {name} \
                or any(isinstance(n, ast.Break | ast.Continue | ast.Return) for s in block for n in ast.walk(s)):
            continue
        first_row, end_row = body[start - 1].end_lineno or 0, body[update.index].end_lineno or 0
        indent = re.match(r"[ \t]*", lines[body[update.index].lineno - 1]).group(0)  # type: ignore[union-attr]
        moved = f"{indent}# moved here from after the pass's last use of {name} (added by scientist)\n" \
                + "".join(lines[first_row:end_row])
        renames = _deleted(lines, first_row, end_row)
        inserts = [(body[update.first].end_lineno or 0, moved)]
        return _applied(source, renames, inserts, [
            f"the new lines {body[start].lineno}-{body[update.index].end_lineno} changed {name} after the loop "
            f"pass had used it, and the next pass replaced it: they now come right after line "
            f"{body[update.first].lineno}, where {name} is made"])
    return source, []


COPY_LIKENESS = 0.5  # how much of an existing function a new one must repeat to be read as its new version


def adopt_renamed_copies(before: str, source: str) -> tuple[str, list[str]]:
    """A new function that nothing calls, with the parameters of a function the edit left as it was
    and most of its lines, is that function's new version under another name: it replaces it (asked
    to rewrite ``fit``, a model may give ``fit`` back as it was and write ``fit_with_change(...)``, a
    changed copy nothing calls). Only when exactly one such function
    fits; the source unchanged otherwise."""
    try:
        old = {f.name: f for f in ast.parse(before).body if isinstance(f, ast.FunctionDef)}
        tree = ast.parse(source)
        unread = set(unused_additions(before, source))
    except SyntaxError:
        return source, []
    current = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    lines = source.splitlines(keepends=True)
    for copy in (f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name in unread and f.name not in old):
        fits = [current[name] for name, function in old.items() if name in current
                and ast.dump(current[name]) == ast.dump(function) and ast.dump(function.args) == ast.dump(copy.args)
                and _likeness(function, copy) >= COPY_LIKENESS]
        if len(fits) != 1 or copy.decorator_list or fits[0].decorator_list:
            continue
        original = fits[0]
        first = lines[copy.lineno - 1].replace(f"def {copy.name}(", f"def {original.name}(", 1)
        text = first.rstrip("\n") + f"  # {copy.name}, the new version (renamed by scientist)\n" \
            + "".join(lines[copy.lineno:copy.end_lineno])
        renames = _deleted(lines, original.lineno - 1, original.end_lineno or 0)
        renames += _deleted(lines, copy.lineno - 1, copy.end_lineno or 0)
        return _applied(source, renames, [(original.lineno - 1, text)], [
            f"{copy.name} is a changed copy of {original.name} that nothing called, and {original.name} was left "
            f"as it was: it now replaces {original.name}"])
    return source, []


def _likeness(a: ast.FunctionDef, b: ast.FunctionDef) -> float:
    """How much of ``a``'s code ``b`` repeats, line by line (0 to 1)."""
    return difflib.SequenceMatcher(a=ast.unparse(a).splitlines(), b=ast.unparse(b).splitlines(),
                                   autojunk=False).ratio()


def _name_spans(node: ast.AST, name: str, new: str) -> list[tuple[int, int, int, str]]:
    """Each occurrence of the name ``name`` in ``node`` as a span for ``_rewrite`` to replace by ``new``."""
    return [_span(n, new) for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == name]


def _span(name: ast.Name, new: str) -> tuple[int, int, int, str]:
    """The name node's place as a span for ``_rewrite`` to replace by ``new``."""
    return name.lineno - 1, name.col_offset, name.end_col_offset or name.col_offset + len(name.id), new


def _differing_in_case(name: str, variables: set[str]) -> list[str]:
    """The module variables spelled as ``name`` but for case (``ETA`` for ``eta``)."""
    return [v for v in variables if v.lower() == name.lower()]


def _deleted(lines: list[str], start: int, end: int) -> list[tuple[int, int, int, str]]:
    """Spans for ``_rewrite`` that delete rows ``start`` to ``end`` (0-based, end excluded) of ``lines``."""
    return [(row, 0, len(lines[row].encode()), "") for row in range(start, end)]


def _applied(source: str, renames: list[tuple[int, int, int, str]], inserts: list[tuple[int, str]],
             notes: list[str]) -> tuple[str, list[str]]:
    """A repair's result: ``source`` with its spans renamed and lines inserted (``_rewrite``) and its
    notes, or ``source`` as it was and no notes when there is nothing to do or the result would not
    parse."""
    if not notes:
        return source, []
    repaired = _rewrite(source.splitlines(keepends=True), renames, inserts)
    return (repaired, notes) if repaired is not None else (source, [])


def _rewrite(lines: list[str], renames: list[tuple[int, int, int, str]], inserts: list[tuple[int, str]]) -> str | None:
    """``lines`` with each (line, start byte, end byte, text) span replaced and each (line, text)
    inserted before that line, all positions in the original; ``None`` if the result does not parse."""
    lines = list(lines)
    for row, start, end, text in sorted(renames, reverse=True):
        raw = lines[row].encode()
        lines[row] = (raw[:start] + text.encode() + raw[end:]).decode()
    for row, text in sorted(inserts, reverse=True):
        lines.insert(row, text)
    repaired = "".join(lines)
    try:
        ast.parse(repaired)
    except SyntaxError:
        return None
    return repaired
