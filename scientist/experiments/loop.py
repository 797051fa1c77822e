"""The experiment loop: for one idea, the baseline and each planned run, edited by the model,
run in the sandbox, validated, and repaired a bounded number of times. Every attempt is logged."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scientist.errors import LLMOutputInvalid, SandboxUnavailable
from scientist.experiments import journal, signals
from scientist.experiments.checks.copies import copy_hint
from scientist.experiments.checks.names import (
    missing_library_names,
    undefined_calls,
)
from scientist.experiments.facts.change import code_change, only_settings
from scientist.experiments.facts.edits import EditNotApplied, NoEffectiveChange, apply_edits
from scientist.experiments.facts.results import InvalidResults, NonFiniteResults, read_final_info
from scientist.experiments.facts.spots import Spot, splice, spots, with_todo_at
from scientist.experiments.facts.units import (
    SEAM_LINES,
    Home,
    RewriteSyntaxError,
    apply_rewrites,
    code_block,
    code_units,
    mentioned_parts,
    outline,
    outside_named_parts,
    rule_home,
    standalone_sketch,
    unit_text,
    with_helper,
    with_todo,
)
from scientist.experiments.failure import (
    Failure,
    Fix,
    History,
    changes,
    crash_kept,
    frame_lines,
    home_part,
    inert_reason,
    line_in_part,
    part_to_fix,
    why_unchanged,
)
from scientist.experiments.fidelity import judge_run
from scientist.experiments.grammar import function_reply
from scientist.experiments.journal import JournalEntry
from scientist.experiments.passes import FiredPass, PassContext, run_passes
from scientist.experiments.reruns.lines import describe_not_run, lines_not_run
from scientist.experiments.reruns.values import (
    FailingValues,
    failing_values,
    first_non_finite,
    memory_error_at,
    with_baseline,
)
from scientist.experiments.signals import FidelitySignals
from scientist.failures import Attempt, Category, classify_execution
from scientist.prompts import render
from scientist.runstore import write_atomic
from scientist.sandbox.base import ExecResult, Limits
from scientist.schemas import (
    CodeEdit,
    CodeRewrite,
    FidelityVerdict,
    PartChoice,
    SpotChoice,
    UnitRewrite,
    anchored_code_edit,
    part_choice,
    spot_choice,
)
from scientist.services import Services
from scientist.state import IdeaTask

log = logging.getLogger(__name__)

EDITABLE = {"experiment.py"}
SKIP_COPY = shutil.ignore_patterns("run_*", "latex", "__pycache__", "*.png", "*.pdf", "template.toml", "prompt.json",
                                   "seed_ideas.json", "executions.log")
OUTPUT_TAIL_LINES = 25
REPAIR_TEMPERATURE_STEP = 0.15  # each repair samples a little more freely, so it does not repeat the last attempt
LINES_MAX_TOKENS = 600  # the lines that take one line's place: a few statements, not a function
HELPER_MAX_TOKENS = 400  # the def of one helper the edit called and never wrote
MAX_HELPERS = 2  # helpers defined so per attempt
SKETCH_MAX_TOKENS = 300  # the change's computation written out on its own: a few lines
SKETCH_MAX_LINES = 12
HOME_TRIES = 2  # fresh starts that fail in a rule's home before the model chooses the parts itself
CANDIDATE_TEMPERATURE_STEP = 0.1  # candidate k of an attempt samples k steps more freely than the first
# Which failure of a round's candidates the next round repairs: a crash located in code that ran first
# (the model repairs a located bug best), then failures found before running, then those with no code.
PROMISE = (Category.RUNTIME_ERROR, Category.INVALID_RESULTS, Category.IMPORT_ERROR, Category.TIMEOUT,
           Category.OUT_OF_MEMORY, Category.NONZERO_EXIT, Category.MISSING_RESULTS, Category.NO_EFFECTIVE_CHANGE,
           Category.SYNTAX_ERROR, Category.EDIT_NOT_APPLIED, Category.LLM_OUTPUT_INVALID)


class RunOutcome(BaseModel):
    """How one planned run ended."""

    run: str
    change: str
    name: str | None = None  # the plan's name for the run
    ok: bool
    attempts: int
    means: dict[str, dict[str, float]] | None = None
    failure: str | None = None
    fidelity: FidelityVerdict | None = None  # the review model's verdict on the code of a run that succeeded
    signals: FidelitySignals | None = None  # computed signals that an executed run is the change asked

    @property
    def shown(self) -> bool:
        """Executed, and no computed fidelity signal failed: the run is the experiment asked for, as far
        as the code, a rerun and the results can show."""
        return self.ok and (self.signals is None or self.signals.passed)


@dataclass(frozen=True)
class Executed:
    """A candidate that executed with defects, kept aside while the search goes on."""

    attempt: int
    means: dict[str, dict[str, float]]
    signals: FidelitySignals
    failure: Failure  # what the next round is told
    kept: Path  # its run folder's copy


def agree(first: Executed, second: Executed) -> bool:
    """Whether two kept clean runs computed the same results (``signals.agree``)."""
    return signals.agree(first.kept / "final_info.json", second.kept / "final_info.json")


def defects_of(found: FidelitySignals | None) -> list[str]:
    """A run's defects; none when its signals were not computed (``fidelity_signals`` off)."""
    return found.defects if found is not None else []


def most_agreed(clean: list[Executed], wanted: int) -> Executed | None:
    """The clean run most others agree with (the earliest on a tie), once two agree or ``wanted`` clean
    runs were found; ``None`` while the search should go on."""
    agreeing = [sum(agree(run, other) for other in clean if other is not run) for run in clean]
    if max(agreeing, default=0) == 0 and len(clean) < wanted:
        return None
    return clean[agreeing.index(max(agreeing))] if clean else None


def _limits(services: Services) -> Limits:
    lim = services.template.manifest.limits
    return Limits(timeout_s=lim.timeout_s, memory_mb=lim.memory_mb, cpus=lim.cpus)


def _promise(failure: Failure) -> int:
    """How promising a failed candidate is to repair (lower is better; see ``PROMISE``): first one that
    ran and has one known part left to change (``Failure.counterpart``)."""
    if failure.counterpart:
        return -1
    return PROMISE.index(failure.category) if failure.category in PROMISE else len(PROMISE)


def _tail(result: ExecResult) -> str:
    text = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return "\n".join(text[-OUTPUT_TAIL_LINES:])


def code_system(services: Services) -> str:
    """The system message of every prompt about one template's code (the plan's and each edit's); with
    ``code_head`` it is the opening they share token for token. llama.cpp keeps earlier prompts' states
    in its prompt cache and serves the longest shared prefix from there, so the code is read once per
    template, not once per prompt."""
    template = services.template
    lim = template.manifest.limits
    return render("experiments", "system_rewrite" if services.settings.edit_format == "rewrite" else "system",
                  template_system=template.prompt.system, metrics=", ".join(template.metric_names) or "all of them",
                  timeout=int(lim.timeout_s), cpus=f"{lim.cpus:g}")


def code_head(services: Services, code: str) -> str:
    """The opening of the user message of every prompt about ``code``: the task, the code, its parts."""
    return render("experiments", "code_head", task_description=services.template.prompt.task_description,
                  code=code, outline=outline(code))


class IdeaExperiments:
    """The runs of one idea in ``experiments/<idea>/``."""

    def __init__(self, services: Services, task: IdeaTask) -> None:
        self.services = services
        self.idea = task["idea"]
        self.plan = task["plan"]
        self.first_run = task["first_run"]
        self.name = self.idea["name"]
        self.workdir = services.folder.path / "experiments" / self.name
        self.metrics = services.template.metric_names or None
        self.fired: list[FiredPass] = []  # the passes that fired on the current attempt's code
        self.candidate = 0  # which candidate of the current attempt is being made (0: the first)
        self.repeats = 0  # rounds of this run that asked the same prompts again for more clean runs
        self.sketches: dict[str, str] = {}  # run -> what its change computes, written out on its own

    def log(self, stage: str, attempt: int, wall_s: float | None, failure: Failure | None,
            run_dir: Path) -> None:
        services = self.services
        services.failures.record(Attempt(
            run_id=services.folder.run_id, idea=self.name, stage=stage, attempt=attempt,
            model=services.settings.model_for("coding"), template=services.template.manifest.name,
            category=failure.category if failure else None,
            exception_type=failure.exception_type if failure else None,
            message=failure.message[:1000] if failure else None, wall_s=wall_s, run_dir=str(run_dir)))

    def tell(self, run: str, *notes: str) -> None:
        """Each note about ``run`` (a mechanical repair, a check's verdict), in the log and as progress."""
        for note in notes:
            log.info("%s: %s", run, note)
            self.services.progress("experiments", f"{self.name}: {run}: {note}")

    def prepare(self) -> None:
        """Copy the template's code into the idea's folder (once), with the baseline run the pre-flight
        made (``<run>/baseline``), when it ran this very code: it is not run again."""
        if (self.workdir / "experiment.py").is_file():
            return
        shutil.copytree(self.services.template.path, self.workdir, ignore=SKIP_COPY, dirs_exist_ok=True)
        made = self.services.folder.path / "baseline"
        template_code = (self.services.template.path / "experiment.py").read_text(encoding="utf-8")
        if not (made / "run_0" / "final_info.json").is_file() or \
                (made / "experiment.py").read_text(encoding="utf-8") != template_code:
            return
        shipped = {p.name for p in self.services.template.path.iterdir()}
        for item in made.iterdir():  # run_0 and whatever else the baseline wrote beside it
            if item.name in shipped or item.name == "preflight.json":
                continue
            if item.is_dir():
                shutil.copytree(item, self.workdir / item.name, dirs_exist_ok=True)
            else:
                shutil.copy2(item, self.workdir / item.name)
        (self.workdir / "run_0" / "experiment.py").write_text(template_code, encoding="utf-8")
        seconds = json.loads((made / "preflight.json").read_text()).get("seconds") \
            if (made / "preflight.json").is_file() else None
        self.log("baseline", 1, seconds, None, self.workdir / "run_0")

    def execute(self, code: str, run: str) -> tuple[ExecResult, dict[str, dict[str, float]]]:
        """Run ``code`` as ``run`` in the sandbox; keep code and output in the run folder."""
        run_dir = self.workdir / run
        shutil.rmtree(run_dir, ignore_errors=True)
        (self.workdir / "experiment.py").write_text(code, encoding="utf-8")
        try:
            result = self.services.sandbox.run(["python", "experiment.py", "--out_dir", run], self.workdir,
                                               _limits(self.services))
        except SandboxUnavailable as exc:
            raise Failure(Category.SANDBOX_ERROR, exc.one_line(), exception_type=type(exc).__name__, code=code) from exc
        run_dir.mkdir(exist_ok=True)
        (run_dir / "experiment.py").write_text(code, encoding="utf-8")
        (run_dir / "stdout.txt").write_text(result.stdout, encoding="utf-8")
        (run_dir / "stderr.txt").write_text(result.stderr, encoding="utf-8")
        category, exc_type, message = classify_execution(result)
        if category is Category.OUT_OF_MEMORY:
            found = self.memory_error_at(run, result)
            if found is not None:
                raise Failure(category, f"{message or category.value}; in a rerun with its memory capped, line "
                                        f"{found.line} raised {found.error}", exception_type=exc_type,
                              output_tail=_tail(result), code=code, values=found.describe(),
                              where=line_in_part(code, found.line), lines=(found.line,))
        if category is not None:
            values = self.values_at_failure(run, result) if category is Category.RUNTIME_ERROR else None
            raise Failure(category, message or category.value, exception_type=exc_type,
                          output_tail=_tail(result), code=code, values=values, lines=frame_lines(result.stderr))
        try:
            return result, read_final_info(run_dir / "final_info.json", self.metrics)
        except InvalidResults as exc:
            missing = not (run_dir / "final_info.json").is_file()
            found = self.non_finite_at(run, result) if isinstance(exc, NonFiniteResults) else None
            raise Failure(Category.MISSING_RESULTS if missing else Category.INVALID_RESULTS,
                          exc.message + (f"; the first inf or nan was made at line {found.line} ({found.error}, "
                                         "in a rerun with numpy's floating-point errors raised)" if found else ""),
                          output_tail=_tail(result), code=code, values=found.describe() if found else None,
                          where=line_in_part(code, found.line) if found else None,
                          lines=(found.line,) if found else None) from exc

    def non_finite_at(self, run: str, result: ExecResult) -> FailingValues | None:
        """Where a run whose results are not finite made its first inf or nan, and the values that line
        read (``failing_values.first_non_finite``); kept in the run folder as failing_values.txt."""
        self.services.progress("experiments", f"{self.name}: {run}: results not finite; rerunning to find "
                               "the line that made the first inf or nan")
        found = first_non_finite(self.services.sandbox, self.workdir, _limits(self.services), result.wall_s)
        return self.keep_values(run, found) if found is not None else None

    def memory_error_at(self, run: str, result: ExecResult) -> FailingValues | None:
        """Where a run the memory limit killed allocated past it, and the values that line read beside
        the same line's in the baseline (``values.memory_error_at``); kept as failing_values.txt."""
        self.services.progress("experiments", f"{self.name}: {run}: killed by the memory limit; rerunning with "
                               "its memory capped to find the line that allocates too much")
        found = memory_error_at(self.services.sandbox, self.workdir, _limits(self.services), result.wall_s)
        return self.beside_baseline(run, found, result) if found is not None else None

    def beside_baseline(self, run: str, found: FailingValues, result: ExecResult) -> FailingValues:
        """``found`` with the same line's values in the baseline where they differ (``with_baseline``),
        kept in the run folder as failing_values.txt."""
        found = with_baseline(found, self.services.sandbox, self.workdir,
                              (self.workdir / "experiment.py").read_text(encoding="utf-8"),
                              (self.workdir / "run_0" / "experiment.py").read_text(encoding="utf-8"),
                              _limits(self.services), result.wall_s)
        return self.keep_values(run, found)

    def keep_values(self, run: str, found: FailingValues) -> FailingValues:
        """``found``, kept in the run folder as failing_values.txt."""
        (self.workdir / run / "failing_values.txt").write_text(f"line {found.line}: {found.describe()}\n",
                                                               encoding="utf-8")
        return found

    def values_at_failure(self, run: str, result: ExecResult) -> str | None:
        """The values the failing line read, from a rerun under the sandbox's value harness; kept in
        the run folder as failing_values.txt."""
        found = failing_values(self.services.sandbox, self.workdir, ["experiment.py", "--out_dir", run],
                               _limits(self.services), result.wall_s)
        if found is None or not found.values:
            return None
        return self.beside_baseline(run, found, result).describe()

    def baseline(self) -> dict[str, dict[str, float]]:
        """run_0: the template's code unchanged (not run again when its results exist)."""
        done = self.workdir / "run_0" / "final_info.json"
        if done.is_file():
            return read_final_info(done, self.metrics)
        self.services.progress("experiments", f"{self.name}: baseline run_0")
        code = (self.services.template.path / "experiment.py").read_text(encoding="utf-8")
        started = time.perf_counter()
        try:
            _, means = self.execute(code, "run_0")
        except Failure as failure:
            self.log("baseline", 1, time.perf_counter() - started, failure, self.workdir / "run_0")
            raise
        self.log("baseline", 1, time.perf_counter() - started, None, self.workdir / "run_0")
        return means

    def new_code(self, code: str, run: str, change: str, history: History, fix: Fix | None = None,
                 home: Home | None = None) -> str:
        """The attempt's new experiment.py: with ``fix``, that part of the last attempt's code repaired
        (``fixed_code``); else, or when no fix came, the change made to the baseline ``code``. A reply
        that cannot be the change without running it is asked for once more, more freely and told why:
        one that is the code of an attempt that already failed, or one that changes nothing the
        experiment computes (a small model often rewrites the parts it chose word for word)."""
        if fix is not None:
            fixed = self.fixed_code(code, run, change, history, fix)
            if fixed is not None:
                return fixed
        try:
            new_code = self.apply(code, self.ask_edit(code, run, change, history, home=home))
        except Failure as failure:
            if failure.category is not Category.NO_EFFECTIVE_CHANGE:
                raise
            log.info("%s: the reply changes nothing (%s); asking once more", run, failure.message)
            return self.apply(code, self.ask_edit(code, run, change, history, unchanged=failure.message, home=home))
        unchanged = inert_reason(code, new_code)
        if unchanged is not None:
            log.info("%s: the reply changes nothing the experiment computes; asking once more", run)
            return self.apply(code, self.ask_edit(code, run, change, history, unchanged=unchanged, home=home))
        same = history.failed_code.get(new_code)
        if same is None:
            return new_code
        log.info("%s: the reply repeats attempt %d's code; asking once more", run, same)
        return self.apply(code, self.ask_edit(code, run, change, history, repeats=same, home=home))

    def fixed_code(self, code: str, run: str, change: str, history: History, fix: Fix) -> str | None:
        """The last attempt's code with ``fix.part`` rewritten by the model; ``None`` when two replies in
        a row give the part back unchanged or keep the failing line (``crash_kept``): the change is then
        made again from the baseline in the same attempt."""
        failed, unchanged = history.last, None
        if failed is None or not failed.code:
            return None
        for _ in range(2):
            try:
                fixed = self.apply(failed.code, self.ask_fix(code, run, change, history, fix, unchanged))
            except Failure as failure:
                if failure.category is not Category.NO_EFFECTIVE_CHANGE:
                    raise
                unchanged = f"it gave {fix.part} back unchanged"
            else:
                unchanged = crash_kept(failed.code, fixed, fix.part, failed.lines) if fix.via is None else None
                if unchanged is None:
                    return fixed
            log.info("%s: the fix cannot work (%s)", run, unchanged)
        log.info("%s: no fix in two asks; making the change again from the baseline", run)
        return None

    @property
    def sample(self) -> int:
        """The gateway's sample number of the current candidate: its seed and its own cache entry. A round
        that asks a round's prompts again (for more clean runs) draws new samples of them."""
        return self.candidate + self.repeats * self.services.settings.candidates

    def temperature(self, repair_step: float) -> float:
        """The sampling temperature of a request: the setting, plus ``repair_step`` (repairs sample a little
        more freely each time), plus a step per candidate after the first (candidates of one attempt
        share the prompt, token for token, and differ by temperature and seed)."""
        settings = self.services.settings
        return min(1.0, settings.temperature + repair_step + CANDIDATE_TEMPERATURE_STEP * self.candidate)

    def head(self, code: str, run: str, change: str) -> str:
        """The start every rewrite and fix prompt of a run shares, token for token: the task, the baseline
        code and its parts, the idea, the change and its sketch. What differs between attempts comes
        after it, so the model server serves this prefix from its cache."""
        return render("experiments", "run_head", code_head=code_head(self.services, code),
                      idea_title=self.idea["title"], hypothesis=self.idea["hypothesis"],
                      run_name=run, change=change, mentioned=", ".join(mentioned_parts(code, change)),
                      sketch=self.sketches.get(run, ""))

    def sketch(self, run: str, change: str) -> str:
        """What ``change`` computes, asked of the model on its own in a short prompt without the file
        (``method_sketch``): a small model that recalls a formula when asked for it alone often writes
        another one deep in a long edit prompt. Standalone numpy of at most ``SKETCH_MAX_LINES`` lines
        that parses, else ""; none for a change made only of settings. Kept in
        ``attempts/<run>/sketch.py``."""
        if not self.services.settings.method_sketch or only_settings(change):
            return ""
        self.services.progress("experiments", f"{self.name}: {run}: writing out what the change computes")
        ask = render("experiments", "sketch", task_description=self.services.template.prompt.task_description,
                     idea_title=self.idea["title"], hypothesis=self.idea["hypothesis"], change=change,
                     max_lines=SKETCH_MAX_LINES)
        try:
            reply = self.services.gateway.text(
                [{"role": "system", "content": render("experiments", "sketch_system")},
                 {"role": "user", "content": ask}],
                role="coding", stage=f"experiments/{self.name}/{run}/sketch", max_tokens=SKETCH_MAX_TOKENS,
                temperature=0.0)
        except LLMOutputInvalid:
            return ""
        sketch = standalone_sketch(reply, SKETCH_MAX_LINES)
        if sketch:
            write_atomic(self.workdir / "attempts" / run / "sketch.py", sketch + "\n")
        return sketch

    def ask_edit(self, code: str, run: str, change: str, history: History, repeats: int | None = None,
                 unchanged: str | None = None, home: Home | None = None) -> CodeEdit | CodeRewrite:
        """The model's change for one attempt, in the configured edit format (``repeats``: the earlier
        attempt whose failed code the first reply repeated; ``unchanged``: why the first reply changed
        nothing the experiment computes; ``home``: the part the change must be made in and why, given
        instead of asking which parts)."""
        services, template = self.services, self.services.template
        failure, attempt = history.last, history.attempt
        rewrite = services.settings.edit_format == "rewrite"
        system = code_system(services)
        change = code_change(change)
        user = render("experiments", "rewrite" if rewrite else "edit", task_description=template.prompt.task_description,
                      idea_title=self.idea["title"], hypothesis=self.idea["hypothesis"], run_name=run, change=change,
                      head=self.head(code, run, change) if rewrite else "", attempt=attempt,
                      failure=failure.summary if failure else None,
                      earlier=history.earlier, repeated=history.repeated, avoid=history.avoid, others=history.others,
                      category=failure.category.value if failure else None, where=failure.where if failure else None,
                      values=failure.values if failure else None,
                      output_tail=failure.output_tail if failure else "", code=code,
                      previous_diff=changes(code, failure.code) if failure and failure.code else "", repeats=repeats,
                      unchanged=unchanged, home=home.part if home else None, home_rule=home.rule if home else None,
                      home_names=", ".join(home.names) if home else "",
                      undefined_name=bool(failure and failure.exception_type == "NameError"))
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        stage = f"experiments/{self.name}/{run}"
        step = (attempt - 1) + (2 if repeats or unchanged else 0)
        temperature = self.temperature(REPAIR_TEMPERATURE_STEP * step)
        if not rewrite:
            return services.gateway.structured(messages, anchored_code_edit(code), role="coding",  # type: ignore[return-value]
                                               stage=stage, max_tokens=1500, temperature=temperature,
                                               sample=self.sample)
        todo = unchanged is not None or (failure is not None and failure.category is Category.NO_EFFECTIVE_CHANGE)
        return self.ask_rewrite(messages, code, change, stage, temperature, home.part if home else None, todo=todo)

    def ask_fix(self, code: str, run: str, change: str, history: History, fix: Fix,
                unchanged: str | None = None) -> CodeRewrite:
        """One part of the last attempt's code, rewritten to repair the failure located in it or in a
        caller (``unchanged``: why the first reply could not repair it: it gave the part back as it
        was, or left the failing line and what feeds it as they were)."""
        part = fix.part
        services, failure = self.services, history.last
        assert failure is not None and failure.code is not None
        system = code_system(services)
        user = render("experiments", "fix", head=self.head(code, run, code_change(change)),
                      attempt=history.attempt, previous_diff=changes(code, failure.code), failure=failure.summary,
                      where=failure.where, values=failure.values, output_tail=failure.output_tail,
                      part=part, current=unit_text(failure.code, part), avoid=history.avoid,
                      others=history.others,
                      via=fix.via, unchanged=unchanged, non_finite=failure.category is Category.INVALID_RESULTS,
                      counterpart=failure.counterpart == part)
        step = history.fixes + (2 if unchanged else 0)
        temperature = self.temperature(REPAIR_TEMPERATURE_STEP * step)
        reply = services.gateway.text([{"role": "system", "content": system}, {"role": "user", "content": user}],
                                      role="coding", stage=f"experiments/{self.name}/{run}", max_tokens=1800,
                                      temperature=temperature, sample=self.sample,
                                      grammar=self.part_grammar(failure.code, part))
        return CodeRewrite(reasoning=f"fix {part}", rewrites=[UnitRewrite(unit=part, code=code_block(reply))])

    def ask_rewrite(self, messages: list[dict[str, str]], code: str, change: str, stage: str,
                    temperature: float | None = None, home: str | None = None, todo: bool = False) -> CodeRewrite:
        """Two steps: which parts (schema-constrained; just ``home`` when it is given), then each part's
        new text as a plain code block (``todo``: each function shown with a ``# TODO: <change>`` line
        where such a change usually goes, ``units.with_todo``, after a reply or an attempt that changed
        nothing). With ``line_choice``, a long function's line is chosen first (``ask_spot``): an even
        candidate then writes only the lines that take its place, an odd one the function with the TODO
        at that line."""
        gateway = self.services.gateway
        choice: PartChoice
        if home is not None:
            choice = PartChoice(reasoning=f"the change belongs in {home}", parts=[home])
        else:
            choice = gateway.structured(messages, part_choice([u.name for u in code_units(code)]),  # type: ignore[assignment]
                                        role="coding", stage=stage, max_tokens=300, temperature=temperature,
                                        sample=self.sample)
        convo = [*messages, {"role": "assistant", "content": choice.model_dump_json()}]
        rewrites, reasons = [], [choice.reasoning]
        for part in dict.fromkeys(choice.parts):
            current = unit_text(code, part)
            spot, convo = self.ask_spot(convo, part, current, change, stage, temperature)
            if spot is not None and self.candidate % 2 == 0:
                ask = render("experiments", "write_lines", part=part, change=change, line=spot.label)
                reply = gateway.text([*convo, {"role": "user", "content": ask}], role="coding", stage=stage,
                                     max_tokens=LINES_MAX_TOKENS, temperature=temperature, sample=self.sample)
                text = splice(current, spot, code_block(reply))
                reasons.append(f"{part} at the line {spot.label}")
            else:
                marked = (with_todo_at(current, spot, change) if spot is not None
                          else with_todo(current, change) if todo else current)
                ask = render("experiments", "write_part", part=part, change=change, current=marked,
                             todo=marked != current)
                reply = gateway.text([*convo, {"role": "user", "content": ask}], role="coding", stage=stage,
                                     max_tokens=1800, temperature=temperature, sample=self.sample,
                                     grammar=self.part_grammar(code, part))
                text = code_block(reply)
                if spot is not None:
                    reasons.append(f"{part} with a TODO at the line {spot.label}")
            rewrites.append(UnitRewrite(unit=part, code=text))
            convo += [{"role": "user", "content": ask},
                      {"role": "assistant", "content": f"```python\n{code_block(reply).strip()}\n```"}]
        return CodeRewrite(reasoning="; ".join(reasons), rewrites=rewrites)

    def ask_spot(self, convo: list[dict[str, str]], part: str, current: str, change: str, stage: str,
                 temperature: float | None) -> tuple[Spot | None, list[dict[str, str]]]:
        """With ``line_choice``, for a function longer than a seam: the line of ``part`` the change goes
        at, chosen by the model among its statements (a schema enum), and the conversation with that
        question and answer; else ``None`` and the conversation as it was."""
        if not self.services.settings.chooses_lines():
            return None, convo
        places = spots(current) if len(current.splitlines()) > SEAM_LINES else []
        if len(places) < 2:
            return None, convo
        ask = render("experiments", "where_line", part=part, change=change, current=current)
        asked = [*convo, {"role": "user", "content": ask}]
        choice: SpotChoice = self.services.gateway.structured(  # type: ignore[assignment]
            asked, spot_choice([p.label for p in places]), role="coding", stage=stage, max_tokens=200,
            temperature=temperature, sample=self.sample)
        spot = next(p for p in places if p.label == choice.line)
        return spot, [*asked, {"role": "assistant", "content": choice.model_dump_json()}]

    def part_grammar(self, code: str, part: str) -> str | None:
        """The grammar a function's new text is decoded under (``grammar.function_reply``; the gateway
        applies it on a local model only), or ``None`` for other parts or with ``part_grammar`` off."""
        if not self.services.settings.part_grammar:
            return None
        units = {u.name: u for u in code_units(code)}
        unit = units.get(part)
        if unit is None or unit.kind != "def" or not unit.defines:
            return None
        defined = {u.defines for u in units.values() if u.kind == "def" and u.defines}
        lines = code.splitlines()[unit.start:unit.end]
        decorators = tuple(line.strip() for line in lines if line.startswith("@"))
        # The reply's body is indented by tabs where the function's is, else by four spaces.
        tabbed = any(line.startswith("\t") for line in lines)
        return function_reply(unit.defines, defined, decorators, "\t" if tabbed else "    ")

    def apply(self, code: str, edit: CodeEdit | CodeRewrite) -> str:
        """The new experiment.py, or a ``Failure`` (nothing is applied partially)."""
        try:
            if isinstance(edit, CodeRewrite):
                return apply_rewrites(code, edit.rewrites)
            return apply_edits({"experiment.py": code}, edit.edits, EDITABLE)["experiment.py"]
        except RewriteSyntaxError as exc:
            raise Failure(Category.SYNTAX_ERROR, exc.message, exception_type="SyntaxError", code=code) from exc
        except EditNotApplied as exc:
            raise Failure(Category.EDIT_NOT_APPLIED, exc.message, code=code) from exc
        except NoEffectiveChange as exc:
            raise Failure(Category.NO_EFFECTIVE_CHANGE, exc.message, code=code) from exc

    def keep(self, run: str, code: str, problem: str) -> None:
        """The run folder of an attempt stopped before running: its code and why it did not run."""
        run_dir = self.workdir / run
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        (run_dir / "experiment.py").write_text(code, encoding="utf-8")
        (run_dir / "stderr.txt").write_text(f"not run: {problem}\n", encoding="utf-8")

    def keep_attempt(self, run: str, attempt: int, failure: Failure) -> Path:
        """``attempts/<run>/attempt_<n>/``: a copy of a failed attempt's run folder (the next attempt
        replaces ``<run>/``), with ``failure.txt``. An attempt whose reply could not be applied has no
        code of its own: its folder holds only ``failure.txt``."""
        kept = self.workdir / "attempts" / run / f"attempt_{attempt}"
        shutil.rmtree(kept, ignore_errors=True)
        run_dir = self.workdir / run
        if run_dir.is_dir():
            shutil.copytree(run_dir, kept, ignore=shutil.ignore_patterns("outcome.json"))
        kept.mkdir(parents=True, exist_ok=True)
        details = [failure.summary, *(f"{label}: {text}" for label, text in
                                      (("where", failure.where), ("values", failure.values)) if text)]
        (kept / "failure.txt").write_text("\n".join(details) + "\n", encoding="utf-8")
        return kept

    def same_as_baseline(self, means: dict[str, dict[str, float]]) -> bool:
        """True when every non-timing metric equals the baseline's exactly: the edit changed no computation."""
        baseline = read_final_info(self.workdir / "run_0" / "final_info.json")
        compared = [(means[s][m], v) for s, metrics in baseline.items() for m, v in metrics.items()
                    if "time" not in m.lower() and s in means and m in means[s]]
        return bool(compared) and all(a == b for a, b in compared)

    def attempt(self, code: str, run: str, change: str, history: History, fix: Fix | None = None,
                home: Home | None = None, given: str | None = None) -> dict[str, dict[str, float]]:
        """One attempt: ask for an edit (or, with ``fix``, that part of the last attempt's code fixed;
        with ``home``, the change made in that part; with ``given``, take that code and ask nothing),
        apply it strictly, check syntax, repair what ``autofix`` repairs mechanically, check names, run,
        validate."""
        try:
            new_code = given if given is not None else self.new_code(code, run, change, history, fix, home)
        except LLMOutputInvalid as exc:
            raise Failure(Category.LLM_OUTPUT_INVALID, exc.message, code=code) from exc
        context = PassContext(baseline=code, change=change, library_names=lambda source: (
            missing_library_names(source, self.services.sandbox, self.workdir, _limits(self.services))))
        passes = run_passes(new_code, context)
        if passes.failure is not None and passes.failure.exception_type == "NameError":
            helped, notes = self.define_called(code, passes.code, run, change)
            if notes:
                again = run_passes(helped, context)
                again.fired = [*passes.fired[:-1], *(FiredPass(name="define_called", kind="repair", note=note)
                                                     for note in notes), *again.fired]
                passes = again
        self.fired, new_code = passes.fired, passes.code
        self.tell(run, *(f.note for f in passes.fired[:len(passes.fired) - (passes.failure is not None)]))
        try:
            if passes.failure is not None:
                if passes.failure.category is not Category.SANDBOX_ERROR:
                    self.keep(run, new_code, passes.failure.message)
                raise passes.failure
            means = self.execute(new_code, run)[1]
        except Failure as failure:
            hint = copy_hint(code, new_code, failure.lines or ())
            if hint is not None:
                failure.message = f"{failure.message}; {hint}"
            raise
        if self.same_as_baseline(means):
            raise Failure(Category.NO_EFFECTIVE_CHANGE, "the results are identical to the baseline's: the edit did "
                          f"not change what the experiment computes; {self.why_same(code, new_code, run)}",
                          code=new_code)
        return means

    def define_called(self, code: str, new_code: str, run: str, change: str) -> tuple[str, list[str]]:
        """``new_code`` with a def for each function it calls that nothing defines (at most
        ``MAX_HELPERS``), each asked of the model on its own: a short reply after the run's cached head,
        put before the first statement that calls it. A small model often calls a helper it never wrote
        (``swish(z)``), and a new candidate tends to call it again; the notes say what was defined."""
        notes, change = [], code_change(change)
        for name in undefined_calls(new_code)[:MAX_HELPERS]:
            calls = [line.strip() for line in new_code.splitlines() if f"{name}(" in line][:3]
            ask = render("experiments", "write_helper", head=self.head(code, run, change), helper=name,
                         calls="\n".join(calls), change=change)
            defined = {u.defines for u in code_units(new_code) if u.kind == "def" and u.defines}
            grammar = function_reply(name, defined) if self.services.settings.part_grammar else None
            try:
                reply = self.services.gateway.text(
                    [{"role": "system", "content": code_system(self.services)}, {"role": "user", "content": ask}],
                    role="coding", stage=f"experiments/{self.name}/{run}/helper", max_tokens=HELPER_MAX_TOKENS,
                    temperature=self.temperature(0.0), sample=self.sample, grammar=grammar)
            except LLMOutputInvalid:
                break
            helped = with_helper(new_code, name, reply)
            if helped is None:
                break
            new_code = helped
            notes.append(f"defined {name}, which the edit calls and nothing defined (its def asked of the model)")
        return new_code, notes

    def why_same(self, code: str, new_code: str, run: str) -> str:
        """Why an edit's results are the baseline's: what the code says, else which of its new lines a
        rerun under the run's own limits never reached, or which new updates never changed what they
        update."""
        static = why_unchanged(code, new_code)
        if static is not None:
            return static
        self.services.progress("experiments", f"{self.name}: {run}: results identical to the baseline's; "
                               "rerunning to see which new lines run")
        rerun = lines_not_run(self.services.sandbox, self.workdir, code, new_code, _limits(self.services))
        return describe_not_run(new_code, rerun) if rerun is not None else "is the new value actually used?"

    def planned_run(self, number: int, change: str, name: str | None = None) -> RunOutcome:
        """A planned run, searched for by generate and test; idempotent on re-entry.

        Each round (the first, then up to ``max_repairs`` repairs) makes ``candidates`` attempts from one
        prompt, which differ by temperature and seed, and runs each through the passes and the sandbox;
        the first that succeeds ends the search. Otherwise the next round repairs the most promising
        failure (``PROMISE``), told what the other candidates failed with; when that repair is a fix in
        place, the round's last candidate starts afresh instead (``round_moves``). The search also stops when
        ``run_budget_s`` of wall time or ``run_budget_tokens`` of tokens are spent (``budget_spent``).
        Every candidate is an attempt in the failure log and an entry in the journal.

        A candidate that executes but whose computed signals find defects (``FidelitySignals.defects``:
        its new lines never ran, the change's numbers are absent, a derivative was left as it was) ends
        the search only when it is the last chance (``fidelity_search`` off, or no candidate or round left)
        and no clean run was found: otherwise it is kept aside, the search goes on told why it is not the
        change, and when nothing better executes the run keeps the executed candidate with the fewest
        defects, the earliest on a tie.

        A clean run (executed, no defect) ends the search when ``consensus`` is 1. Otherwise it is kept aside
        and the search goes on (a round whose candidates all ran clean is asked again, with new samples),
        until two clean runs agree (``signals.agree``: the same results within half the seed noise), or
        ``consensus`` clean runs were found, or the candidates run out; the run then keeps the clean run most
        others agree with, the earliest on a tie (``most_agreed``). Right implementations of one change
        compute the same numbers; a small model's wrong ones tend to differ from each other."""
        run = f"run_{number}"
        saved = self.workdir / run / "outcome.json"
        if saved.is_file():
            return RunOutcome.model_validate_json(saved.read_text())
        settings = self.services.settings
        baseline_code = (self.workdir / "run_0" / "experiment.py").read_text(encoding="utf-8")
        self.sketches[run] = self.sketch(run, code_change(change))
        history = History()  # an attempt edits the working baseline, or fixes the last attempt's crash in place
        rounds, width = 1 + settings.max_repairs, settings.candidates
        rewrite = settings.edit_format == "rewrite"
        begun, made, parent = time.perf_counter(), 0, "baseline"
        tokens_before = self.services.gateway.ledger.tokens
        executed: list[Executed] = []  # candidates that ran with defects, kept aside while the search goes on
        clean: list[Executed] = []  # candidates that ran with no defect, kept aside until enough agree
        self.repeats = 0
        for round_ in range(1, rounds + 1):
            moves = self.round_moves(baseline_code, change, history, width) if rewrite else [(None, None)] * width
            failed_here: list[tuple[int, Failure]] = []
            fixed: set[int] = set()  # the attempts of this round that fixed the last attempt in place
            for self.candidate in range(width):
                if self.budget_spent(begun, tokens_before, made):
                    break
                made += 1
                number = made
                home, fix = moves[self.candidate]
                if fix:
                    fixed.add(made)
                entry = self.begin_candidate(run, made, (round_, rounds), width, parent, home, fix)
                outcome = self.try_candidate(run, made, change, baseline_code, history, fix, home, entry)
                if isinstance(outcome, Failure):
                    failure = outcome
                else:
                    last_chance = round_ == rounds and self.candidate == width - 1
                    made, ended = self.ran(saved, run, entry, change, name, baseline_code, outcome, last_chance,
                                           clean, executed)
                    if isinstance(ended, RunOutcome):
                        return ended
                    if ended is None:
                        continue  # a clean run, kept while more are gathered
                    failure = ended
                failed_here.append((number, failure))
                history.candidate_failed(failure, home.part if home is not None and fix is None else None)
            self.candidate = 0
            if not failed_here:
                if clean and not self.budget_spent(begun, tokens_before):
                    self.repeats += 1  # every candidate ran clean and none agree yet: new samples of these prompts
                    continue
                break  # the budget is spent
            number_of, chosen = min(failed_here, key=lambda item: _promise(item[1]))
            history.others = [f.summary for _, f in failed_here if f is not chosen]
            history.failed(chosen, fixed_in_place=number_of in fixed)
            parent = f"attempt {number_of}"
        return self.search_ended(saved, run, made, change, name, baseline_code, clean, executed, history)

    def ran(self, saved: Path, run: str, entry: JournalEntry, change: str, name: str | None, baseline_code: str,
            means: dict[str, dict[str, float]], last_chance: bool, clean: list[Executed],
            executed: list[Executed]) -> tuple[int, RunOutcome | Failure | None]:
        """A candidate that executed (its journal ``entry``): the candidates made so far (a narrowed run is
        one more), and the run's outcome when it ends the search; else the candidate is kept aside, in
        ``executed`` (with defects), with the failure the next round is told, or in ``clean`` (no defect;
        more are gathered to compare), with ``None``."""
        settings = self.services.settings
        attempt = made = entry.attempt
        found = self.signals_of(run, change, baseline_code)
        if not defects_of(found) and settings.consensus == 1:
            made, means, found = self.narrowed(run, entry, change, baseline_code, means, found)
        if not defects_of(found):
            if settings.consensus == 1:
                return made, self.succeeded(saved, run, made, change, name, means, found, baseline_code)
            clean.append(self.set_aside_clean(run, made, means, found))
            kept = most_agreed(clean, settings.consensus)
            return made, None if kept is None else self.keep_chosen(saved, run, made, change, name, kept, clean,
                                                                    baseline_code)
        if not clean and (not settings.fidelity_search or last_chance):
            return made, self.succeeded(saved, run, made, change, name, means, found, baseline_code)
        executed.append(self.set_aside(run, attempt, means, found))
        return made, executed[-1].failure

    def narrowed(self, run: str, entry: JournalEntry, change: str, baseline_code: str,
                 means: dict[str, dict[str, float]],
                 found: FidelitySignals | None) -> tuple[int, dict[str, dict[str, float]], FidelitySignals | None]:
        """The clean run in ``<run>/`` with its edits of functions the change does not point to undone
        (``outside_named_parts``; not when one is a changed function's pair, such as its derivative), run
        as one more attempt (``move`` "narrow", no model asked): kept when it runs clean too, the smaller
        edit being the change as asked; else the clean run is put back, with a defect when without those
        edits it computes nothing new (all it changed is where the change does not point). Returns the
        candidates made, and the kept run's means and signals. The narrowed run's journal entry is the clean
        run's ``entry`` (its round and candidate) as its child."""
        made = entry.attempt
        if not self.services.settings.narrow_edits:
            return made, means, found
        code = (self.workdir / run / "experiment.py").read_text(encoding="utf-8")
        try:
            narrow = outside_named_parts(baseline_code, code, code_change(change))
        except SyntaxError:
            narrow = None
        if narrow is None or signals.unpaired_changes(baseline_code, narrow[0]):
            return made, means, found  # nothing to undo, or what it would undo is a changed function's pair
        variant, undone = narrow
        kept = self.keep_attempt(run, made, Failure(Category.NO_EFFECTIVE_CHANGE, "it ran with no defect; kept while "
                                                    f"attempt {made + 1} tries it without its edits of "
                                                    f"{', '.join(undone)}", code=code))
        self.services.progress("experiments", f"{self.name}: {run} attempt {made} ran clean; trying it without its "
                               f"edits of {', '.join(undone)}, which the change does not name")
        child = entry.model_copy(update={"attempt": made + 1, "parent": f"attempt {made}", "move": "narrow",
                                         "part": ", ".join(undone)})
        outcome = self.try_candidate(run, made + 1, change, baseline_code, History(), None, None, child, variant)
        (kept / "failure.txt").unlink(missing_ok=True)
        # the narrowed run is the baseline: its results are the baseline's, or the rerun found that every
        # function it changed computes what the baseline's does
        baseline_again = isinstance(outcome, Failure) and outcome.category is Category.NO_EFFECTIVE_CHANGE
        if not isinstance(outcome, Failure):
            narrowed = self.signals_of(run, change, baseline_code)
            if narrowed is None or not narrowed.defects:
                self.tell(run, f"attempt {made + 1} is attempt {made} without its edits of {', '.join(undone)}, "
                          "which the change does not name; it ran clean too, so the run keeps it")
                return made + 1, outcome, narrowed
            why = "; ".join(narrowed.defects)
            baseline_again = narrowed.nothing_new
        else:
            why = outcome.summary
        self.restore(run, kept)
        if baseline_again:
            # without them it computes nothing new: its effect is all in parts the change does not name
            found = (found or FidelitySignals()).model_copy(deep=True)
            defect = (f"what it computes anew comes only from its edits of {', '.join(undone)}, which the change "
                      f"does not name; without them it is the baseline")
            found.defects.append(defect)
            found.problems.append(defect)
            return made + 1, means, found
        self.tell(run, f"attempt {made + 1}, attempt {made} without its edits of {', '.join(undone)}, did not run "
                  f"clean ({why}); the run keeps attempt {made}")
        return made + 1, means, found

    def begin_candidate(self, run: str, made: int, round_of: tuple[int, int], width: int, parent: str,
                        home: Home | None, fix: Fix | None) -> JournalEntry:
        """Say which candidate starts, and its journal entry so far."""
        round_, rounds = round_of
        self.services.progress("experiments", f"{self.name}: {run} attempt {round_}/{rounds}"
                               + (f" candidate {self.candidate + 1}/{width}" if width > 1 else "")
                               + (f" (fixing {fix.part} of {parent})" if fix else "")
                               + (f" (the change goes in {home.part})" if home else ""))
        return JournalEntry(run=run, attempt=made, round=round_, candidate=self.candidate + 1,
                            parent=parent if fix else "baseline", move="fix" if fix else "change",
                            part=(fix or home).part if fix or home else None, ok=False)

    def search_ended(self, saved: Path, run: str, made: int, change: str, name: str | None, baseline_code: str,
                     clean: list[Executed], executed: list[Executed], history: History) -> RunOutcome:
        """The outcome once no candidate is left: the clean run most others agree with, else the executed
        candidate with the fewest defects (the earliest on a tie), else the failure."""
        if clean:
            best = most_agreed(clean, 1)
            assert best is not None
            return self.keep_chosen(saved, run, made, change, name, best, clean, baseline_code)
        if executed:
            best = min(executed, key=lambda e: (len(e.signals.defects), e.attempt))
            self.restore(run, best.kept)
            self.tell(run, f"no later candidate executed without defects; the run keeps attempt {best.attempt}")
            return self.succeeded(saved, run, made, change, name, best.means, best.signals, baseline_code)
        summary = history.last.summary if history.last else "failed"
        return self.save(saved, RunOutcome(run=run, change=change, name=name, ok=False, attempts=made,
                                           failure=summary))

    def succeeded(self, saved: Path, run: str, made: int, change: str, name: str | None,
                  means: dict[str, dict[str, float]], found: FidelitySignals | None, baseline_code: str) -> RunOutcome:
        """The outcome of a planned run whose code in ``<run>/`` executed."""
        self.candidate = 0
        if made > 1:
            self.services.failures.mark_repaired(self.services.folder.run_id, self.name, run)
        return self.save(saved, RunOutcome(run=run, change=change, name=name, ok=True, attempts=made, means=means,
                                           fidelity=self.judge(run, change, baseline_code), signals=found))

    def set_aside(self, run: str, attempt: int, means: dict[str, dict[str, float]],
                  found: FidelitySignals) -> Executed:
        """An executed candidate with defects, copied to ``attempts/<run>/attempt_<n>/`` (the next candidate
        replaces ``<run>/``), with the failure the next round is told: it ran, but is not the change."""
        code = (self.workdir / run / "experiment.py").read_text(encoding="utf-8")
        parts = {unit.defines: unit.name for unit in code_units(code) if unit.kind == "def" and unit.defines}
        counterpart = next((parts[name] for name in found.counterparts if name in parts), None)
        failure = Failure(Category.NO_EFFECTIVE_CHANGE, "it ran, but it is not the change asked for: "
                          + "; ".join(found.defects), code=code, counterpart=counterpart)
        self.services.progress("experiments", f"{self.name}: {run} attempt {attempt} ran with defects "
                               f"({'; '.join(found.defects)}); searching on")
        return Executed(attempt=attempt, means=means, signals=found, failure=failure,
                        kept=self.keep_attempt(run, attempt, failure))

    def set_aside_clean(self, run: str, attempt: int, means: dict[str, dict[str, float]],
                        found: FidelitySignals | None) -> Executed:
        """A clean run, copied to ``attempts/<run>/attempt_<n>/`` while the search looks for runs that agree."""
        code = (self.workdir / run / "experiment.py").read_text(encoding="utf-8")
        note = Failure(Category.NO_EFFECTIVE_CHANGE, "it ran with no defect; kept while other candidates are "
                       "compared with it", code=code)
        self.services.progress("experiments", f"{self.name}: {run} attempt {attempt} ran clean; sampling more "
                               "candidates to compare results")
        return Executed(attempt=attempt, means=means, signals=found or FidelitySignals(), failure=note,
                        kept=self.keep_attempt(run, attempt, note))

    def keep_chosen(self, saved: Path, run: str, made: int, change: str, name: str | None, chosen: Executed,
                    clean: list[Executed], baseline_code: str) -> RunOutcome:
        """The planned run as the clean run ``chosen``: its folder copied back to ``<run>/``, and why."""
        self.restore(run, chosen.kept)
        others = [e.attempt for e in clean if e is not chosen and agree(e, chosen)]
        if len(clean) == 1:
            self.tell(run, f"the run keeps attempt {chosen.attempt}, its one clean run")
        else:
            self.tell(run, f"the run keeps attempt {chosen.attempt} of {len(clean)} clean runs"
                      + (f"; its results agree with attempt(s) {', '.join(map(str, others))}" if others else
                         "; no two agree, so the earliest is kept"))
        (chosen.kept / "failure.txt").unlink(missing_ok=True)
        return self.succeeded(saved, run, made, change, name, chosen.means,
                              chosen.signals if self.services.settings.fidelity_signals else None, baseline_code)

    def restore(self, run: str, kept: Path) -> None:
        """``<run>/`` as a kept candidate's folder ``kept`` was (its ``failure.txt`` aside)."""
        shutil.rmtree(self.workdir / run, ignore_errors=True)
        shutil.copytree(kept, self.workdir / run, ignore=shutil.ignore_patterns("failure.txt"))

    def budget_spent(self, begun: float, tokens_before: int, made: int = 1) -> str | None:
        """Why no new candidate of this planned run starts (its wall-time or token budget is spent), or ``None``;
        always ``None`` before the first candidate (``made``: candidates made so far)."""
        settings = self.services.settings
        if not made:
            return None
        if settings.run_budget_s is not None and time.perf_counter() - begun > settings.run_budget_s:
            return f"the run's wall-time budget ({settings.run_budget_s:g}s) is spent"
        used = self.services.gateway.ledger.tokens - tokens_before
        if settings.run_budget_tokens is not None and used > settings.run_budget_tokens:
            return f"the run's token budget ({settings.run_budget_tokens}) is spent"
        return None

    def try_candidate(self, run: str, number: int, change: str, baseline_code: str, history: History,
                      fix: Fix | None, home: Home | None, entry: JournalEntry,
                      given: str | None = None) -> dict[str, dict[str, float]] | Failure:
        """One candidate (``given``: its code, when no model is asked): its means, or its failure (kept in
        ``attempts/``); logged and journalled either way."""
        started = time.perf_counter()
        shutil.rmtree(self.workdir / run, ignore_errors=True)  # a failed candidate's is kept in attempts/
        self.fired = []
        try:
            means = self.attempt(baseline_code, run, change, history, fix, home, given)
        except Failure as failed:
            kept = self.keep_attempt(run, number, failed)
            self.log(run, number, time.perf_counter() - started, failed, kept)
            journal.append(self.workdir, entry.model_copy(update={
                "category": failed.category.value, "message": failed.message[:2000], "where": failed.where,
                "values": failed.values, "passes": self.fired, "wall_s": time.perf_counter() - started,
                "diff": changes(baseline_code, failed.code) if failed.code else ""}))
            return failed
        self.log(run, number, time.perf_counter() - started, None, self.workdir / run)
        code = (self.workdir / run / "experiment.py").read_text(encoding="utf-8")
        journal.append(self.workdir, entry.model_copy(update={
            "ok": True, "means": means, "passes": self.fired, "wall_s": time.perf_counter() - started,
            "diff": changes(baseline_code, code)}))
        return means

    @classmethod
    def round_moves(cls, baseline_code: str, change: str, history: History,
                    width: int) -> list[tuple[Home | None, Fix | None]]:
        """Each candidate's move in a round: ``next_move`` for all, except that when it is a fix and the
        round has more than one candidate, the last one starts afresh from the baseline instead. Samples of
        one fix prompt tend to repeat one mistake; a fresh start is an independent try at the change, and
        both prompts begin with the same head, so the second costs little more than another sample."""
        home, fix = cls.next_move(baseline_code, change, history)
        moves: list[tuple[Home | None, Fix | None]] = [(home, fix)] * width
        if fix is not None and width > 1:
            moves[-1] = (cls.rules_home(baseline_code, change, history), None)
        return moves

    @staticmethod
    def rules_home(baseline_code: str, change: str, history: History) -> Home | None:
        """``rule_home`` for a first attempt or a fresh start, until ``HOME_TRIES`` fresh starts made there
        have failed: a rule's place is a prior, not a cage, and once it has failed that often the model
        chooses the parts itself (with the parts the change is about as its hint)."""
        home = rule_home(baseline_code, code_change(change))
        if home is not None and history.homes_failed.get(home.part, 0) >= HOME_TRIES:
            return None
        return home

    @classmethod
    def next_move(cls, baseline_code: str, change: str, history: History) -> tuple[Home | None, Fix | None]:
        """Where the next attempt works: (the part the change must be made in and why, or the part of
        the last attempt's code to fix). After a failure that read names only another function has, that
        function (``home_part``); else a fix in place (``part_to_fix``); else, at the first attempt
        and at each fresh start, the seam the change names (``named_seam``) or the one function that
        reads the constants a change adding computation names (``rule_home``): left to choose, a
        small model's fresh start often goes to ``constants`` and writes a settings-only edit."""
        home = home_part(baseline_code, history) if history.last is not None else None
        fix = part_to_fix(baseline_code, history) if home is None else None
        if home is None and fix is None:
            home = cls.rules_home(baseline_code, change, history)
        return home, fix

    def signals_of(self, run: str, change: str, baseline_code: str) -> FidelitySignals | None:
        """The computed fidelity signals of an executed run (``signals.compute``; the line-trace rerun runs
        under the run's own limits and stops once every new line has run), or ``None`` when they are off."""
        if not self.services.settings.fidelity_signals:
            return None
        code = (self.workdir / run / "experiment.py").read_text(encoding="utf-8")
        self.services.progress("experiments", f"{self.name}: {run} done; computing its fidelity signals")
        (self.workdir / "experiment.py").write_text(code, encoding="utf-8")
        rerun = lines_not_run(self.services.sandbox, self.workdir, baseline_code, code, _limits(self.services))
        found = signals.compute(change, baseline_code, code, self.workdir / "run_0" / "final_info.json",
                                self.workdir / run / "final_info.json", rerun)
        for problem in found.problems:
            self.tell(run, f"fidelity signal: {problem}")
        return found

    def judge(self, run: str, change: str, baseline_code: str) -> FidelityVerdict | None:
        """Whether the run's code does what the run was asked to change (``None`` when the check is off
        or the model's verdict never validated: the run's results stand either way)."""
        if not self.services.settings.judges_fidelity():
            return None
        self.services.progress("experiments", f"{self.name}: {run} done; checking its code does what was asked")
        code = (self.workdir / run / "experiment.py").read_text(encoding="utf-8")
        try:
            verdict = judge_run(self.services.gateway, title=self.idea["title"], change=code_change(change),
                                baseline=baseline_code, code=code, stage=f"experiments/{self.name}/{run}/fidelity")
        except LLMOutputInvalid as exc:
            log.warning("%s/%s: no fidelity verdict: %s", self.name, run, exc.message)
            return None
        if verdict.verdict != "faithful":
            log.info("%s/%s: the code is judged %s to the change: %s", self.name, run, verdict.verdict, verdict.missing)
        return verdict

    @staticmethod
    def save(path: Path, outcome: RunOutcome) -> RunOutcome:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, outcome.model_dump_json(indent=2) + "\n")
        return outcome

    def run_all(self) -> dict[str, Any]:
        self.prepare()
        try:
            baseline = self.baseline()
        except Failure as failure:
            return {"idea": self.name, "baseline": None, "runs": [],
                    "status": f"baseline failed: {failure.summary}"}
        outcomes = [self.planned_run(k, planned["change"], planned.get("name"))
                    for k, planned in enumerate(self.plan["runs"], start=self.first_run)]
        ok, shown = sum(o.ok for o in outcomes), sum(o.shown for o in outcomes)
        status = f"{ok}/{len(outcomes)} runs succeeded" + (
            f"; {ok - shown} of them executed but failed a fidelity signal" if shown < ok else "")
        result = {"idea": self.name, "baseline": baseline, "runs": [o.model_dump(mode="json") for o in outcomes],
                  "status": status}
        write_atomic(self.workdir / "outcome.json", json.dumps(result, indent=2) + "\n")
        return result

