"""What the record says about a run, in words the paper states: each run's change and what its diff
touched, and the limitations the record shows (unchecked novelty, failed runs, fidelity, deviations,
seeds)."""

from __future__ import annotations

import ast
import difflib
from pathlib import Path

from scientist.analysis.ledger import IdeaAnalysis


def diff_text(base: str, code: str, name: str = "experiment.py") -> str:
    return "".join(difflib.unified_diff(base.splitlines(keepends=True), code.splitlines(keepends=True),
                                        fromfile=f"run_0/{name}", tofile=name))


def _top_level(code: str) -> dict[str, str]:
    """Top-level definition or assignment name -> its source text."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {}
    parts: dict[str, str] = {}
    for node in tree.body:
        text = ast.get_source_segment(code, node) or ""
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            parts[node.name] = text
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    parts[target.id] = text
    return parts


def diff_summary(base: str, code: str) -> str:
    """'+3/-1 lines; changed: optimise, LEARNING_RATE' (or 'no change')."""
    added = removed = 0
    for line in difflib.unified_diff(base.splitlines(), code.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    if not added and not removed:
        return "no change"
    before, after = _top_level(base), _top_level(code)
    changed = [n for n in after if before.get(n) != after[n]] + [f"{n} (removed)" for n in before if n not in after]
    return f"+{added}/-{removed} lines" + (f"; changed: {', '.join(changed)}" if changed else "")


def run_changes(analysis: IdeaAnalysis, plan: dict, workdir: Path) -> list[str]:
    """One line per planned run: its change as planned and what its code changed."""
    lines = []
    base_path = workdir / "run_0" / "experiment.py"
    base = base_path.read_text(encoding="utf-8") if base_path.is_file() else ""
    failed = {f.run: f for f in analysis.failed_runs}
    runs = sorted({c.run for c in analysis.comparisons} | set(failed), key=lambda r: int(r.split("_")[-1]))
    changes = {c.run: c.change for c in analysis.comparisons} | {f.run: f.change for f in failed.values()}
    for run in runs:
        if run in failed:
            lines.append(f"{run}: {changes[run]} (the run failed: {failed[run].failure[:120]})")
            continue
        code_path = workdir / run / "experiment.py"
        summary = diff_summary(base, code_path.read_text(encoding="utf-8")) if code_path.is_file() else "code not kept"
        lines.append(f"{run}: {changes[run]} (code: {summary})")
    return lines


def limitations(analysis: IdeaAnalysis, novelty: str) -> list[str]:
    """The limitations the record shows, one sentence each."""
    said = []
    if novelty != "novel":
        said.append("The idea's novelty was not established against the literature "
                    f"(novelty check: {novelty}).")
    if analysis.failed_runs:
        said.append(f"{len(analysis.failed_runs)} planned run(s) failed and are not compared: "
                    + "; ".join(f"{f.run} ({f.change})" for f in analysis.failed_runs) + ".")
    off = {run: v for run, v in analysis.fidelity.items() if v != "faithful"}
    if off:
        said.append("A check of the code judged " + ", ".join(f"{run} {v}" for run, v in off.items())
                    + " to its planned change.")
    elif not analysis.fidelity:
        said.append("Whether each run's code implements its planned change was not checked by a judge.")
    if analysis.deviations:
        said.append("Deviations from the pre-registered analysis: " + "; ".join(analysis.deviations) + ".")
    if analysis.comparisons and all(c.verdict == "untested" for c in analysis.comparisons):
        said.append("No statistical test was run: the template reports no per-seed values.")
    elif analysis.seeds is not None:
        said.append(f"Each comparison rests on {analysis.seeds} seeds, so only large effects are detectable.")
    said.append("All runs use one small experiment template on a CPU; the results may not transfer.")
    return said
