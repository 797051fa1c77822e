"""Plots: the template's plot.py run in the sandbox over each idea's run folders; figures verified."""

from __future__ import annotations

import shutil
import time
from typing import Any

from langgraph.runtime import Runtime

from scientist.failures import Attempt, Category, classify_execution
from scientist.sandbox.base import Limits
from scientist.services import Services
from scientist.state import RunState
from scientist.template.check import FIGURE_SUFFIXES, valid_figure


def plot_idea(name: str, services: Services) -> list[str]:
    """Run plot.py for one idea; copy valid new figures to ``figures/<idea>__<file>``."""
    workdir = services.folder.path / "experiments" / name
    before = {p.name for p in workdir.iterdir() if p.suffix in FIGURE_SUFFIXES}
    lim = services.template.manifest.limits
    started = time.perf_counter()
    result = services.sandbox.run(["python", "plot.py"], workdir, Limits(timeout_s=min(lim.timeout_s, 300),
                                                                         memory_mb=lim.memory_mb))
    made = sorted(p for p in workdir.iterdir() if p.suffix in FIGURE_SUFFIXES and valid_figure(p))
    category, exc_type, message = classify_execution(result)
    if category is None and not made:
        message = "plot.py wrote no valid PNG or PDF figure"
    failed = category is not None or not made
    services.failures.record(Attempt(
        run_id=services.folder.run_id, idea=name, stage="plot", attempt=1,
        model=services.settings.model_for("coding"), template=services.template.manifest.name,
        category=Category.PLOT_ERROR if failed else None, exception_type=exc_type,
        message=f"{category.value if category else 'no_figure'}: {message}" if failed else None,
        wall_s=time.perf_counter() - started, run_dir=str(workdir)))
    figures = []
    for path in made:
        if path.name in before and failed:
            continue
        target = services.folder.path / "figures" / f"{name}__{path.name}"
        shutil.copy2(path, target)
        figures.append(str(target.relative_to(services.folder.path)))
    return figures


def plots(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Figures for every idea with at least one successful run."""
    services = runtime.context
    figures: list[str] = []
    notes = []
    for name, outcome in state.get("experiments", {}).items():
        if not outcome.get("baseline"):
            notes.append(f"plots: '{name}' has no results to plot")
            continue
        services.progress("plots", f"plotting '{name}'")
        made = plot_idea(name, services)
        if not made:
            notes.append(f"plots: plot.py failed for '{name}' (see the failure log)")
        figures += made
    return {"figures": figures, "notes": notes}
