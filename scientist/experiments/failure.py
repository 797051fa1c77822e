"""What an attempt at a run failed with, and what the next attempt is told: the failure, the
attempts before it, names that do not exist, and where in the code it went wrong."""

from __future__ import annotations

import ast
import difflib
import re
import textwrap
from dataclasses import dataclass, field

from scientist.experiments.checks.copies import copies
from scientist.experiments.checks.names import (
    Problem,
    binds,
    inert_edit,
    local_owners,
    module_constants,
    names_local_to,
    overwritten_before_read,
    undefined_globals,
    unselected_branches,
    unused_additions,
)
from scientist.experiments.facts.change import adds_computation, unrequested_setting
from scientist.experiments.facts.code import new_statement_lines
from scientist.experiments.facts.units import Home, changed_parts, code_units, unit_at_line, unit_text
from scientist.failures import Category

FRAME = re.compile(r'File "(?:[^"]*/)?experiment\.py", line (\d+)')
NONEXISTENT = re.compile(r"cannot import name '(?P<name>\w+)' from '(?P<module>[\w.]+)'"
                         r"|module '(?P<amodule>[\w.]+)' has no attribute '(?P<attr>\w+)'"
                         r"|No module named '(?P<missing>[\w.]+)'")
IMPORT_PROBLEMS = {"ImportError", "ModuleNotFoundError"}
MAX_FIXES = 2  # attempts in a row that fix the last attempt's code in place, before starting from the baseline again


class Failure(Exception):
    """One failed attempt: its category and what the model is told."""

    def __init__(self, category: Category, message: str, *, exception_type: str | None = None,
                 output_tail: str = "", code: str | None = None, where: str | None = None,
                 values: str | None = None, lines: tuple[int, ...] | None = None,
                 counterpart: str | None = None) -> None:
        super().__init__(message)
        # the part of ``code`` still computing what it did though the code it pairs with (a function's
        # derivative or backward pass, or its forward pass) changed: the run executed, and that part is
        # what the next attempt fixes in place
        self.counterpart = counterpart
        self.category, self.message, self.exception_type = category, message, exception_type
        self.output_tail, self.code, self.values = output_tail, code, values
        self.where = where or (where_it_failed(code, output_tail) if code and output_tail else None)
        # experiment.py lines of the failure, innermost first (the traceback's frames, or the line a check named)
        self.lines = lines if lines is not None else frame_lines(output_tail)
        self.passes: list = []  # the passes (``passes.FiredPass``) that fired on the attempt's code

    @property
    def summary(self) -> str:
        """'category: message', as the model is told it and the outcome records it."""
        return f"{self.category.value}: {self.message}"

    def nonexistent(self) -> list[str]:
        """Library names this failure shows do not exist ('numpy.linalg.sqrt')."""
        return [m["missing"] or (f"{m['module']}.{m['name']}" if m["name"] else f"{m['amodule']}.{m['attr']}")
                for m in NONEXISTENT.finditer(self.message)]


@dataclass
class History:
    """What the next attempt at a run is told: the last failure, the ones before it, names to avoid."""

    attempt: int = 1
    last: Failure | None = None
    earlier: list[str] = field(default_factory=list)
    avoid: list[str] = field(default_factory=list)
    failed_code: dict[str, int] = field(default_factory=dict)  # code an attempt ran (or checked) -> attempt
    fixes: int = 0  # attempts in a row, up to the last, that fixed the attempt before them in place
    others: list[str] = field(default_factory=list)  # what the last round's other candidates failed with
    homes_failed: dict[str, int] = field(default_factory=dict)  # part -> fresh starts a rule sent there that failed

    def failed(self, failure: Failure, fixed_in_place: bool = False) -> None:
        if self.last is not None:
            self.earlier.append(self.last.summary)
        if failure.code is not None:
            self.failed_code.setdefault(failure.code, self.attempt)
        self.last = failure
        self.fixes = self.fixes + 1 if fixed_in_place else 0
        self.avoid += [name for name in failure.nonexistent() if name not in self.avoid]
        self.attempt += 1

    def candidate_failed(self, failure: Failure, home: str | None) -> None:
        """One candidate of a round failed (``home``: the part a rule sent its fresh start to): a later
        candidate repeating its code is asked for once more, and a rule's home that failed often enough
        is given up (``IdeaExperiments.rules_home``)."""
        if home is not None:
            self.homes_failed[home] = self.homes_failed.get(home, 0) + 1
        if failure.code:
            self.failed_code.setdefault(failure.code, self.attempt)

    @property
    def repeated(self) -> bool:
        return bool(self.earlier) and self.last is not None and self.earlier[-1] == self.last.summary


def frame_lines(output: str) -> tuple[int, ...]:
    """The experiment.py lines of a traceback's frames, innermost first."""
    return tuple(int(line) for line in reversed(FRAME.findall(output)))


@dataclass(frozen=True)
class Fix:
    """The part of the last attempt's code to fix in place; ``via``: the unchanged part where it
    crashed, which uses what ``part`` computes."""

    part: str
    via: str | None = None


# failures a rerun can locate: a crash, the first inf or nan, an allocation past the memory limit
LOCATED = (Category.RUNTIME_ERROR, Category.INVALID_RESULTS, Category.OUT_OF_MEMORY)


def part_to_fix(baseline: str, history: History) -> Fix | None:
    """The part of the last attempt's code to fix in place, or ``None`` to start again from the baseline.

    When the last attempt crashed (or a check found a name that would crash it, or a rerun found the
    line that made its first inf or nan, or the line that allocated past the memory limit) in a part
    it had changed, the next attempt rewrites that one part of that code, shown the error and the values the
    line read: the small model repairs a located bug in code in front of it far better than it makes
    the whole change again from the baseline (where it tends to write the same failing code again).
    The innermost frame in a changed part is the one to fix (a crash in an unchanged helper
    called with the new values is fixed where the new values are made). A frame in an unchanged part
    that calls exactly one changed function names that function (a changed ``features`` returns twice
    the rows, and the crash is in the unchanged ``x.T @ y`` of its caller). At most ``MAX_FIXES`` in
    a row: a fix that fails that often is the wrong approach, and the next attempt starts afresh.
    An attempt that ran but changed a function and not its pair (``Failure.counterpart``) has that
    pair fixed in place the same way."""
    failure = history.last
    if failure is not None and failure.counterpart and failure.code and history.fixes < MAX_FIXES:
        return Fix(failure.counterpart)  # it ran; the pair of what it changed is left to change
    if (failure is None or failure.category not in LOCATED or not failure.code
            or failure.code == baseline or history.fixes >= MAX_FIXES):
        return None
    try:
        changed = changed_parts(baseline, failure.code)
    except SyntaxError:
        return None
    functions = {unit.defines: unit.name for unit in changed if unit.kind == "def" and unit.defines}
    for line in failure.lines:
        unit = unit_at_line(failure.code, line)
        if unit is None:
            continue
        if unit in changed:
            return Fix(unit.name)
        text = unit_text(failure.code, unit.name)
        try:
            called = {n.id for n in ast.walk(ast.parse(textwrap.dedent(text))) if isinstance(n, ast.Name)}
        except SyntaxError:
            continue
        callees = [functions[name] for name in sorted(called & set(functions))]
        if len(callees) == 1:
            return Fix(callees[0], via=unit.name)
    return None


def _meaningful(lines: list[str]) -> list[str]:
    """``lines`` stripped, without blank lines and comment lines."""
    return [text for text in (line.strip() for line in lines) if text and not text.startswith("#")]


def _crash_reach(tree: ast.Module, line: int) -> int:
    """The last line that decides what crashing line ``line`` computes: the end of its statement, or of
    the outermost loop around it (a later line of a loop body feeds the next pass)."""
    around = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)
              and node.lineno <= line <= (node.end_lineno or node.lineno)]
    loops = [node for node in around if isinstance(node, ast.For | ast.While)
             and not any(isinstance(outer, ast.FunctionDef | ast.AsyncFunctionDef)
                         and node.lineno < outer.lineno <= line for outer in around)]
    ends = [node.end_lineno or node.lineno for node in loops] or \
           [(max(around, key=lambda node: node.lineno).end_lineno or line) if around else line]
    return max(ends)


def _locals(tree: ast.Module, function: str | None) -> set[str]:
    """The names that are top-level function ``function``'s own (``code_check.names_local_to``)."""
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.name == function), None)
    return names_local_to(node) if node is not None else set()


def crash_kept(failed: str, fixed: str, part: str, lines: tuple[int, ...]) -> str | None:
    """Why a fix of ``part`` would fail as the attempt before it did, or ``None``: it leaves the
    failing line of ``failed`` and every line of the part before it as they were (through the end of
    the loop around it), and changes nothing those lines read elsewhere (a "fix" that adds a
    constant at the top of the file and gives the crashing line back word for word)."""
    try:
        tree, units = ast.parse(failed), {unit.name: unit for unit in code_units(fixed)}
        others = [unit for unit in changed_parts(failed, fixed) if unit.name != part]
    except SyntaxError:
        return None
    found = next(((n, u) for n in lines if (u := unit_at_line(failed, n)) is not None and u.name == part), None)
    if found is None or part not in units:
        return None
    (line, old_unit), new_unit = found, units[part]
    reach = min(_crash_reach(tree, line), old_unit.end)
    prefix = _meaningful(failed.splitlines()[old_unit.start:reach])
    if _meaningful(fixed.splitlines()[new_unit.start:new_unit.end])[:len(prefix)] != prefix:
        return None
    read = set(re.findall(r"\w+", "\n".join(prefix))) - _locals(tree, old_unit.defines)
    fixed_tree = ast.parse(fixed)
    for unit in others:
        if unit.kind not in ("imports", "constants", "code"):
            return None
        if read & set().union(*(binds(node) for node in fixed_tree.body if unit.start < node.lineno <= unit.end)):
            return None
    text = failed.splitlines()[line - 1].strip()[:160]
    return (f"it leaves line {line} ({text}) and the lines of {part} before it as they were, so it fails "
            "the same way: change that line or the values it uses")


def home_part(baseline: str, history: History) -> Home | None:
    """The function the next attempt must make the change in, and why, or ``None``.

    When the last attempt's code read names that exist only as locals of other functions, and one
    function of the baseline has all of them (a change written into ``loss`` that reads ``rng`` and
    ``y_train``, which only ``train`` has), fixing that code in place keeps the change in the wrong function. The next
    attempt starts from the baseline and rewrites that function, told why. Not when those names came
    with code copied from that function (``copies``): the copy is the mistake, not the place."""
    failure = history.last
    if failure is None or failure.category is not Category.RUNTIME_ERROR or not failure.code:
        return None
    try:
        tree, undefined = ast.parse(failure.code), undefined_globals(failure.code)
    except SyntaxError:
        return None
    owners = [set(local_owners(tree, name)) for name in undefined]
    owners = [names for names in owners if names]
    if not owners:
        return None
    common = set.intersection(*owners)
    homes = [unit for unit in code_units(baseline) if unit.kind == "def" and unit.defines in common]
    if len(homes) != 1 or any(copy.source == homes[0].defines for copy in copies(baseline, failure.code)):
        return None
    return Home(homes[0].name, "values")


def run_failure(code: str, problems: list[Problem]) -> Failure | None:
    """The ``Failure`` a run of ``code`` would end in, from names found to fail before running it."""
    if not problems:
        return None
    first = problems[0]
    category = Category.IMPORT_ERROR if first.exception_type in IMPORT_PROBLEMS else Category.RUNTIME_ERROR
    return found_before_running(code, problems, category, first.exception_type)


def found_before_running(code: str, problems: list[Problem], category: Category,
                         exception_type: str | None = None) -> Failure:
    """The ``Failure`` for problems found in ``code`` before it ran: each of them (up to 5), and
    where the first one is."""
    return Failure(category, "; ".join(p.describe(code) for p in problems[:5]) + " (found before running)",
                   exception_type=exception_type, code=code, where=line_in_part(code, problems[0].line),
                   lines=(problems[0].line,))


def changes(before: str, after: str, limit: int = 80) -> str:
    """A unified diff of what an attempt changed, cut to ``limit`` lines."""
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), "baseline", "attempt", n=1,
                                     lineterm=""))[2:]
    if len(diff) > limit:
        diff = [*diff[:limit], f"... ({len(diff) - limit} more diff lines)"]
    return "\n".join(diff)


def unread(names: list[str], code: str | None = None) -> str:
    """'you added A, B but nothing reads them', and for a new function of ``code`` nothing calls, where
    its work belongs (a model asked to change ``fit`` may write a changed copy of ``fit`` under a new
    name that nothing calls, and the run stays the baseline)."""
    text = f"you added {', '.join(names)} but nothing reads {'them' if len(names) > 1 else 'it'}"
    try:
        functions = [node.name for node in ast.parse(code).body
                     if isinstance(node, ast.FunctionDef) and node.name in names] if code else []
    except SyntaxError:
        functions = []
    if functions:
        text += (f" (a new function runs only where it is called: make the change inside the existing function "
                 f"that does this work, or call {functions[0]} from there)")
    return text


def why_unchanged(before: str, after: str) -> str | None:
    """What an edit added that cannot change the results: names nothing reads, branches nothing
    selects, values a loop replaces before reading them; ``None`` when the code alone does not say."""
    unused, unselected = unused_additions(before, after), unselected_branches(before, after)
    reasons = [unread(unused, after)] if unused else []
    reasons += [f"you added a branch for {branch}, which never runs: set the constant to select it"
                for branch in unselected]
    reasons += overwritten_before_read(after, set(new_statement_lines(before, after)))
    return "; ".join(reasons) or None


def only_settings(before: str, after: str, change: str) -> str | None:
    """Why ``after`` cannot be ``change`` when the edit changes no function, only numeric settings:
    the change adds computation ('Add a ... to ...'; ``RATE = RATE * 0.99`` would pass as a success),
    or every setting it changes is one the change neither names nor gives the value of (GRAD_CLIP set
    to 1.0 for "normalised gradient descent": an edit unrelated to its change). A new value of a string
    constant may select existing code that does the change, so it counts as a change of computation."""
    try:
        kinds = {unit.kind for unit in changed_parts(before, after)}
    except SyntaxError:
        return None
    old, new = module_constants(before), module_constants(after)
    selects = any(isinstance(value, str) and old.get(name) != value for name, value in new.items())
    if not kinds or not kinds <= {"constants", "imports", "code"} or selects:
        return None
    verb = adds_computation(change)
    if verb is not None:
        return (f"the change adds computation ({verb} ...), but the edit only changes settings: write the "
                "computation in the function that does it")
    changed = changed_settings(before, after)
    if changed and all(unrequested_setting(name, value, change) for name, value in changed.items()):
        listed = ", ".join(f"{name} = {value}" for name, value in changed.items())
        return (f"the edit only sets {listed}, a setting the change neither names nor gives the value of: "
                "make the change itself, in the function that computes it")
    return None


def changed_settings(before: str, after: str) -> dict[str, str]:
    """Top-level ``NAME = value`` assignments of ``before`` whose value ``after`` writes differently:
    name -> the new value's source (settings the edit added are not among them)."""
    def values(source: str) -> dict[str, str]:
        return {node.targets[0].id: ast.unparse(node.value) for node in ast.parse(source).body
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)}

    old, new = values(before), values(after)
    return {name: value for name, value in new.items() if name in old and old[name] != value}


def inert_reason(before: str, after: str) -> str | None:
    """Why ``after`` computes nothing ``before`` does not, or ``None`` when it changes the computation."""
    inert = inert_edit(before, after)
    if inert is None:
        return None
    if inert:
        return unread(inert, after)
    return ("it changes only comments or layout, sets a constant to the value it already has, or writes a "
            "constant's value where its name was"
            if after != before else "it is the baseline's code")


def line_in_part(code: str, lineno: int) -> str | None:
    """Line ``lineno`` of ``code`` as 'line N in <part>: <the line>'."""
    lines = code.splitlines()
    if not 0 < lineno <= len(lines):
        return None
    unit = unit_at_line(code, lineno)
    part = f" in {unit.name!r}" if unit else ""
    return f"line {lineno}{part}: {lines[lineno - 1].strip()[:160]}"


def where_it_failed(code: str, output: str) -> str | None:
    """The last traceback frame in experiment.py as 'line N in <part>: <the line>'."""
    lines = frame_lines(output)
    return line_in_part(code, lines[0]) if lines else None


