"""What the failing line of a crashed run was working with.

After a run ends in an exception, it is run once more in the sandbox under a small harness
(``scientist/sandbox/harness/failing_values.py``) that, when the script raises, prints the type, dtype and
shape of each value the failing statement reads. The model then sees
``y = ndarray int64 shape (450,); probs = ndarray float64 shape (450, 10)`` beside the traceback,
which is what a person would look at in a debugger, and the same for the call one or two frames up
that led there (the wrong argument is often passed there: ``targets`` where ``targets[batch]`` was
meant). The run the failure log records is the plain
``python experiment.py`` run; this second one only explains it.
"""

from __future__ import annotations

import ast
import difflib
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from scientist.experiments.facts.units import unit_at_line
from scientist.sandbox import run_helper
from scientist.sandbox.base import Limits, Sandbox
from scientist.sandbox.protocol import FAILING_VALUES_MARK as MARK

log = logging.getLogger(__name__)

MIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class FailingValues:
    """The values one failing statement read, each described in a few words, and those of the calls
    in the script that led to it (``callers``, nearest first: function, line, values)."""

    line: int
    values: dict[str, str]
    callers: tuple[tuple[str, int, dict[str, str]], ...] = ()
    baseline: dict[str, str] = field(default_factory=dict)  # the same line's values in the baseline, where they differ
    error: str = ""  # the exception the rerun ended in, "FloatingPointError: invalid value encountered in sqrt"
    # the baseline's return of the failing function, when the failing line is not one of the baseline's:
    # 'line 96 (return np.eye(10)[y])'; ``baseline`` then holds all its values
    returned_at: str = ""

    def describe(self) -> str:
        text = _listed(self.values)
        clash = shape_clash(self.values, self.error)
        if clash:
            text += f" ({clash})"
        if self.baseline and self.returned_at:
            text += (f" | what this function returns in the baseline (which runs), {self.returned_at}: "
                     f"{_listed(self.baseline)}")
        elif self.baseline:
            text += f" | the same line in the baseline (which runs) read: {_listed(self.baseline)}"
            axes = [note for name, then in self.baseline.items()
                    if (note := _axis_change(name, self.values.get(name, ""), then))]
            if axes:
                text += f" ({'; '.join(axes)})"
        for function, line, values in self.callers:
            if values:
                text += f" | in {_where(function)}, line {line}, the call that led there: {_listed(values)}"
        return text


SHAPE = re.compile(r"shape \(([\d, ]*)\)")


BROADCAST = re.compile(r"could not be broadcast together with shapes ((?:\([\d, ]*\) ?)+)")


def _shape(text: str) -> tuple[int, ...] | None:
    found = SHAPE.search(text) or re.fullmatch(r"\(([\d, ]*)\)", text.strip())
    return tuple(int(d) for d in found.group(1).split(",") if d.strip()) if found else None


def shape_clash(values: dict[str, str], error: str) -> str | None:
    """For a broadcasting error between two shapes of different rank ('shapes (1347,) (1347,10)'),
    which value has the smaller shape and what it must become: 'uniform_targets has shape (1347,)
    where np.eye(10)[y] has shape (1347, 10): uniform_targets must have shape (1347, 10) too' (the
    longest expression of each shape: the operands rather than their parts). A small model shown
    only both shapes tends to change something else, such as the dtype."""
    found = BROADCAST.search(error)
    if found is None:
        return None
    shapes = {shape for text in re.findall(r"\([\d, ]*\)", found.group(1)) if (shape := _shape(text)) is not None}
    if len(shapes) != 2:
        return None
    low, high = sorted(shapes, key=len)
    if len(low) == len(high):
        return None
    names = {shape: sorted((name for name, value in values.items() if _shape(value) == shape), key=len)
             for shape in (low, high)}
    if not names[low] or not names[high]:
        return None
    small, large = names[low][-1], names[high][-1]
    return f"{small} has shape {low} where {large} has shape {high}: {small} must have shape {high} too"


def _axis_change(name: str, now: str, then: str) -> str | None:
    """'x has 10000 along axis 0 where the baseline had 5000' when two shapes of the same rank differ
    along one axis (squared states joined along rows instead of the feature axis)."""
    shapes = [SHAPE.search(text) for text in (now, then)]
    if not all(shapes):
        return None
    dims = [[int(d) for d in m.group(1).split(",") if d.strip()] for m in shapes]  # type: ignore[union-attr]
    if len(dims[0]) != len(dims[1]):
        return None
    differ = [axis for axis, (a, b) in enumerate(zip(*dims, strict=True)) if a != b]
    if len(differ) != 1:
        return None
    axis = differ[0]
    return f"{name} has {dims[0][axis]} along axis {axis} where the baseline had {dims[1][axis]}"


def _listed(values: dict[str, str]) -> str:
    return "; ".join(f"{name} = {value}" for name, value in values.items())


def _where(function: str) -> str:
    return "the main block" if function == "<module>" else function


def _parse(found: dict) -> FailingValues:
    callers = tuple((str(c["function"]), int(c["line"]), {str(k): str(v) for k, v in c["values"].items()})
                    for c in found.get("callers", []))
    return FailingValues(int(found["line"]), {str(k): str(v) for k, v in found["values"].items()}, callers,
                         error=str(found.get("error", "")))


def failing_values(sandbox: Sandbox, workdir: Path, args: list[str], limits: Limits,
                   first_wall_s: float, scratch: str | None = None) -> FailingValues | None:
    """Run ``python <args>`` again under the harness; the failing statement's values, or None when
    the rerun did not fail in the script or the harness could not run (``scratch``: the rerun's
    ``--out_dir``, removed after; ``args`` then leaves it out)."""
    helper = run_helper(sandbox, workdir, "failing_values.py", args, _within(limits, first_wall_s), MARK,
                        "the failed run again to read its values", scratch=scratch)
    if helper is None:
        return None
    found = _parsed(helper[0])
    if found is None:
        log.info("the rerun of the failed run reported no values (%s)", helper[1].one_line())
    return found


def first_non_finite(sandbox: Sandbox, workdir: Path, limits: Limits, first_wall_s: float) -> FailingValues | None:
    """For a run whose results are not finite: ``experiment.py`` run again with numpy's floating-point
    errors raised (``--float-errors``), so it fails at the line that made the first inf or nan; that
    line's values (float arrays with their range), or ``None`` when the rerun raised nothing there.
    The run's own folder is left as it was (the rerun writes to a scratch folder)."""
    return failing_values(sandbox, workdir, ["--float-errors", "experiment.py"], limits, first_wall_s,
                          scratch=FLOAT_SCRATCH_DIR)


def memory_error_at(sandbox: Sandbox, workdir: Path, limits: Limits, first_wall_s: float) -> FailingValues | None:
    """For a run the memory limit killed: ``experiment.py`` run again with its data segment capped below
    that limit (``--memory-mb``, ``MEMORY_SHARE`` of it), so it raises MemoryError at the line that
    allocated past it ("Unable to allocate 703. KiB for an array with shape (300, 300)", where the
    baseline's value was (300,)); that line's values, or ``None`` when the rerun raised nothing there.
    The run's own folder is left as it was (the rerun writes to a scratch folder)."""
    cap = max(64, int(limits.memory_mb * MEMORY_SHARE))
    return failing_values(sandbox, workdir, ["--memory-mb", str(cap), "experiment.py"], limits, first_wall_s,
                          scratch=MEMORY_SCRATCH_DIR)


MEMORY_SHARE = 0.8  # the rerun's cap, as a share of the sandbox's limit: it must raise before the sandbox kills
MEMORY_SCRATCH_DIR = ".memory_errors"
FLOAT_SCRATCH_DIR = ".float_errors"
BASELINE_SCRIPT = "baseline_for_values.py"
SCRATCH_DIR = ".baseline_values"


def with_baseline(found: FailingValues, sandbox: Sandbox, workdir: Path, code: str, baseline: str,
                  limits: Limits, first_wall_s: float) -> FailingValues:
    """``found`` with the values the same statement read in the baseline, where they differ (the
    baseline run under the harness until that statement first runs): 'targets = ndarray float64
    shape (64,)' beside the baseline's 'shape (64, 10)' says what the change broke. When the failing
    line is one of the baseline's (``baseline_line``); else, all the values of the baseline's one
    ``return`` of the function the failing line is in (``baseline_return``); ``found`` as it is
    when neither."""
    line, returned = baseline_line(baseline, code, found.line), ""
    if line is None:
        line = baseline_return(baseline, code, found.line)
        if line is None:
            return found
        returned = f"line {line} ({baseline.splitlines()[line - 1].strip()[:120]})"
    helper = run_helper(sandbox, workdir, "failing_values.py", ["--at", str(line), BASELINE_SCRIPT],
                        _within(limits, first_wall_s), MARK, "the baseline to the failing line",
                        scratch=SCRATCH_DIR, files={BASELINE_SCRIPT: baseline})
    if helper is None:
        return found
    reached = _parsed(helper[0])
    if reached is None:
        log.info("the baseline did not reach the failing line in time (%s)", helper[1].one_line())
        return found
    if returned:
        return replace(found, baseline=reached.values, returned_at=returned)
    differ = {k: v for k, v in reached.values.items() if k in found.values and found.values[k] != v}
    return replace(found, baseline=differ)


def baseline_return(baseline: str, code: str, line: int) -> int | None:
    """For a failing ``return`` at ``code``'s line ``line``, the line of the one ``return`` of the
    baseline's version of its top-level function, or ``None``. When a new ``return`` crashes on
    shapes, the baseline's ``return`` of the same function, and its value's shape, says what the
    function must give."""
    try:
        tree, base = ast.parse(code), ast.parse(baseline)
    except SyntaxError:
        return None
    if not any(isinstance(node, ast.Return) and node.lineno <= line <= (node.end_lineno or node.lineno)
               for node in ast.walk(tree)):
        return None
    unit = unit_at_line(code, line)
    function = next((node for node in base.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                     and unit is not None and unit.kind == "def" and node.name == unit.defines), None)
    if function is None:
        return None
    returns = [node.lineno for node in ast.walk(function) if isinstance(node, ast.Return) and node.value is not None]
    return returns[0] if len(returns) == 1 else None


def baseline_line(baseline: str, code: str, line: int) -> int | None:
    """The baseline's line that ``code``'s line ``line`` is: the same line in a stretch the edit left
    as it was (a line diff), else the one baseline line with its text; ``None`` when neither."""
    lines, base = code.splitlines(), baseline.splitlines()
    if not 0 < line <= len(lines) or not lines[line - 1].strip():
        return None
    matcher = difflib.SequenceMatcher(a=base, b=lines, autojunk=False)
    for i, j, size in matcher.get_matching_blocks():
        if j < line <= j + size:
            return i + line - j
    wanted = lines[line - 1].strip()
    same = [number for number, text in enumerate(base, start=1) if text.strip() == wanted]
    return same[0] if len(same) == 1 else None


def _within(limits: Limits, first_wall_s: float) -> Limits:
    """The limits for a rerun: at most about twice the failed run's time."""
    return limits.model_copy(update={"timeout_s": min(limits.timeout_s, max(MIN_TIMEOUT_S, 2 * first_wall_s + 10))})


def _parsed(found: object | None) -> FailingValues | None:
    try:
        return _parse(found) if isinstance(found, dict) else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
