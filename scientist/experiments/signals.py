"""Fidelity signals of a run that executed: computed from its code, a rerun and its results, not asked.

A run that executes and writes valid results may still not be the experiment it was asked for: its
new code never ran, it computes what the baseline computes within seed noise, the numbers its change
gives appear nowhere in the code, or it changed a function whose paired derivative (or backward pass)
stayed as it was. Each signal is ``True`` (holds), ``False`` (fails, with why) or ``None`` (cannot be
computed here). A run that fails one is reported as executed but not shown to be the change.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from pydantic import BaseModel, Field

from scientist.experiments.facts.change import all_numbers, code_change, numbers_in
from scientist.experiments.facts.code import changed_lines
from scientist.experiments.facts.units import changed_parts, code_units
from scientist.experiments.reruns.lines import Rerun

NOISE_Z = 2.0  # a difference beyond seed noise: |a - b| > NOISE_Z * sqrt(se_a^2 + se_b^2) for some metric
# Words that name a function's paired derivative or backward pass; a pair shares the rest of its name
# ('rastrigin' and 'rastrigin_der'), or is the forward pass's counterpart ('forward' and 'loss_and_grads').
DERIVATIVE_WORDS = ("der", "deriv", "derivative", "grad", "grads", "gradient", "backward", "backprop", "prime",
                    "jacobian", "jac", "inverse", "inv")
FORWARD_WORDS = ("forward", "activation", "activate")


class FidelitySignals(BaseModel):
    """The computed signals of one executed run; ``problems`` says each that failed, in words."""

    new_lines_ran: bool | None = None
    beyond_seed_noise: bool | None = None
    numbers_in_code: bool | None = None
    pairs_changed: bool | None = None
    problems: list[str] = Field(default_factory=list)
    # the problems that say the code is not the change (every signal but seed noise: a change that makes
    # no difference beyond noise is a result, not a defect of its code)
    defects: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No signal failed (a signal that could not be computed does not fail the run)."""
        return not self.problems


def _code_numbers(code: str, lines: set[int]) -> set[float]:
    """The numbers written on ``lines`` of ``code``, with the percentages and simple fractions they make."""
    text = "\n".join(line for k, line in enumerate(code.splitlines(), start=1) if k in lines)
    values = all_numbers(text)
    return values | {v * 100 for v in values} | {v / 100 for v in values}


def numbers_missing(change: str, baseline: str, code: str) -> list[str]:
    """The numbers the change gives (its measurement clause aside) that no added or changed line of the
    code writes; integers up to 3 (counts such as "two runs") are not checked, nor numbers the baseline
    already writes ("over the 40 epochs" of a baseline with ``EPOCHS = 40`` is used by its name)."""
    asked = numbers_in(code_change(change))
    written = _code_numbers(code, changed_lines(baseline, code))
    already = all_numbers(baseline)

    def among(n: float, values: set[float]) -> bool:
        return any(math.isclose(n, w, rel_tol=1e-9, abs_tol=1e-12) for w in values)

    return [f"{n:g}" for n in sorted(asked) if not among(n, written) and not among(n, already)]


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"_+", name.lower()) if w]


def _paired(name: str, other: str, functions: set[str]) -> bool:
    """Whether ``other`` is ``name``'s derivative, gradient, backward pass or inverse, by their names:
    ``name`` plus a derivative word ('f' and 'f_der'), or, for a forward pass, a derivative function that
    is no other function's ('forward' and 'loss_and_grads', not 'f_der')."""
    mine, theirs = _words(name), _words(other)
    if not any(w in DERIVATIVE_WORDS for w in theirs):
        return False
    rest = [w for w in theirs if w not in DERIVATIVE_WORDS]
    if rest == mine:
        return True
    owned = any(rest == _words(f) for f in functions)
    return any(w in FORWARD_WORDS for w in mine) and not owned


def unpaired_changes(baseline: str, code: str) -> list[str]:
    """'forward changed but loss_and_grads (its pair) did not' for each function the run changed whose
    paired function (``_paired``) it left as it was."""
    try:
        changed = {u.defines for u in changed_parts(baseline, code) if u.kind == "def" and u.defines}
        functions = {u.defines for u in code_units(baseline) if u.kind == "def" and u.defines}
    except SyntaxError:
        return []
    found = []
    for name in sorted(changed & functions):
        pairs = sorted(other for other in functions - {name} if _paired(name, other, functions))
        unchanged = [p for p in pairs if p not in changed]
        if pairs and len(unchanged) == len(pairs):
            found.append(f"{name} changed but {', '.join(unchanged)} (its derivative or backward pass) did not")
    return found


def _means_and_errors(path: Path) -> dict[tuple[str, str], tuple[float, float]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    found = {}
    for setting, block in data.items() if isinstance(data, dict) else ():
        if not isinstance(block, dict):
            continue
        means, errors = block.get("means") or {}, block.get("stderrs") or {}
        for metric, value in means.items():
            if isinstance(value, int | float) and "time" not in metric.lower():
                error = errors.get(metric)
                found[(setting, metric)] = (float(value), float(error) if isinstance(error, int | float) else math.nan)
    return found


def beyond_noise(baseline_info: Path, run_info: Path) -> bool | None:
    """Whether some metric (timings aside) differs from the baseline's by more than seed noise; ``None``
    when no metric carries a standard error."""
    base, run = _means_and_errors(baseline_info), _means_and_errors(run_info)
    compared = [(run[key][0] - base[key][0], math.hypot(run[key][1], base[key][1]))
                for key in base.keys() & run.keys()]
    compared = [(delta, noise) for delta, noise in compared if not math.isnan(noise)]
    if not compared:
        return None
    return any(abs(delta) > NOISE_Z * noise if noise > 0 else delta != 0 for delta, noise in compared)


def compute(change: str, baseline: str, code: str, baseline_info: Path, run_info: Path,
            rerun: Rerun | None) -> FidelitySignals:
    """Every signal of one executed run (``rerun``: what a line-trace rerun saw of the new lines, or
    ``None`` when it was not made or could not say)."""
    signals = FidelitySignals()
    if rerun is not None:
        signals.new_lines_ran = not rerun.missed
        if rerun.missed:
            signals.defects.append(f"new lines {', '.join(map(str, rerun.missed[:5]))} never ran")
    missing = numbers_missing(change, baseline, code)
    signals.numbers_in_code = not missing
    if missing:
        signals.defects.append(f"the change's {', '.join(missing)} appear{'s' if len(missing) == 1 else ''} "
                               "in no changed line")
    unpaired = unpaired_changes(baseline, code)
    signals.pairs_changed = not unpaired
    signals.defects += unpaired
    signals.beyond_seed_noise = beyond_noise(baseline_info, run_info)
    signals.problems = list(signals.defects)
    if signals.beyond_seed_noise is False:
        signals.problems.append("no metric differs from the baseline's beyond seed noise")
    return signals

