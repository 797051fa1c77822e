"""The analysis of one idea (``experiments/<idea>/analysis.json``) and the claims ledger: every
comparison of a run with the baseline, with its effect, interval, p-values and verdict, plus the
record of what failed or deviated. The paper's table and comparison statements are rendered from it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from scientist.analysis.per_seed import SeedValues, read_per_seed, read_stderrs
from scientist.analysis.preregistration import AnalysisPlan, Direction, deviations
from scientist.analysis.stats import compare, holm, verdict

NO_PER_SEED = "no test: per-seed values not reported"


class Comparison(BaseModel):
    """One run against the baseline on one metric and setting."""

    id: str
    idea: str
    run: str
    run_name: str | None = None
    change: str
    setting: str
    metric: str
    primary: bool
    direction: Direction
    baseline_mean: float
    run_mean: float
    baseline_stderr: float | None = None
    run_stderr: float | None = None
    difference: float
    relative_pct: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n_baseline: int | None = None
    n_run: int | None = None
    paired: bool = False
    test: str | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    verdict: str
    note: str = ""

    @property
    def detected(self) -> bool:
        return self.verdict in ("better", "worse", "higher", "lower")


class FailedRun(BaseModel):
    run: str
    change: str
    failure: str


class IdeaAnalysis(BaseModel):
    """``analysis.json``: what was pre-registered, what was compared, and what departed from the plan."""

    idea: str
    preregistered: AnalysisPlan | None = None
    used: AnalysisPlan
    comparisons: list[Comparison] = Field(default_factory=list)
    deviations: list[str] = Field(default_factory=list)
    failed_runs: list[FailedRun] = Field(default_factory=list)
    fidelity: dict[str, str] = Field(default_factory=dict, description="run -> faithful/partial/not")
    seeds: int | None = None
    computed_at: str = ""

    def primary(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.primary]


def _mean(values: dict[str, float], metric: str) -> float | None:
    value = values.get(metric)
    return float(value) if isinstance(value, int | float) else None


def _directions(metrics: list[tuple[str, Direction]]) -> dict[str, Direction]:
    return dict(metrics)


def analyse_idea(idea: str, outcome: dict[str, Any], workdir: Path, used: AnalysisPlan,
                 frozen: AnalysisPlan | None, metrics: list[tuple[str, Direction]]) -> IdeaAnalysis:
    """Compare every successful run of ``outcome`` with the baseline under the analysis ``used``."""
    analysis = IdeaAnalysis(idea=idea, preregistered=frozen, used=used, deviations=deviations(frozen, used),
                            computed_at=datetime.now(UTC).isoformat(timespec="seconds"))
    baseline = outcome.get("baseline") or {}
    if not baseline:
        analysis.deviations.append("the baseline did not run: nothing was compared")
        return analysis
    primary = used.primary_metric or next(iter(next(iter(baseline.values()))), None)
    if used.primary_metric is None and primary is not None:
        analysis.deviations.append(f"no primary metric was pre-registered; the baseline's first metric "
                                   f"'{primary}' was used")
    directions = _directions(metrics)
    metric_list = [m for m in dict.fromkeys([primary, *used.secondary_metrics]) if m]
    settings = [used.setting] if used.setting else list(baseline)
    if used.setting and used.setting not in baseline:
        analysis.deviations.append(f"the pre-registered setting '{used.setting}' is not in the results")
        return analysis
    base_seeds = read_per_seed(workdir / "run_0" / "final_info.json")
    base_errs = read_stderrs(workdir / "run_0" / "final_info.json")
    for run in outcome.get("runs", []):
        if not run.get("ok"):
            analysis.failed_runs.append(FailedRun(run=run["run"], change=run.get("change", ""),
                                                  failure=str(run.get("failure") or "failed")))
            analysis.deviations.append(f"{run['run']} ({run.get('change', '')}) failed and is not compared")
            continue
        if run.get("fidelity"):
            analysis.fidelity[run["run"]] = run["fidelity"].get("verdict", "")
        run_seeds = read_per_seed(workdir / run["run"] / "final_info.json")
        run_errs = read_stderrs(workdir / run["run"] / "final_info.json")
        for setting in settings:
            for metric in metric_list:
                comparison = _one(idea, run, setting, metric, metric == primary, baseline, base_seeds, base_errs,
                                  run_seeds, run_errs, used, directions.get(metric, "unknown"))
                if comparison is not None:
                    analysis.comparisons.append(comparison)
    _correct(analysis, used)
    _check_seeds(analysis, used)
    for number, comparison in enumerate(analysis.comparisons, start=1):
        comparison.id = f"{idea}:C{number}"
    return analysis


def _one(idea: str, run: dict[str, Any], setting: str, metric: str, primary: bool, baseline: dict[str, Any],
         base_seeds: dict[str, SeedValues], base_errs: dict[str, dict[str, float]], run_seeds: dict[str, SeedValues],
         run_errs: dict[str, dict[str, float]], used: AnalysisPlan, direction: Direction) -> Comparison | None:
    base_mean = _mean(baseline.get(setting, {}), metric)
    run_mean = _mean((run.get("means") or {}).get(setting, {}), metric)
    if base_mean is None or run_mean is None:
        return None
    if primary and used.direction != "unknown":
        direction = used.direction
    comparison = Comparison(
        id="", idea=idea, run=run["run"], run_name=run.get("name"), change=run.get("change", ""), setting=setting,
        metric=metric, primary=primary, direction=direction, baseline_mean=base_mean, run_mean=run_mean,
        baseline_stderr=base_errs.get(setting, {}).get(metric), run_stderr=run_errs.get(setting, {}).get(metric),
        difference=run_mean - base_mean,
        relative_pct=(run_mean / base_mean - 1) * 100 if base_mean else None, verdict="untested", note=NO_PER_SEED)
    b, r = base_seeds.get(setting), run_seeds.get(setting)
    if b is None or r is None or metric not in b.values or metric not in r.values:
        return comparison
    result = compare(b.values[metric], r.values[metric], test=used.test, base_seeds=b.seeds, run_seeds=r.seeds)
    comparison.difference = result.difference
    comparison.ci_low, comparison.ci_high = result.ci_low, result.ci_high
    comparison.n_baseline, comparison.n_run, comparison.paired = result.n_baseline, result.n_run, result.paired
    comparison.test, comparison.p_value, comparison.note = result.test, result.p_value, result.note
    return comparison


def _correct(analysis: IdeaAnalysis, used: AnalysisPlan) -> None:
    """Holm across the runs and settings of each metric; then the verdicts (the smallest effect that
    counts applies to the primary metric)."""
    for metric in dict.fromkeys(c.metric for c in analysis.comparisons):
        family = [c for c in analysis.comparisons if c.metric == metric]
        raw = [c.p_value for c in family]
        adjusted = holm(raw) if used.correction == "holm" else raw
        for comparison, p in zip(family, adjusted, strict=True):
            comparison.p_adjusted = p
            comparison.verdict = verdict(comparison.difference, p, alpha=used.alpha,
                                         min_effect=used.min_effect if comparison.primary else 0.0,
                                         direction=comparison.direction)


def _check_seeds(analysis: IdeaAnalysis, used: AnalysisPlan) -> None:
    counts = {c.n_run for c in analysis.comparisons if c.n_run} | {c.n_baseline for c in analysis.comparisons
                                                                   if c.n_baseline}
    analysis.seeds = min(counts) if counts else None
    if used.seeds is not None and analysis.seeds is not None and analysis.seeds < used.seeds:
        analysis.deviations.append(f"{analysis.seeds} seeds were reported where {used.seeds} were pre-registered")


def fmt(value: float | None) -> str:
    """Four significant digits, as the table and the numbers check print them."""
    return "n/a" if value is None else f"{value:.4g}"


def fmt_p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3g}"


VERDICT_WORDS = {"better": "better than the baseline", "worse": "worse than the baseline",
                 "higher": "higher than the baseline", "lower": "lower than the baseline",
                 "no_difference": "no detectable difference", "untested": "not tested"}


def statement(c: Comparison, alpha: float) -> str:
    """The comparison in one plain sentence, every number from the ledger."""
    who = f"{c.run} ({c.run_name})" if c.run_name else c.run
    head = (f"{who} against the baseline on {c.metric} ({c.setting}): {fmt(c.run_mean)} vs {fmt(c.baseline_mean)}, "
            f"difference {c.difference:+.4g}")
    if c.verdict == "untested":
        return f"{head}; {c.note or NO_PER_SEED}."
    interval = f" (95% CI {fmt(c.ci_low)} to {fmt(c.ci_high)})" if c.ci_low is not None else ""
    seeds = f"{c.n_run} seeds" if c.n_run == c.n_baseline else f"{c.n_run} and {c.n_baseline} seeds"
    words = VERDICT_WORDS[c.verdict]
    if c.verdict == "no_difference":
        words += f" at {seeds}"
    return (f"{head}{interval}, {c.test} over {seeds}, p = {fmt_p(c.p_value)}, "
            f"Holm-adjusted p = {fmt_p(c.p_adjusted)} (alpha {alpha:g}): {words}.")


def ledger_numbers(analyses: list[IdeaAnalysis]) -> list[float]:
    """Every number the ledger states (a paper may quote them)."""
    values: list[float] = []
    for analysis in analyses:
        values += [analysis.used.alpha, analysis.used.min_effect]
        for c in analysis.comparisons:
            values += [v for v in (c.baseline_mean, c.run_mean, c.baseline_stderr, c.run_stderr, c.difference,
                                   c.relative_pct, c.ci_low, c.ci_high, c.p_value, c.p_adjusted,
                                   c.n_run, c.n_baseline) if v is not None]
    return values


def ledger_text(analyses: list[IdeaAnalysis]) -> str:
    """The ledger as the writer reads it: one line per comparison of the primary metric, then the others."""
    lines = []
    for analysis in analyses:
        used = analysis.used
        lines.append(f"Idea {analysis.idea}: pre-registered primary metric {used.primary_metric} "
                     f"({'higher' if used.direction == 'max' else 'lower' if used.direction == 'min' else 'no'}"
                     f" is better), {used.test}, alpha {used.alpha:g}, Holm correction across runs.")
        for c in sorted(analysis.comparisons, key=lambda c: not c.primary):
            lines.append(f"[{c.id}] {'PRIMARY ' if c.primary else ''}{statement(c, used.alpha)}")
        for failed in analysis.failed_runs:
            lines.append(f"{failed.run} ({failed.change}) FAILED: {failed.failure[:160]}")
        for run, fidelity in analysis.fidelity.items():
            if fidelity != "faithful":
                lines.append(f"{run}: its code was judged {fidelity} to its change.")
        lines += [f"Deviation: {d}" for d in analysis.deviations]
    return "\n".join(lines)


def markdown_table(analysis: IdeaAnalysis) -> list[str]:
    """The idea's comparisons as a Markdown table, primary metric first, then its deviations."""
    used = analysis.used
    lines = [f"Pre-registered: primary metric {used.primary_metric} ({used.direction}), {used.test}, "
             f"alpha {used.alpha:g}, {used.correction} correction, smallest effect {used.min_effect:g}.", "",
             "| run | change | metric | setting | run (± se) | baseline (± se) | difference (95% CI) | p | p Holm "
             "| verdict |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]

    def pm(mean: float, err: float | None) -> str:
        return fmt(mean) + (f" ± {fmt(err)}" if err is not None else "")

    for c in sorted(analysis.comparisons, key=lambda c: (not c.primary, c.metric)):
        interval = f" [{fmt(c.ci_low)}, {fmt(c.ci_high)}]" if c.ci_low is not None else ""
        lines.append(f"| {c.run} | {c.change[:60]} | {c.metric}{' (primary)' if c.primary else ''} | {c.setting} | "
                     f"{pm(c.run_mean, c.run_stderr)} | {pm(c.baseline_mean, c.baseline_stderr)} | "
                     f"{c.difference:+.4g}{interval} | {fmt_p(c.p_value)} | {fmt_p(c.p_adjusted)} | "
                     f"{'no test' if c.verdict == 'untested' else VERDICT_WORDS[c.verdict]} |")
    for failed in analysis.failed_runs:
        lines.append(f"| {failed.run} | {failed.change[:60]} | failed | | | | | | | {failed.failure[:60]} |")
    lines += [f"- deviation: {d}" for d in analysis.deviations]
    return lines
