"""Run inside the sandbox by scientist.experiments.reruns.values: run a script, and if it raises, say what the
failing line was working with.

argv[1] is the script, the rest its arguments. The script runs as __main__ with those arguments. If
it raises, its traceback goes to stderr as usual and the last line on stdout is MARK followed by a
JSON object {"line": N, "function": name, "values": {expression: description}, "callers": [...],
"error": "type: message"}:
the names (and name["key"], name.attr) that the failing statement of the innermost frame in the
script reads, and the short operands of its operators and calls (evaluated again in that frame,
unless they call a function of the script), each described by type, dtype and shape or a short repr.
"callers" holds the same for the calls in the script that led there, nearest first: a wrong
argument is often passed one frame up. With ``--at LINE`` before the script, it instead stops the
first time the statement at LINE is about to run and reports what it reads then (no "callers").
With ``--float-errors`` before the script, numpy (when the script has it) raises on the first
overflow, division by zero or invalid operation instead of going on with inf or nan, so a run whose
results are not finite fails at the line that made the first one; float arrays are then described
with their range too. With ``--memory-mb N`` first, the script's data segment is capped at N MiB
(``cap_memory``), so a run the memory limit killed fails with a MemoryError at the line that
allocated past it. It imports only the standard library (and numpy for ``--float-errors``).
"""

import ast
import json
import os
import runpy
import signal
import sys
import traceback
import types

MARK = FAILING_VALUES_MARK  # noqa: F821 (defined by scientist/sandbox/protocol.py, sent in front of this file)
MAX_VALUES = 16
MAX_CALLERS = 2  # frames of the script above the failing one whose call is described too
MAX_CALLER_VALUES = 8
MAX_EXPRESSION = 70  # characters of an operand worth evaluating
EVAL_SECONDS = 2.0
RAISES = "(raises "
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
MAX_REPR = 80
MAX_ERROR = 400  # the exception's text: a broadcasting error's shapes come at its end
COMPOUND_HEADERS = {ast.For: ("target", "iter"), ast.AsyncFor: ("target", "iter"), ast.While: ("test",),
                    ast.If: ("test",), ast.With: ("items",), ast.AsyncWith: ("items",)}
MISSING = object()
RANGES = False  # --float-errors: describe float arrays with their range and count of non-finite values


def short(text: str) -> str:
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 3] + "..."


def describe(value: object, depth: int = 0) -> str | None:
    """'ndarray float64 shape (450, 10)', 'list of length 3, first item ...', '0.05', 'the function
    rastrigin_der' (a value that is a function: ``grad.shape`` on the gradient function, not the
    gradient); None for modules, classes and other code."""
    if isinstance(value, types.FunctionType):
        return f"the function {value.__name__}"
    if isinstance(value, (types.ModuleType, type)) or (callable(value) and not hasattr(value, "shape")):
        return None
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape == () and dtype is not None and hasattr(value, "item"):  # a numpy scalar: its value is what matters
        try:
            return short(f"{value.item()!r} ({dtype})")
        except (TypeError, ValueError):
            pass
    if isinstance(shape, tuple) and dtype is not None:
        return f"{type(value).__name__} {dtype} shape {shape}" + (value_range(value) if RANGES else "")
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return short(repr(value))
    if isinstance(value, (list, tuple)) and len(value) <= 8 and all(
            isinstance(v, (bool, int, float, str)) for v in value):
        return short(repr(value))
    if isinstance(value, (list, tuple)):
        first = describe(value[0], depth + 1) if value and depth < 2 else None
        return f"{type(value).__name__} of length {len(value)}" + (f", first item {first}" if first else "")
    if isinstance(value, dict):
        return short(f"dict with keys {list(value)[:8]!r}")
    return type(value).__name__


def value_range(array: object) -> str:
    """', from -3.2 to 0.5' for a float array, with ', 3 not finite' when some are inf or nan."""
    import numpy

    try:
        if not numpy.issubdtype(array.dtype, numpy.floating) or array.size == 0:
            return ""
        finite = array[numpy.isfinite(array)]
        bad = int(array.size - finite.size)
        span = f", from {finite.min():.3g} to {finite.max():.3g}" if finite.size else ""
        return span + (f", {bad} not finite" if bad else "")
    except Exception:  # an array-like that is not a numpy array: its shape is enough
        return ""


def raise_float_errors() -> None:
    """numpy raises FloatingPointError where it would have made the first inf or nan (underflow to
    zero is left alone: it is ordinary)."""
    global RANGES
    try:
        import numpy
    except ImportError:
        return
    numpy.seterr(divide="raise", over="raise", invalid="raise", under="ignore")
    RANGES = True


def statement_at(tree: ast.AST, line: int) -> ast.stmt | None:
    """The innermost statement spanning ``line``."""
    found = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno):
            if found is None or node.lineno >= found.lineno:
                found = node
    return found


def read_expressions(statement: ast.stmt) -> list[ast.expr]:
    """What the statement reads: for a compound statement only its header (not its body)."""
    headers = COMPOUND_HEADERS.get(type(statement))
    if headers is not None:
        roots = []
        for name in headers:
            part = getattr(statement, name)
            roots += [item.context_expr for item in part] if isinstance(part, list) else [part]
        return roots
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Try)):
        return []
    return [statement]


def lookup(node: ast.expr, frame: types.FrameType) -> object:
    """The value of a name, name["constant"] or name.attr in the frame, or MISSING."""
    if isinstance(node, ast.Name):
        for scope in (frame.f_locals, frame.f_globals):
            if node.id in scope:
                return scope[node.id]
        return MISSING
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        base = lookup(node.value, frame)
        if isinstance(base, (dict, list, tuple)):
            try:
                return base[node.slice.value]
            except (KeyError, IndexError, TypeError):
                return MISSING
        return MISSING
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        base = lookup(node.value, frame)
        if base is MISSING or isinstance(base, types.ModuleType):
            return MISSING
        return getattr(base, node.attr, MISSING)
    return MISSING


def _script_function(value: object, script: str) -> bool:
    code = getattr(value, "__code__", None)
    return code is not None and os.path.abspath(code.co_filename) == script


def evaluable(node: ast.expr, frame: types.FrameType, script: str) -> bool:
    """An operand worth evaluating after the crash: short, and calling nothing the script defines (a
    training loop could run for minutes); calls into libraries are fine, the process is ending."""
    if isinstance(node, ast.Constant) or len(ast.unparse(node)) > MAX_EXPRESSION:
        return False
    for inner in ast.walk(node):
        if isinstance(inner, (ast.Lambda, ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await, *COMPREHENSIONS)):
            return False
        if isinstance(inner, ast.Call):
            try:
                function = evaluate(inner.func, frame)
            except Exception:
                return False
            if _script_function(function, script):
                return False
    return True


def evaluate(node: ast.expr, frame: types.FrameType) -> object:
    """The value of ``node`` in the frame, within EVAL_SECONDS."""
    code = compile(ast.Expression(body=node), "<failing line>", "eval")
    signal.setitimer(signal.ITIMER_REAL, EVAL_SECONDS)
    try:
        return eval(code, frame.f_globals, dict(frame.f_locals))  # noqa: S307 - the crashed script's own expression
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def operands(root: ast.AST) -> list[ast.expr]:
    """The operands of each operator, comparison and call in ``root``: where shapes meet."""
    found: list[ast.expr] = []
    for node in ast.walk(root):
        if isinstance(node, ast.BinOp):
            found += [node.left, node.right]
        elif isinstance(node, ast.Compare):
            found += [node.left, *node.comparators]
        elif isinstance(node, ast.Call):
            found += [*node.args, *(k.value for k in node.keywords)]
    return found


def values_read(statement: ast.stmt, frame: types.FrameType, script: str = "") -> dict[str, str]:
    """Each name, name["constant"] and name.attr the statement reads, and each short operand of its
    operators and calls, in source order."""
    nodes = []
    for root in read_expressions(statement):
        called = {id(node.func) for node in ast.walk(root) if isinstance(node, ast.Call)}  # what is called is code
        nodes += [node for node in ast.walk(root) if isinstance(node, (ast.Name, ast.Subscript, ast.Attribute))
                  and not (isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)) and id(node) not in called]
        nodes += operands(root)
    found: dict[str, str] = {}
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset, -(n.end_col_offset or 0))):
        text = ast.unparse(node)
        if text in found:
            continue
        try:
            value = lookup(node, frame)
            if value is MISSING and evaluable(node, frame, script):
                value = evaluate(node, frame)
            described = None if value is MISSING else describe(value)
        except Exception as exc:  # the expression (or a value's own __repr__) raised: say so, go on
            described = f"{RAISES}{type(exc).__name__})"
        if described is not None:
            found[text] = described
    raising = [text for text, described in found.items() if described.startswith(RAISES)]
    for outer in raising:  # only the innermost expression that raises says where
        if any(inner != outer and inner in outer for inner in raising):
            del found[outer]
    return dict(list(found.items())[:MAX_VALUES])


def _too_slow(_signum: int, _frame: object) -> None:
    raise TimeoutError("took too long to evaluate")


def report(exc: BaseException, script: str) -> dict | None:
    """The innermost script frame's line and values, and under "callers" the same for up to
    MAX_CALLERS script frames that called it, nearest first, each with its function's name."""
    frames, seen = [], set()
    for frame, line in reversed(list(traceback.walk_tb(exc.__traceback__))):  # innermost first
        if os.path.abspath(frame.f_code.co_filename) == script and line is not None \
                and (frame.f_code, line) not in seen:  # a recursion's frames repeat: each place once
            seen.add((frame.f_code, line))
            frames.insert(0, (frame, line))
    if not frames:
        return None
    with open(script, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    signal.signal(signal.SIGALRM, _too_slow)
    found = []
    for frame, line in reversed(frames[-1 - MAX_CALLERS:]):
        statement = statement_at(tree, line)
        if statement is None:
            continue
        values = values_read(statement, frame, script)
        found.append({"line": line, "function": frame.f_code.co_name,
                      "values": values if not found else dict(list(values.items())[:MAX_CALLER_VALUES])})
    if not found or found[0]["line"] != frames[-1][1]:
        return None
    error = f"{type(exc).__name__}: {exc}"
    return {**found[0], "callers": found[1:],
            "error": error if len(error) <= MAX_ERROR else error[: MAX_ERROR - 3] + "..."}


def stop_at(script: str, line: int) -> None:
    """Trace the script's own frames until the statement at ``line`` is about to run for the first
    time; then print MARK and what it reads, and end the process (``--at LINE``: the baseline's
    values at the line where an attempt failed)."""
    with open(script, encoding="utf-8") as handle:
        statement = statement_at(ast.parse(handle.read()), line)
    if statement is None:
        return
    signal.signal(signal.SIGALRM, _too_slow)

    def in_script(frame: types.FrameType, event: str, arg: object):
        if event == "line" and frame.f_lineno == statement.lineno:
            sys.settrace(None)
            found = {"line": line, "function": frame.f_code.co_name, "values": values_read(statement, frame, script)}
            sys.stdout.write("\n" + MARK + json.dumps(found) + "\n")
            sys.stdout.flush()
            os._exit(0)
        return in_script

    def calls(frame: types.FrameType, event: str, arg: object):
        return in_script if os.path.abspath(frame.f_code.co_filename) == script else None

    sys.settrace(calls)


def cap_memory(mib: int) -> None:
    """Cap the process's data segment (the heap and anonymous maps numpy allocates from) at ``mib``
    MiB, so an allocation past it raises MemoryError at the line that asked for it, instead of the
    sandbox's memory limit killing the process with no traceback."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = mib * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def main() -> int:
    at = None
    if sys.argv[1] == "--memory-mb":
        cap_memory(int(sys.argv[2]))
        sys.argv = sys.argv[2:]
    if sys.argv[1] == "--at":
        at, sys.argv = int(sys.argv[2]), sys.argv[2:]
    elif sys.argv[1] == "--float-errors":
        sys.argv = sys.argv[1:]
        raise_float_errors()
    script = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    if at is not None:
        stop_at(script, at)
    sys.path.insert(0, os.path.dirname(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise
    except Exception as exc:
        traceback.print_exc()
        found = report(exc, script)
        if found is not None:
            sys.stdout.write("\n" + MARK + json.dumps(found) + "\n")
            sys.stdout.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
