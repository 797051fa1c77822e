"""Fidelity signals of a run that executed: computed from its code, a rerun and its results, not asked.

A run that executes and writes valid results may still not be the experiment it was asked for: its
new code never ran, a function it changed computes exactly what the baseline's version does on the
same arguments, a "new" branch is an existing one under a new name, it computes what the baseline
computes within seed noise, the numbers its change gives appear nowhere in the code, or it changed a
function whose paired derivative (or backward pass) stayed as it was, or a value computed beside its
gradients (a loss) while the gradients stayed as they were, or it draws random numbers from a global
generator where the baseline draws from generators seeded per run. Each signal is ``True`` (holds),
``False`` (fails, with why) or ``None`` (cannot be computed here). A run that fails one is reported
as executed but not shown to be the change.
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

from pydantic import BaseModel, Field

from scientist.experiments.facts.change import all_numbers, code_change, numbers_in
from scientist.experiments.facts.code import changed_lines, may_rightly_not_run
from scientist.experiments.facts.units import changed_parts, code_units
from scientist.experiments.reruns.lines import Rerun, changed_functions, describe_same

AGREE_Z = 0.5  # two runs agree: |a - b| <= AGREE_Z * sqrt(se_a^2 + se_b^2) for every metric
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
    # every changed function the rerun compared differs from the baseline's, and no branch is an old one renamed
    computes_anew: bool | None = None
    # every function the edit changed computes what the baseline's does (the defect of computes_anew): the
    # run is the baseline, whatever its text says
    nothing_new: bool = False
    # the changed lines draw random numbers only from generators seeded per run, as the baseline does
    seeded_draws: bool | None = None
    # the functions a pair signal says must change too (a derivative left as it was, or the function
    # whose gradients stayed), for the next attempt to fix in place
    counterparts: list[str] = Field(default_factory=list)
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
    already writes ("over the 40 epochs" of a baseline with ``EPOCHS = 40`` is used by its name). A number
    is matched by its magnitude: "uniform in [-0.1, 0.1]" is written ``-INPUT_SCALE`` in a baseline with
    ``INPUT_SCALE = 0.1``, and ``x - 0.5 * y`` writes 0.5 where a change says "-0.5 y"."""
    asked = numbers_in(code_change(change))
    written = _code_numbers(code, changed_lines(baseline, code))
    already = all_numbers(baseline)

    def among(n: float, values: set[float]) -> bool:
        return any(math.isclose(abs(n), abs(w), rel_tol=1e-9, abs_tol=1e-12) for w in values)

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


def unpaired_changes(baseline: str, code: str, as_before: frozenset[str] = frozenset()) -> list[str]:
    """'forward changed but loss_and_grads (its pair) did not' for each function the run changed whose
    paired function (``_paired``) it left as it was, or rewrote so that it computes what it did
    (``as_before``: the functions a rerun found computing what the baseline's versions do)."""
    return [message for message, _ in _unpaired(baseline, code, as_before)]


def _unpaired(baseline: str, code: str, as_before: frozenset[str]) -> list[tuple[str, list[str]]]:
    """``unpaired_changes``, each with the paired functions left as they were."""
    try:
        changed = {u.defines for u in changed_parts(baseline, code) if u.kind == "def" and u.defines}
        functions = {u.defines for u in code_units(baseline) if u.kind == "def" and u.defines}
    except SyntaxError:
        return []
    found = []
    for name in sorted((changed - as_before) & functions):
        pairs = sorted(other for other in functions - {name} if _paired(name, other, functions))
        unchanged = [p for p in pairs if p not in changed]
        same = [p for p in pairs if p in changed and p in as_before]
        if pairs and len(unchanged) + len(same) == len(pairs):
            found.append((f"{name} changed but {', '.join(unchanged + same)} (its derivative or backward pass) "
                          + ("did not" if not same else "computes what it did" if not unchanged else
                             "did not or computes what it did"), unchanged + same))
    return found


def _names_read(node: ast.AST) -> set[str]:
    """The names ``node`` reads as values (a called function's name is not one: ``float(loss)`` reads loss)."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            and id(n) not in called}


def _names_bound(targets: list[ast.expr]) -> set[str]:
    """The names an assignment binds or updates in place (``grads[i] = ...`` updates ``grads``)."""
    found: set[str] = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                found.add(node.id)
    return found


def _flows(function: ast.FunctionDef, changed: set[int]) -> set[str]:
    """The names in ``function`` whose value a changed line reaches: bound on a changed line, or
    computed from such a name (followed to a fixed point, so loops are covered)."""
    steps: list[tuple[set[str], set[str], bool]] = []  # (bound, read, on a changed line)
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.For):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.iter if isinstance(node, ast.For) else node.value
            bound = _names_bound(targets)
            read = _names_read(value) if value is not None else set()
            if isinstance(node, ast.AugAssign):
                read |= bound
            end = node.end_lineno or node.lineno
            lines = range(node.lineno, (value.end_lineno or end) + 1 if value is not None else end + 1)
            steps.append((bound, read, any(k in changed for k in lines)))
    reached = set().union(*(bound for bound, _, hit in steps if hit)) if steps else set()
    grew = True
    while grew:
        grew = False
        for bound, read, _ in steps:
            if read & reached and not bound <= reached:
                reached |= bound
                grew = True
    return reached


def gradients_left_behind(baseline: str, code: str) -> list[str]:
    """'loss_and_grads changes loss but not grads (its gradients)' for each function that returns a value
    together with its gradients (a returned name with a derivative word), whose changed lines reach the
    value and none of the gradients: a new loss trained with the old loss's gradients."""
    return [message for message, _ in _gradients_left(baseline, code)]


def _gradients_left(baseline: str, code: str) -> list[tuple[str, list[str]]]:
    """``gradients_left_behind``, each with the function whose gradients stayed."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    changed = changed_lines(baseline, code)
    found = []
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        span = range(function.lineno, (function.end_lineno or function.lineno) + 1)
        if not changed & set(span):
            continue
        returns = [n for n in ast.walk(function) if isinstance(n, ast.Return) and isinstance(n.value, ast.Tuple)]
        if any(k in changed for r in returns for k in range(r.lineno, (r.end_lineno or r.lineno) + 1)):
            continue  # the returned values were rewritten themselves: nothing to follow
        reached = _flows(function, changed)
        for ret in returns:
            outputs = [(sorted(_names_read(e)), _names_read(e) & reached) for e in ret.value.elts]  # type: ignore[union-attr]
            gradients = [names for names, _ in outputs
                         if any(w in DERIVATIVE_WORDS for name in names for w in _words(name))]
            values = [names for names, hit in outputs if hit]
            if gradients and values and not any(set(g) & reached for g in gradients):
                found.append((f"{function.name} changes {', '.join(values[0])} but not "
                              f"{', '.join(gradients[0])} (its gradients)", [function.name]))
                break
    return found


class _Strings(ast.NodeTransformer):
    """Every string constant made one placeholder: a test's shape without the names it selects."""

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant(value="<str>") if isinstance(node.value, str) else node


def _branches(tree: ast.AST) -> list[tuple[ast.If, str, str]]:
    """Each ``if``/``elif`` of ``tree`` that tests a string constant: (node, its test's shape, its body)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and any(isinstance(n, ast.Constant) and isinstance(n.value, str)
                                            for n in ast.walk(node.test)):
            body = ast.dump(ast.Module(body=node.body, type_ignores=[]))
            found.append((node, ast.dump(_Strings().visit(ast.parse(ast.unparse(node.test), mode="eval"))), body))
    return found


def renamed_branches(baseline: str, code: str) -> list[str]:
    """'the branch if MODE == "new" runs the baseline's if MODE == "old" unchanged' for each
    branch whose test the edit wrote, that differs from a baseline branch's test only in the strings it
    compares with, and whose body is that branch's body: a new name on existing code (a method
    "added" by renaming or copying the branch of another) computes nothing new."""
    try:
        before, after = ast.parse(baseline), ast.parse(code)
    except SyntaxError:
        return []
    changed = changed_lines(baseline, code)
    old = {(shape, body): node for node, shape, body in _branches(before)}
    found = []
    for node, shape, body in _branches(after):
        test_lines = set(range(node.test.lineno, (node.test.end_lineno or node.test.lineno) + 1))
        twin = old.get((shape, body))
        if twin is not None and test_lines & changed and ast.unparse(twin.test) != ast.unparse(node.test):
            found.append(f"the branch 'if {ast.unparse(node.test)}' runs the baseline's "
                         f"'if {ast.unparse(twin.test)}' branch as it was: a new name on existing code")
    return found


# What a ``numpy.random`` or ``random`` module function may be without drawing from the global generator.
NOT_DRAWS = {"default_rng", "RandomState", "Generator", "SeedSequence", "BitGenerator", "PCG64", "PCG64DXSM",
             "MT19937", "Philox", "SFC64", "seed", "get_state", "set_state", "Random", "SystemRandom", "getstate",
             "setstate"}
SEEDED = {"default_rng", "RandomState", "Random"}  # calls that make a generator of their own from a seed


# Modules that are numpy for random draws: autograd's numpy wraps numpy's, and its random module is numpy's
NUMPYS = ("numpy", "autograd.numpy")
NUMPY_RANDOMS = tuple(f"{name}.random" for name in NUMPYS)


def _random_modules(tree: ast.AST) -> tuple[set[str], set[str]]:
    """The names ``tree`` binds to numpy (or autograd's numpy), and to ``numpy.random`` or the standard
    ``random`` module."""
    numpy, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in NUMPYS:
                    numpy.add(alias.asname or alias.name.split(".")[0])
                elif alias.name == "random" or (alias.name in NUMPY_RANDOMS and alias.asname):
                    modules.add(alias.asname or "random")
                elif alias.name in NUMPY_RANDOMS:
                    numpy.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module in NUMPYS:
            modules |= {a.asname or a.name for a in node.names if a.name == "random"}
    return numpy, modules


def _generator_calls(tree: ast.AST) -> list[tuple[ast.Call, str]]:
    """Each call of a ``numpy.random`` or ``random`` module function in ``tree``, with the function's name."""
    numpy, modules = _random_modules(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if (isinstance(owner, ast.Name) and owner.id in modules) or (
                isinstance(owner, ast.Attribute) and owner.attr == "random" and isinstance(owner.value, ast.Name)
                and owner.value.id in numpy):
            found.append((node, node.func.attr))
    return found


def _seeded_names(tree: ast.AST, calls: list[tuple[ast.Call, str]]) -> set[str]:
    """The names ``tree`` gives its seeded generators (``rng`` in ``rng = np.random.default_rng(seed)``);
    ``calls``: its ``_generator_calls``."""
    made = {id(call) for call, name in calls if name in SEEDED and (call.args or call.keywords)}
    return {node.targets[0].id for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and id(node.value) in made}


def _in_reach(tree: ast.AST, line: int, generators: set[str]) -> str:
    """'; optimise's parameter rng is one' when the function holding ``line`` takes a parameter named as
    the baseline names its seeded generators: the draw that follows the seeds is in reach."""
    around = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
              and node.lineno <= line <= (node.end_lineno or node.lineno)]
    if not around:
        return ""
    function = max(around, key=lambda node: node.lineno)  # the innermost
    names = [a.arg for a in function.args.posonlyargs + function.args.args + function.args.kwonlyargs
             if a.arg in generators]
    return f"; {function.name}'s parameter {names[0]} is one" if names else ""


def unseeded_draws(baseline: str, code: str) -> list[str] | None:
    """'line 104 draws from the global generator (np.random.uniform) ...' for each changed line that
    draws random numbers from a global generator (or makes a generator with no seed), when the baseline
    draws only from generators it makes from a seed: such draws do not follow the run's seeds (a run's
    seeds are no longer its replicates, and a draw made once at import is one value for every seed).
    ``None`` (cannot say) when the baseline makes no seeded generator, or draws from a global one itself."""
    try:
        before, after = ast.parse(baseline), ast.parse(code)
    except SyntaxError:
        return None
    old = _generator_calls(before)
    if not any(name in SEEDED and (call.args or call.keywords) for call, name in old) or any(
            name not in NOT_DRAWS for _, name in old):
        return None
    changed = changed_lines(baseline, code)
    generators = _seeded_names(before, old)
    found = []
    for call, name in _generator_calls(after):
        if call.lineno not in changed:
            continue
        if name not in NOT_DRAWS:
            found.append(f"line {call.lineno} draws from the global generator ({ast.unparse(call.func)}), not from "
                         "a generator seeded per run as the baseline's draws are: its draws do not follow the seeds"
                         + _in_reach(after, call.lineno, generators))
        elif name in SEEDED and not (call.args or call.keywords):
            found.append(f"line {call.lineno} makes a generator with no seed ({ast.unparse(call)}): its draws "
                         "do not follow the run's seeds as the baseline's do")
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


def agree(first_info: Path, second_info: Path) -> bool:
    """Whether two runs of one change computed the same results: every metric they share (timings aside)
    within ``AGREE_Z`` of their combined seed noise, or equal where no standard error is given. Two right
    implementations of one change compute the same numbers, up to rounding; wrong ones tend to differ."""
    first, second = _means_and_errors(first_info), _means_and_errors(second_info)
    shared = first.keys() & second.keys()
    if not shared:
        return False
    for key in shared:
        (a, error_a), (b, error_b) = first[key], second[key]
        noise = math.hypot(error_a, error_b)
        if math.isnan(noise) or noise == 0:
            if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif abs(a - b) > AGREE_Z * noise:
            return False
    return True


def compute(change: str, baseline: str, code: str, baseline_info: Path, run_info: Path,
            rerun: Rerun | None) -> FidelitySignals:
    """Every signal of one executed run (``rerun``: what a line-trace rerun saw of the new lines, or
    ``None`` when it was not made or could not say)."""
    signals = FidelitySignals()
    reported: list[str] = []  # problems that are no defect
    if rerun is not None:
        # a line in a branch the edit left as it was (a setting the baseline does not select) may rightly not run
        untaken = may_rightly_not_run(baseline, code, rerun.missed)
        missed = [n for n in rerun.missed if n not in untaken]
        signals.new_lines_ran = not missed if rerun.complete or missed else None
        if missed:
            signals.defects.append(f"new lines {', '.join(map(str, missed[:5]))} never ran")
        signals.computes_anew = not rerun.same
        if rerun.same:
            # a defect when the edit is nothing but such functions; beside a change that computes (a new
            # setting, a function that differs) a rewrite that computes what it did is reported, not searched on
            same = f"{describe_same(rerun)}: its edit computes nothing new"
            changed = changed_functions(baseline, code)
            if changed is not None and changed <= {name for name, _ in rerun.same}:
                signals.nothing_new = True
                signals.defects.append(same)
            else:
                reported.append(same)
    missing = numbers_missing(change, baseline, code)
    signals.numbers_in_code = not missing
    if missing:
        signals.defects.append(f"the change's {', '.join(missing)} appear{'s' if len(missing) == 1 else ''} "
                               "in no changed line")
    as_before = frozenset(name for name, _ in rerun.same) if rerun is not None else frozenset()
    unpaired = _unpaired(baseline, code, as_before) + _gradients_left(baseline, code)
    signals.pairs_changed = not unpaired
    signals.defects += [message for message, _ in unpaired]
    signals.counterparts = list(dict.fromkeys(name for _, names in unpaired for name in names))
    unseeded = unseeded_draws(baseline, code)
    signals.seeded_draws = None if unseeded is None else not unseeded
    signals.defects += unseeded or []
    renamed = renamed_branches(baseline, code)
    signals.computes_anew = False if renamed else signals.computes_anew
    signals.defects += renamed
    signals.beyond_seed_noise = beyond_noise(baseline_info, run_info)
    signals.problems = list(signals.defects) + reported
    if signals.beyond_seed_noise is False:
        signals.problems.append("no metric differs from the baseline's beyond seed noise")
    return signals

