"""Which lines of an edit ran: when a run's results equal the baseline's.

An edit whose results are identical to the baseline's, with nothing static to say why (no unread new
name, no unselected branch), often holds code that never runs: the 1.5B model's cosine decay sat
under ``if t > 0 and t % STEPS / 10 == 0:``, true at no step. The run is repeated in the sandbox under
a small harness (``scientist/sandbox/lines_run.py``) that traces the script's own lines and reports
which of the edit's new lines ran; the repair prompt then names the ones that never did.
"""

from __future__ import annotations

import ast
import difflib
import logging
from pathlib import Path

from scientist.sandbox import run_helper
from scientist.sandbox.base import Limits, Sandbox

log = logging.getLogger(__name__)

MARK = "SCIENTIST_LINES_RAN "
SCRATCH_DIR = ".lines_run"
SHOWN = 3  # lines quoted in the message


def new_statement_lines(before: str, after: str) -> list[int]:
    """The first lines of the statements of ``after`` that hold a line the edit added or changed:
    the innermost statement around each such line (a changed argument on a call's second line is
    that call's statement; a changed condition is its ``if``)."""
    statements = [node for node in ast.walk(ast.parse(after)) if isinstance(node, ast.stmt)]
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    changed = {line + 1 for tag, _, _, j1, j2 in matcher.get_opcodes() if tag in ("replace", "insert")
               for line in range(j1, j2)}
    found = set()
    for line in changed:
        around = [node for node in statements if node.lineno <= line <= (node.end_lineno or node.lineno)]
        if around:
            found.add(max(around, key=lambda node: node.lineno).lineno)
    return sorted(found)


def lines_not_run(sandbox: Sandbox, workdir: Path, before: str, after: str, limits: Limits) -> list[int] | None:
    """The edit's new statement lines that a rerun of ``experiment.py`` (``after``, already in
    ``workdir``) never reached; ``None`` when the rerun could not say."""
    wanted = new_statement_lines(before, after)
    if not wanted:
        return None
    helper = run_helper(sandbox, workdir, "lines_run.py", [",".join(map(str, wanted)), "experiment.py"], limits,
                        MARK, "the run again to see which lines ran", scratch=SCRATCH_DIR)
    if helper is None:
        return None
    found, result = helper
    try:
        ran = {int(n) for n in found["ran"]}  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        log.info("the rerun reported no lines (%s)", result.one_line())
        return None
    return [n for n in wanted if n not in ran]


def describe_not_run(after: str, missed: list[int]) -> str:
    """'lines 79, 80 of your change never ran (79: ...; 80: ...): ...' or, with none missed, that all ran."""
    if not missed:
        return ("every line you changed ran, yet the results are the same: the new values never reach what "
                "is measured")
    text = after.splitlines()
    quoted = "; ".join(f"{n}: {text[n - 1].strip()}" for n in missed[:SHOWN])
    more = f"; and {len(missed) - SHOWN} more" if len(missed) > SHOWN else ""
    return (f"line{'s' if len(missed) > 1 else ''} {', '.join(map(str, missed))} of your change never ran "
            f"({quoted}{more}): the condition, loop or call that should reach "
            f"{'them' if len(missed) > 1 else 'it'} never does")
