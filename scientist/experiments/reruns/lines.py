"""Which lines of an edit ran: when a run's results equal the baseline's.

An edit whose results are identical to the baseline's, with nothing static to say why (no unread new
name, no unselected branch), often holds code that never runs (under a condition true at no
step, such as ``if t % STEPS / 10 == 0:``). The run is repeated in the sandbox under
a small harness (``scientist/sandbox/harness/lines_run.py``) that traces the script's own lines and reports
which of the edit's new lines ran; the repair prompt then names the ones that never did. When every
new line ran, the harness has also watched the new lines that update a name from itself (``g = g_pre
* g``): one that never changed the name is named, with the values the line read that were the same
every time (a factor that is exactly 1 at every step, such as ``g.g / g.g``).

The same rerun compares each function the edit changed with the baseline's version of it, called on
copies of the same arguments (``twins``): a rewrite that returns and leaves in its arguments exactly
what the baseline's did, call after call, computes nothing new, whatever its text and comments
say it does.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from scientist.experiments.facts.code import assigned_names, new_statement_lines, updates
from scientist.sandbox import run_helper
from scientist.sandbox.base import Limits, Sandbox
from scientist.sandbox.protocol import LINES_RAN_MARK as MARK

log = logging.getLogger(__name__)

SCRATCH_DIR = ".lines_run"
OPTIONS_FILE = ".lines_run_options.json"
DEADLINE_SHARE = 0.8  # the rerun reports what it saw by this share of the run's time limit
SHOWN = 3  # lines quoted in the message


@dataclass(frozen=True)
class Rerun:
    """What a rerun saw of an edit's new lines: those it never reached, the updates that never changed
    the name they update (line, name), and the names those read whose value was the same every time."""

    missed: list[int]
    kept: list[tuple[int, str]] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)
    # changed functions that computed what the baseline's version did at every call compared: name, calls
    same: list[tuple[str, int]] = field(default_factory=list)
    complete: bool = True  # False: the rerun reported at its deadline, so ``missed`` is empty (cannot say)


def _rerun(found: object, wanted: list[int], after: str) -> Rerun:
    ran = {int(n) for n in found["ran"]}  # type: ignore[index]
    watched = found.get("watched", [])  # type: ignore[union-attr]
    kept = [(w["line"], w["name"]) for w in watched
            if w["runs"] and w["compared"] and not w["changed"] and updates(after, w["line"], w["name"])]
    constants = {w["name"]: w["same"] for w in watched if w["same"] is not None}
    same = [(t["name"], int(t["compared"])) for t in found.get("twins", [])  # type: ignore[union-attr]
            if t["compared"] and not t["differed"]]
    # lines not reached by the deadline may yet have run: only a run that ended can say they never do
    complete = not found.get("deadline")  # type: ignore[union-attr]
    missed = [n for n in wanted if n not in ran] if complete else []
    return Rerun(missed=missed, kept=kept, constants=constants, same=same, complete=complete)


def _body(function: ast.FunctionDef) -> str:
    """What a function computes, as text: its AST without its docstring."""
    body = function.body[1:] if ast.get_docstring(function) is not None and len(function.body) > 1 else function.body
    return ast.dump(ast.Module(body=body, type_ignores=[])) + ast.dump(function.args)


def changed_functions(before: str, after: str) -> set[str] | None:
    """The top-level functions whose computation the edit changed (docstrings aside), or ``None`` when
    it changed anything else too: a constant, an import, the main guard, a new or removed function."""
    try:
        old, new = ast.parse(before).body, ast.parse(after).body
    except SyntaxError:
        return None

    def split(body: list[ast.stmt]) -> tuple[dict[str, str], str]:
        functions = {n.name: _body(n) for n in body if isinstance(n, ast.FunctionDef)}
        rest = ast.dump(ast.Module(body=[n for n in body if not isinstance(n, ast.FunctionDef)], type_ignores=[]))
        return functions, rest

    (old_functions, old_rest), (new_functions, new_rest) = split(old), split(new)
    if old_rest != new_rest or old_functions.keys() != new_functions.keys():
        return None
    return {name for name, text in new_functions.items() if old_functions[name] != text}


def twins(before: str, after: str) -> dict[str, dict[str, object]]:
    """The top-level functions whose computation the edit changed, each as {"line": its def line in
    ``after``, "source": its text in ``before``}: undecorated, no generator, no ``global``/``nonlocal``
    (a function whose effect is a global is not compared by what it returns)."""
    try:
        old = {n.name: n for n in ast.parse(before).body if isinstance(n, ast.FunctionDef)}
        new = [n for n in ast.parse(after).body if isinstance(n, ast.FunctionDef)]
    except SyntaxError:
        return {}
    found: dict[str, dict[str, object]] = {}
    for function in new:
        base = old.get(function.name)
        if base is None or function.decorator_list or base.decorator_list or _body(base) == _body(function):
            continue
        if any(isinstance(n, ast.Global | ast.Nonlocal | ast.Yield | ast.YieldFrom)
               for tree in (base, function) for n in ast.walk(tree)):
            continue
        found[function.name] = {"line": function.lineno, "source": ast.get_source_segment(before, base)}
    return found


def lines_not_run(sandbox: Sandbox, workdir: Path, before: str, after: str, limits: Limits) -> Rerun | None:
    """What a rerun of ``experiment.py`` (``after``, already in ``workdir``) saw of the edit's new
    statement lines (``Rerun``); ``None`` when the rerun could not say."""
    wanted = new_statement_lines(before, after)
    if not wanted:
        return None
    watch = ";".join(f"{line}={','.join(names)}" for line, names in assigned_names(after, wanted).items())
    options = {"twins": twins(before, after), "deadline_s": DEADLINE_SHARE * limits.timeout_s}
    helper = run_helper(sandbox, workdir, "lines_run.py", [",".join(map(str, wanted)), watch, OPTIONS_FILE,
                                                           "experiment.py"],
                        limits, MARK, "the run again to see which lines ran", scratch=SCRATCH_DIR,
                        files={OPTIONS_FILE: json.dumps(options)})
    if helper is None:
        return None
    found, result = helper
    try:
        return _rerun(found, wanted, after)
    except (AttributeError, KeyError, TypeError, ValueError):
        log.info("the rerun reported no lines (%s)", result.one_line())
        return None


def describe_kept(after: str, rerun: Rerun) -> str:
    """'line 62 (g = g_pre * g) left g as it was every time it ran (g_pre was 1.0 every time)'."""
    text = after.splitlines()
    said = []
    for line, name in rerun.kept[:SHOWN]:
        read = [n for n in dict.fromkeys(re.findall(r"[A-Za-z_]\w*", text[line - 1].split("=", 1)[-1]))
                if n != name and n in rerun.constants]
        why = f" ({', '.join(f'{n} was {rerun.constants[n]}' for n in read)} every time)" if read else ""
        said.append(f"line {line} ({text[line - 1].strip()}) left {name} as it was every time it ran{why}")
    return "; ".join(said)


def describe_same(rerun: Rerun) -> str:
    """'f returned, and left in its arguments, what the baseline's f does at each of the 4 calls
    compared'."""
    return "; ".join(f"{name} returned, and left in its arguments, what the baseline's {name} does at "
                     f"{'the one call' if calls == 1 else f'each of the {calls} calls'} compared"
                     for name, calls in rerun.same[:SHOWN])


def describe_not_run(after: str, rerun: Rerun) -> str:
    """'lines 79, 80 of your change never ran (79: ...; 80: ...): ...' or, with none missed, that all ran
    (and which new updates changed nothing)."""
    missed = rerun.missed
    if not missed:
        if rerun.kept:
            return (f"every line you changed ran, yet the results are the same: {describe_kept(after, rerun)}: "
                    "the new computation leaves the values as they were; compute what the change asks for")
        if rerun.same:
            return (f"every line you changed ran, yet the results are the same: {describe_same(rerun)}: "
                    "the new code computes nothing new; compute what the change asks for")
        return ("every line you changed ran, yet the results are the same: the new values never reach what "
                "is measured")
    text = after.splitlines()
    quoted = "; ".join(f"{n}: {text[n - 1].strip()}" for n in missed[:SHOWN])
    more = f"; and {len(missed) - SHOWN} more" if len(missed) > SHOWN else ""
    return (f"line{'s' if len(missed) > 1 else ''} {', '.join(map(str, missed))} of your change never ran "
            f"({quoted}{more}): the condition, loop or call that should reach "
            f"{'them' if len(missed) > 1 else 'it'} never does")
