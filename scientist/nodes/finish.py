"""Finish: the run summary (``summary.md``) with where everything is, failure rates, tokens and cost."""

from __future__ import annotations

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


def summary_markdown(state: RunState, services: Services) -> str:
    folder = services.folder.path
    ledger = services.gateway.ledger
    failures = summarise(services.failures.attempts())
    paper = state.get("paper") or {}
    meta = state.get("reviews") or {}
    lines = [f"# Run {services.folder.run_id}", "",
             f"- outcome: {state.get('outcome', 'finished')}",
             f"- template: {services.template.manifest.name}",
             f"- paper: {folder / paper['pdf'] if paper.get('pdf') else 'not compiled'}",
             f"- reviews: {folder / 'reviews' / 'review.md' if meta else 'none'}"
             + (f" (meta-review: {meta.get('decision')}, overall {meta.get('overall')})" if meta else ""),
             f"- model calls: {ledger.calls}, tokens in {ledger.tokens_in}, out {ledger.tokens_out}, "
             f"cost ${ledger.cost_usd:.4f} (details: {services.folder.llm_calls_path})",
             f"- experiment runs failed at the first attempt: {_rate(failures.first_attempt)}",
             f"- experiment runs failed after repair: {_rate(failures.after_repair)}",
             f"- failed attempts by category (baseline, plots and LaTeX included): {failures.by_category or 'none'}",
             "", "## Ideas", ""]
    for idea in state.get("ideas", []):
        outcome = state.get("experiments", {}).get(idea["name"], {})
        lines.append(f"- **{idea['title']}** ({idea['name']}): {outcome.get('status', 'not run')}")
        for run in outcome.get("runs", []):
            if run.get("fidelity"):
                fidelity = FidelityVerdict.model_validate(run["fidelity"])
                lines.append(f"  - {run['run']}: code judged {fidelity.verdict} to its change"
                             + (f" (differences: {fidelity.missing})" if fidelity.verdict != "faithful" else ""))
        analysis = state.get("analysis", {}).get(idea["name"])
        if analysis:
            lines += ["", *markdown_table(IdeaAnalysis.model_validate(analysis)),
                      f"- analysis: {folder / 'experiments' / idea['name'] / 'analysis.json'}", ""]
    notes = state.get("notes", [])
    if notes:
        lines += ["", "## Notes (what this run did not do, and why)", "", *[f"- {n}" for n in dict.fromkeys(notes)]]
    return "\n".join(lines) + "\n"


def finish(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Write ``summary.md``."""
    services = runtime.context
    write_atomic(services.folder.path / "summary.md", summary_markdown(state, services))
    return {"outcome": state.get("outcome") or "finished"}
