"""Which lines of an edit ran: when a run's results equal the baseline's.

An edit whose results are identical to the baseline's, with nothing static to say why (no unread new
name, no unselected branch), often holds code that never runs (under a condition true at no
step, such as ``if t % STEPS / 10 == 0:``). The run is repeated in the sandbox under
a small harness (``scientist/sandbox/harness/lines_run.py``) that traces the script's own lines and reports
which of the edit's new lines ran; the repair prompt then names the ones that never did. When every
new line ran, the harness has also watched the new lines that update a name from itself (``g = g_pre
* g``): one that never changed the name is named, with the values the line read that were the same
every time (a factor that is exactly 1 at every step, such as ``g.g / g.g``).
"""

from __future__ import annotations

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
SHOWN = 3  # lines quoted in the message


@dataclass(frozen=True)
class Rerun:
    """What a rerun saw of an edit's new lines: those it never reached, the updates that never changed
    the name they update (line, name), and the names those read whose value was the same every time."""

    missed: list[int]
    kept: list[tuple[int, str]] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)


def _rerun(found: object, wanted: list[int], after: str) -> Rerun:
    ran = {int(n) for n in found["ran"]}  # type: ignore[index]
    watched = found.get("watched", [])  # type: ignore[union-attr]
    kept = [(w["line"], w["name"]) for w in watched
            if w["runs"] and w["compared"] and not w["changed"] and updates(after, w["line"], w["name"])]
    constants = {w["name"]: w["same"] for w in watched if w["same"] is not None}
    return Rerun(missed=[n for n in wanted if n not in ran], kept=kept, constants=constants)


def lines_not_run(sandbox: Sandbox, workdir: Path, before: str, after: str, limits: Limits) -> Rerun | None:
    """What a rerun of ``experiment.py`` (``after``, already in ``workdir``) saw of the edit's new
    statement lines (``Rerun``); ``None`` when the rerun could not say."""
    wanted = new_statement_lines(before, after)
    if not wanted:
        return None
    watch = ";".join(f"{line}={','.join(names)}" for line, names in assigned_names(after, wanted).items())
    helper = run_helper(sandbox, workdir, "lines_run.py", [",".join(map(str, wanted)), watch, "experiment.py"],
                        limits, MARK, "the run again to see which lines ran", scratch=SCRATCH_DIR)
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


def describe_not_run(after: str, rerun: Rerun) -> str:
    """'lines 79, 80 of your change never ran (79: ...; 80: ...): ...' or, with none missed, that all ran
    (and which new updates changed nothing)."""
    missed = rerun.missed
    if not missed:
        if rerun.kept:
            return (f"every line you changed ran, yet the results are the same: {describe_kept(after, rerun)}: "
                    "the new computation leaves the values as they were; compute what the change asks for")
        return ("every line you changed ran, yet the results are the same: the new values never reach what "
                "is measured")
    text = after.splitlines()
    quoted = "; ".join(f"{n}: {text[n - 1].strip()}" for n in missed[:SHOWN])
    more = f"; and {len(missed) - SHOWN} more" if len(missed) > SHOWN else ""
    return (f"line{'s' if len(missed) > 1 else ''} {', '.join(map(str, missed))} of your change never ran "
            f"({quoted}{more}): the condition, loop or call that should reach "
            f"{'them' if len(missed) > 1 else 'it'} never does")
