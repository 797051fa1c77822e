"""The passes an attempt's code goes through before it runs, listed in one place (``PASSES``).

A pass is a check or a repair behind one small protocol:
- a ``Check`` returns the ``Failure`` a run of the code would end in (a typed finding: its category
  decides what the loop does next), a note that lets the code run, or nothing;
- a ``Repair`` returns the new code and a note per change it made, or nothing.

``run_passes`` runs them in order and records each pass that fired, so the attempt's journal entry
says which check stopped it or which repairs changed its code. Checks see the code as the repairs
before them left it; the first check that finds a failure ends the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from scientist.errors import SandboxUnavailable
from scientist.experiments import repairs
from scientist.experiments.checks.calls import call_mismatches, lost_returns
from scientist.experiments.checks.names import (
    Problem,
    dead_values_only,
    read_before_bound,
    shadowed_imports,
    undefined_names,
    unread_new_locals,
)
from scientist.experiments.facts.change import code_change
from scientist.experiments.facts.edits import syntax_error
from scientist.experiments.failure import (
    Failure,
    found_before_running,
    inert_reason,
    only_settings,
    run_failure,
)
from scientist.failures import Category


@dataclass(frozen=True)
class PassContext:
    """What passes may read besides the code: the code the edit was made to, the run's change, and
    the sandboxed check of library names (``checks.names.missing_library_names`` bound to the run's
    sandbox, folder and limits)."""

    baseline: str
    change: str
    library_names: Callable[[str], list[Problem]] = field(default=lambda code: [])


class FiredPass(BaseModel):
    """A pass that did something to an attempt: its name, kind and what it said."""

    name: str
    kind: Literal["check", "repair"]
    note: str


@dataclass(frozen=True)
class Check:
    name: str
    find: Callable[[str, PassContext], Failure | str | None]
    kind: Literal["check"] = "check"


@dataclass(frozen=True)
class Repair:
    name: str
    make: Callable[[str, PassContext], tuple[str, list[str]]]
    kind: Literal["repair"] = "repair"


@dataclass
class PassRun:
    """The code after the passes, each pass that fired, and the failure a check found (if any)."""

    code: str
    fired: list[FiredPass]
    failure: Failure | None = None


def _problems(finder: Callable[[str, PassContext], list[Problem]]) -> Callable[[str, PassContext], Failure | None]:
    """A check from a finder of names that will fail: the failure the first of them would end the run in."""
    return lambda code, ctx: run_failure(code, finder(code, ctx))


def _syntax(code: str, ctx: PassContext) -> Failure | None:
    problem = syntax_error(code, "experiment.py")
    return None if problem is None else Failure(Category.SYNTAX_ERROR, problem, exception_type="SyntaxError",
                                                code=code)


def _inert(code: str, ctx: PassContext) -> Failure | None:
    inert = inert_reason(ctx.baseline, code)
    if inert is None:
        return None
    return Failure(Category.NO_EFFECTIVE_CHANGE,
                   f"the edit does not change what the experiment computes: {inert} (found before running)", code=code)


def _settings_only(code: str, ctx: PassContext) -> Failure | None:
    found = only_settings(ctx.baseline, code, code_change(ctx.change))
    return None if found is None else Failure(Category.NO_EFFECTIVE_CHANGE, found + " (found before running)",
                                              code=code)


def _inert_once_put_back(code: str, ctx: PassContext) -> Failure | None:
    """The edit computes nothing new once the settings the change did not ask for are put back (the
    earlier checks passed it, so those settings were all it changed)."""
    inert = inert_reason(ctx.baseline, code)
    if inert is None:
        return None
    return Failure(Category.NO_EFFECTIVE_CHANGE,
                   "the edit's only change to what the experiment computes was a setting the change neither names "
                   "nor gives the value of, and such settings stay as the baseline has them: make the change "
                   "itself, in the function that computes it (found before running)", code=code)


def _library_names(code: str, ctx: PassContext) -> Failure | None:
    try:
        return _problems(lambda c, x: x.library_names(c))(code, ctx)
    except SandboxUnavailable as exc:
        return Failure(Category.SANDBOX_ERROR, exc.one_line(), exception_type=type(exc).__name__, code=code)


def _unread_values(code: str, ctx: PassContext) -> Failure | str | None:
    """New local values nothing reads: the failure when they are all the edit did in their function,
    a note when the function computes something new besides."""
    dead = unread_new_locals(ctx.baseline, code)
    if not dead:
        return None
    if not dead_values_only(ctx.baseline, code):
        return f"{dead[0].message}, but its function computes something new besides: running it"
    return found_before_running(code, dead, Category.NO_EFFECTIVE_CHANGE)


def _before(fn: Callable[[str, str], tuple[str, list[str]]]) -> Callable[[str, PassContext], tuple[str, list[str]]]:
    return lambda code, ctx: fn(ctx.baseline, code)


def _with_change(fn: Callable[..., tuple[str, list[str]]]) -> Callable[[str, PassContext], tuple[str, list[str]]]:
    return lambda code, ctx: fn(code, ctx.change)


PASSES: tuple[Check | Repair, ...] = (
    Check("syntax", _syntax),
    Repair("call_the_baseline_for_self_calls", _before(repairs.call_the_baseline_for_self_calls)),
    Repair("match_constant_case", lambda code, ctx: repairs.match_constant_case(code)),
    Repair("localise_constants", lambda code, ctx: repairs.localise_constants(code)),
    Repair("alias_shadowed_imports", _before(repairs.alias_shadowed_imports)),
    Repair("define_values_the_change_gives", _with_change(repairs.define_values_the_change_gives)),
    Repair("default_new_parameters", lambda code, ctx: repairs.default_new_parameters(ctx.baseline, code, ctx.change)),
    Repair("move_late_updates", _before(repairs.move_late_updates)),
    Repair("adopt_renamed_copies", _before(repairs.adopt_renamed_copies)),
    Repair("return_the_last_value", _before(repairs.return_the_last_value)),
    Check("inert_edit", _inert),
    Check("settings_only", _settings_only),
    Repair("put_back_unasked_settings",
           lambda code, ctx: repairs.put_back_unasked_settings(ctx.baseline, code, code_change(ctx.change))),
    Check("inert_once_put_back", _inert_once_put_back),
    Repair("drop_unread_imports", _before(repairs.drop_unread_imports)),
    Check("undefined_names", _problems(lambda code, ctx: undefined_names(code))),
    Check("read_before_bound", _problems(lambda code, ctx: read_before_bound(code))),
    Check("call_mismatches", _problems(lambda code, ctx: call_mismatches(code))),
    Check("lost_returns", _problems(lambda code, ctx: lost_returns(ctx.baseline, code))),
    Check("shadowed_imports", _problems(lambda code, ctx: shadowed_imports(ctx.baseline, code))),
    Check("library_names", _library_names),
    Check("unread_values", _unread_values),
)


def run_passes(code: str, ctx: PassContext, passes: tuple[Check | Repair, ...] = PASSES) -> PassRun:
    """``code`` through ``passes`` in order: repaired, and stopped at the first check that finds a failure."""
    run = PassRun(code=code, fired=[])
    for step in passes:
        if isinstance(step, Repair):
            run.code, notes = step.make(run.code, ctx)
            if notes:
                run.fired += [FiredPass(name=step.name, kind="repair", note=note) for note in notes]
            continue
        found = step.find(run.code, ctx)
        if isinstance(found, str):
            run.fired.append(FiredPass(name=step.name, kind="check", note=found))
        elif found is not None:
            run.fired.append(FiredPass(name=step.name, kind="check", note=found.summary))
            run.failure = found
            break
    return run
