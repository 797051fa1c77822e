"""Execution failure rate of generated experiments, on the embedded model (or --model M).

For a fixed list of (template, seed idea) pairs from the shipped templates, the pipeline's own
planner turns the idea into one run (a concrete change, as in a research run), then the model edits
the template's experiment.py for that run through the real experiment loop (strict edits, sandboxed
runs, bounded repair). Prints the first-attempt and after-repair failure rates with Wilson 95%
intervals, the category breakdown and the fidelity judge's verdicts on the runs that succeeded
(``fidelity_check``); writes every run folder under --out.

    uv run python bench/execution_failure_rate.py [--pairs 12] [--repairs 3] [--edit-format rewrite]
        [--raw-idea] [--out bench-runs/failure-rate]

--raw-idea skips the planner and asks for the seed idea's whole experiment text in one run (the
harder condition the first measurement used).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scientist.config import load_settings  # noqa: E402
from scientist.experiments.loop import IdeaExperiments  # noqa: E402
from scientist.failures import FailureLog, summarise  # noqa: E402
from scientist.literature.search import Literature, LiteratureCache  # noqa: E402
from scientist.llm.gateway import Gateway  # noqa: E402
from scientist.llm.ledger import Ledger, ResponseCache  # noqa: E402
from scientist.nodes.plan import plan_idea  # noqa: E402
from scientist.runstore import RunStore  # noqa: E402
from scientist.sandbox.choose import open_sandbox  # noqa: E402
from scientist.services import Services  # noqa: E402
from scientist.template.manifest import load_template  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = ("digits_mlp", "optim_landscapes", "lorenz_esn")


def pairs(count: int) -> list[tuple[str, int]]:
    """Round-robin over templates and their seed ideas: (template, seed index)."""
    per = -(-count // len(TEMPLATES))
    return [(t, i) for i in range(per) for t in TEMPLATES][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--repairs", type=int, default=3)
    parser.add_argument("--model", default=None)
    parser.add_argument("--edit-format", choices=["rewrite", "search_replace"], default=None)
    parser.add_argument("--raw-idea", action="store_true", help="no planner: the whole seed experiment is the change")
    parser.add_argument("--out", type=Path, default=REPO / "bench-runs" / "failure-rate")
    args = parser.parse_args()
    settings = load_settings(model=args.model, max_repairs=args.repairs, offline=True, runs_dir=args.out,
                             edit_format=args.edit_format, runs_per_idea=1)
    sandbox = open_sandbox(settings.sandbox)
    store = RunStore(settings.runs_dir)
    started = time.perf_counter()
    rows, verdicts = [], []
    for template_name, index in pairs(args.pairs):
        template = load_template(REPO / "templates" / template_name)
        seed = template.seed_ideas[index]
        folder = store.create(str(template.path), seed.title, {"coding": settings.model_for("coding")}, {})
        gateway = Gateway(settings, Ledger(folder.llm_calls_path), cache=ResponseCache(folder.path / "llm_cache.jsonl"))
        services = Services(settings=settings, gateway=gateway, sandbox=sandbox, folder=folder,
                            failures=FailureLog(folder.failures_path), template=template,
                            literature=Literature([], LiteratureCache(None)),
                            progress=lambda stage, message: print(f"  {message}", flush=True))
        idea = {"name": seed.name, "title": seed.title, "hypothesis": seed.experiment,
                "experiment_plan": seed.experiment}
        print(f"{template_name} / {seed.name}", flush=True)
        t0 = time.perf_counter()
        change = seed.experiment if args.raw_idea else plan_idea(idea, None, services).runs[0].change
        print(f"  change: {change}", flush=True)
        task = {"idea": idea, "plan": {"runs": [{"name": "test", "change": change}]}, "first_run": 1}
        result = IdeaExperiments(services, task).run_all()  # type: ignore[arg-type]
        rows += services.failures.attempts()
        print(f"  -> {result['status']} in {time.perf_counter() - t0:.0f}s", flush=True)
        for run in result["runs"]:
            if run.get("fidelity"):
                verdicts.append(run["fidelity"]["verdict"])
                print(f"  fidelity (judge): {run['fidelity']['verdict']}; differences: {run['fidelity']['differences']}",
                      flush=True)
        services.failures.close()
    summary = summarise(rows)
    first, after = summary.first_attempt, summary.after_repair
    print(f"\n{len(pairs(args.pairs))} (template, idea) pairs, model {settings.model_for('coding')}, "
          f"{args.repairs} repairs, edit format {settings.edit_format}, "
          f"{'raw idea' if args.raw_idea else 'planned run'}, {time.perf_counter() - started:.0f}s")
    print(f"first-attempt failure rate: {first.failures}/{first.total} = {first.rate:.0%} "
          f"(95% CI {first.low:.0%}-{first.high:.0%})")
    print(f"after-repair failure rate:  {after.failures}/{after.total} = {after.rate:.0%} "
          f"(95% CI {after.low:.0%}-{after.high:.0%})")
    print("failed attempts by category:", json.dumps(summary.by_category))
    if verdicts:
        print("successful runs by the fidelity judge's verdict:",
              json.dumps({v: verdicts.count(v) for v in ("faithful", "partial", "not")}),
              "(the judge's agreement with hand labels: bench/fidelity.py)")


if __name__ == "__main__":
    main()
