"""Finish: the run summary (``summary.md``) with where everything is, failure rates, tokens and cost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from scientist.analysis.ledger import IdeaAnalysis, markdown_table
from scientist.failures import summarise
from scientist.runstore import write_atomic
from scientist.schemas import FidelityVerdict
from scientist.services import Services
from scientist.state import RunState


def _rate(rate: Any) -> str:
    if rate.total == 0:
        return "no attempts"
    return f"{rate.failures}/{rate.total} = {rate.rate:.0%} (95% CI {rate.low:.0%}-{rate.high:.0%})"


def stage_times(folder: Path) -> list[str]:
    """Seconds per stage, summed over the run's steps (``timings.jsonl``), as Markdown lines."""
    totals: dict[str, float] = {}
    path = folder / "timings.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        try:
            step = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not str(step.get("node", "")).startswith("checkpoint_"):
            totals[step["node"]] = totals.get(step["node"], 0.0) + float(step.get("seconds", 0.0))
    if not totals:
        return ["- not recorded"]
    return [f"- {node}: {seconds:.1f} s" for node, seconds in totals.items()] + [
        f"- total: {sum(totals.values()):.1f} s (time waiting at checkpoints not counted)"]


def revision_lines(state: RunState, folder: Path) -> list[str]:
    """A line per revision round: what it rewrote, its paper and its review, with the caveat that the
    same reviewer judged both versions."""
    lines = []
    for entry in state.get("revisions", []):
        meta = entry.get("review") or {}
        actions = ", ".join(f"{n} {a.replace('_', ' ')}" for a, n in (entry.get("actions") or {}).items() if n)
        lines.append(f"- revision {entry['round']}: "
                     + (f"rewrote {', '.join(entry['changed'])}" if entry.get("changed") else "rewrote nothing")
                     + f" (answers: {actions or 'none'}; {folder / entry['response']})"
                     + (f"; paper: {folder / entry['pdf']}" if entry.get("pdf") else "")
                     + (f"; reviewed again: {meta.get('decision')}, overall {meta.get('overall')} (the same "
                        "reviewer judged both versions; "
                        + ("calibrated" if meta.get("calibrated") else "uncalibrated: a change of score is not "
                           "evidence the paper improved") + ")" if meta else ""))
    return lines


def summary_markdown(state: RunState, services: Services) -> str:
    folder = services.folder.path
    ledger = services.gateway.ledger
    failures = summarise(services.failures.attempts())
    paper = state.get("paper") or {}
    meta = state.get("reviews") or {}
    manifest = services.folder.read_manifest()
    lines = [f"# Run {services.folder.run_id}", "",
             f"- outcome: {state.get('outcome', 'finished')}",
             f"- template: {services.template.manifest.name}",
             f"- paper: {folder / paper['pdf'] if paper.get('pdf') else 'not compiled'}",
             f"- reviews: {folder / 'reviews' / 'review.md' if meta else 'none'}"
             + (f" (meta-review: {meta.get('decision')}, overall {meta.get('overall')}; "
                f"{'calibrated reviewer' if meta.get('calibrated') else 'uncalibrated reviewer: a critique, not a verdict'})"
                if meta else ""),
             *revision_lines(state, folder),
             f"- models: {manifest.models}",
             *[f"- {note}" for note in manifest.notes if note.startswith("models changed")],
             f"- model calls: {ledger.calls}, tokens in {ledger.tokens_in}, out {ledger.tokens_out}, "
             f"cost ${ledger.cost_usd:.4f} (details: {services.folder.llm_calls_path})",
             f"- experiment runs failed at the first attempt: {_rate(failures.first_attempt)}",
             f"- experiment runs failed after repair: {_rate(failures.after_repair)}",
             f"- failed attempts by category (baseline, plots and LaTeX included): {failures.by_category or 'none'}",
             "", "## Ideas", ""]
    for idea in state.get("ideas", []):
        outcome = state.get("experiments", {}).get(idea["name"], {})
        lines.append(f"- **{idea['title']}** ({idea['name']}): {outcome.get('status', 'not run')}")
        workdir = folder / "experiments" / idea["name"]
        for run in outcome.get("runs", []):
            diff = workdir / run["run"] / "diff.patch"
            problems = (run.get("signals") or {}).get("problems") or []
            ended = "executed, but a fidelity signal failed" if problems else "succeeded"
            tried = run.get("attempts") or 0
            lines.append(f"  - {run['run']} ({run.get('change', '')}): "
                         + (ended if run.get("ok") else f"failed ({str(run.get('failure'))[:120]})")
                         + (f" after {tried} candidate attempt{'s' if tried != 1 else ''} (journal.jsonl)" if tried else "")
                         + (f"; diff: {diff}" if diff.is_file() else ""))
            if run.get("fidelity"):
                fidelity = FidelityVerdict.model_validate(run["fidelity"])
                lines.append(f"    - code judged {fidelity.verdict} to its change"
                             + (f" (differences: {fidelity.missing})" if fidelity.verdict != "faithful" else ""))
            if run.get("ok"):
                lines.append("    - fidelity signals: " + ("; ".join(problems) if problems else "all hold"
                                                           if run.get("signals") else "not computed"))
            if not run.get("fidelity") and run.get("ok"):
                lines.append("    - fidelity: " + ("no verdict (the judge's reply never validated)"
                                                   if services.settings.judges_fidelity() else
                                                   "not judged (off by default when the review model is the "
                                                   "embedded one; SCIENTIST_FIDELITY_CHECK=1 turns it on)"))
        analysis = state.get("analysis", {}).get(idea["name"])
        if analysis:
            lines += ["", *markdown_table(IdeaAnalysis.model_validate(analysis)),
                      f"- analysis: {folder / 'experiments' / idea['name'] / 'analysis.json'}", ""]
    lines += ["", "## Wall time per stage", "", *stage_times(folder)]
    notes = state.get("notes", [])
    if notes:
        lines += ["", "## Notes (what this run did not do, and why)", "", *[f"- {n}" for n in dict.fromkeys(notes)]]
    return "\n".join(lines) + "\n"


def finish(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Write ``summary.md``."""
    services = runtime.context
    write_atomic(services.folder.path / "summary.md", summary_markdown(state, services))
    return {"outcome": state.get("outcome") or "finished"}
