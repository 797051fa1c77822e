"""Execution failure rate and fidelity signals of generated experiments, on the embedded model (or --model M).

For each (template, idea) pair, the pipeline's own planner turns the idea into one run (a concrete
change, as in a research run), then the real experiment loop makes it: candidates, passes, sandboxed
runs and bounded repair rounds. Prints, for ideas that change computation and ideas that change a
setting apart: execution failure after the first round and after repair (Wilson 95% intervals), the
fidelity-signal pass rates of the runs that executed, candidates and tokens per planned run, and wall
time per planned run; writes every run folder under --out and a labelling sheet (idea, change, diff,
signals, an empty label column: faithful / partial / not) for hand labels. The sheet and
``results.jsonl`` (one line per idea) are written after every idea.

    uv run python bench/execution_failure_rate.py [--ideas FILE] [--repairs 3] [--candidates 1] [--consensus 1]
        [--limit N] [--out bench-runs/failure-rate]
    uv run python bench/execution_failure_rate.py --seeds 12   # the shipped seed ideas (in-sample)
    uv run python bench/execution_failure_rate.py --resume --out DIR   # go on with a bench stopped early

--ideas takes a JSON list of {"template", "idea", "kind": "computation" | "setting"}; the default is
the development set ../shared/bench/ideas_dev.json when it exists. --seeds N uses the shipped
templates' seed ideas instead, round-robin (the ideas the loop was first developed on).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scientist.config import load_settings  # noqa: E402
from scientist.experiments import journal  # noqa: E402
from scientist.experiments.failure import changes  # noqa: E402
from scientist.experiments.loop import IdeaExperiments  # noqa: E402
from scientist.failures import FailureLog, wilson  # noqa: E402
from scientist.literature.search import Literature, LiteratureCache  # noqa: E402
from scientist.llm.gateway import Gateway  # noqa: E402
from scientist.llm.ledger import Ledger, ResponseCache  # noqa: E402
from scientist.nodes.plan import plan_idea  # noqa: E402
from scientist.runstore import RunStore  # noqa: E402
from scientist.sandbox.choose import open_sandbox  # noqa: E402
from scientist.services import Services  # noqa: E402
from scientist.template.manifest import load_template  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEV_IDEAS = REPO.parent / "shared" / "bench" / "ideas_dev.json"
TEMPLATES = ("digits_mlp", "optim_landscapes", "lorenz_esn")


def seed_pairs(count: int) -> list[dict[str, str]]:
    """The shipped seed ideas, round-robin over templates (their kind is not labelled: 'seed')."""
    per = -(-count // len(TEMPLATES))
    chosen = [(t, i) for i in range(per) for t in TEMPLATES][:count]
    found = []
    for name, index in chosen:
        seed = load_template(REPO / "templates" / name).seed_ideas[index]
        found.append({"template": name, "idea": seed.title, "experiment": seed.experiment, "kind": "seed",
                      "name": seed.name})
    return found


def idea_pairs(path: Path) -> list[dict[str, str]]:
    items = json.loads(path.read_text(encoding="utf-8"))
    for k, item in enumerate(items):
        item.setdefault("kind", "computation")
        item.setdefault("name", f"idea_{k + 1:02d}")
        item.setdefault("experiment", item["idea"])
    return items


def tokens_of(path: Path) -> int:
    total = 0
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            total += int(record.get("tokens_in", 0)) + int(record.get("tokens_out", 0))
    return total


def code_commit() -> str:
    """The commit the measured code is at (with '+' when the tree has uncommitted changes), or 'unknown'."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


def earlier_results(out: Path) -> tuple[list[dict], list[dict]]:
    """The results and labelling-sheet rows an earlier run of this bench left in ``out``."""
    results_path, sheet_path = out / "results.jsonl", out / "labelling_sheet.json"
    results = [json.loads(line) for line in results_path.read_text(encoding="utf-8").splitlines()
               if line.strip()] if results_path.is_file() else []
    sheet = json.loads(sheet_path.read_text(encoding="utf-8")) if sheet_path.is_file() else []
    return results, sheet


def rate_line(label: str, failures: int, total: int) -> str:
    r = wilson(failures, total)
    if r.rate is None:
        return f"{label}: no runs"
    return f"{label}: {failures}/{total} = {r.rate:.0%} (95% CI {r.low:.0%}-{r.high:.0%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ideas", type=Path, default=None, help="JSON list of {template, idea, kind}")
    parser.add_argument("--seeds", "--pairs", type=int, default=None, dest="seeds",
                        help="use N shipped seed ideas instead (in-sample)")
    parser.add_argument("--limit", type=int, default=None, help="at most N ideas")
    parser.add_argument("--repairs", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--consensus", type=int, default=None, help="clean runs gathered before choosing one")
    parser.add_argument("--model", default=None)
    parser.add_argument("--edit-format", choices=["rewrite", "search_replace"], default=None)
    parser.add_argument("--out", type=Path, default=REPO / "bench-runs" / "failure-rate")
    parser.add_argument("--resume", action="store_true",
                        help="skip the ideas --out already has results for, and count them in the summary")
    args = parser.parse_args()
    if args.seeds:
        items = seed_pairs(args.seeds)
    else:
        path = args.ideas or DEV_IDEAS
        if not path.is_file():
            parser.error(f"no ideas file at {path}: pass --ideas FILE or --seeds N")
        items = idea_pairs(path)
    items = items[:args.limit] if args.limit else items
    overrides = {"candidates": args.candidates} if args.candidates else {}
    if args.consensus:
        overrides["consensus"] = args.consensus
    settings = load_settings(model=args.model, max_repairs=args.repairs, offline=True, runs_dir=args.out,
                             edit_format=args.edit_format, runs_per_idea=1, **overrides)
    sandbox = open_sandbox(settings.sandbox)
    store = RunStore(settings.runs_dir)
    started = time.perf_counter()
    results, sheet = [], []
    args.out.mkdir(parents=True, exist_ok=True)
    sheet_path = args.out / "labelling_sheet.json"
    commit = code_commit()
    if args.resume:
        results, sheet = earlier_results(args.out)
        done = {(r["template"], r["idea"]) for r in results}
        items = [item for item in items if (item["template"], item["idea"]) not in done]
        print(f"resuming: {len(done)} idea(s) already measured in {args.out}, {len(items)} to go", flush=True)
    elif (args.out / "results.jsonl").is_file():
        parser.error(f"{args.out} already holds results: pass --resume to go on with them, or another --out")
    for item in items:
        template = load_template(REPO / "templates" / item["template"])
        folder = store.create(str(template.path), item["idea"], {"coding": settings.model_for("coding")}, {})
        gateway = Gateway(settings, Ledger(folder.llm_calls_path), cache=ResponseCache(folder.path / "llm_cache.jsonl"))
        services = Services(settings=settings, gateway=gateway, sandbox=sandbox, folder=folder,
                            failures=FailureLog(folder.failures_path), template=template,
                            literature=Literature([], LiteratureCache(None)),
                            progress=lambda stage, message: print(f"  {message}", flush=True))
        idea = {"name": item["name"], "title": item["idea"], "hypothesis": item["idea"],
                "experiment_plan": item["experiment"]}
        print(f"{item['template']} / {item['kind']} / {item['idea']}", flush=True)
        t0 = time.perf_counter()
        change = plan_idea(idea, None, services).runs[0].change
        print(f"  change: {change}", flush=True)
        task = {"idea": idea, "plan": {"runs": [{"name": "test", "change": change}]}, "first_run": 1}
        result = IdeaExperiments(services, task).run_all()  # type: ignore[arg-type]
        seconds = time.perf_counter() - t0
        run = result["runs"][0] if result["runs"] else {}
        entries = journal.read(folder.path / "experiments" / item["name"])
        first_round_ok = any(e.ok for e in entries if e.round == 1)
        signals = run.get("signals") or {}
        workdir = folder.path / "experiments" / item["name"]
        kept = workdir / "run_1" / "experiment.py"
        diff = (changes((workdir / "run_0" / "experiment.py").read_text(encoding="utf-8"),
                        kept.read_text(encoding="utf-8")) if run.get("ok") and kept.is_file()
                else entries[-1].diff if entries else "")
        ran = list(dict.fromkeys(e.diff for e in entries if e.ok))  # every candidate that executed, kept or not
        results.append({"idea": item["idea"], "template": item["template"], "kind": item["kind"],
                        "ok": bool(run.get("ok")), "first_round_ok": first_round_ok, "signals": signals,
                        "candidates": len(entries), "tokens": tokens_of(folder.llm_calls_path), "seconds": seconds,
                        "commit": commit})
        sheet.append({"template": item["template"], "kind": item["kind"], "idea": item["idea"], "change": change,
                      "ok": bool(run.get("ok")), "signals": signals.get("problems", []), "diff": diff,
                      "executed_diffs": ran, "label": ""})
        print(f"  -> {result['status']} in {seconds:.0f}s, {len(entries)} candidates", flush=True)
        services.failures.close()
        # written after every idea, so a bench stopped early keeps what it measured
        with (args.out / "results.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(results[-1]) + "\n")
        sheet_path.write_text(json.dumps(sheet, indent=1) + "\n", encoding="utf-8")
    print(f"\n{len(results)} ideas, model {settings.model_for('coding')}, {args.repairs} repair rounds, "
          f"{settings.candidates} candidate(s) per round, up to {settings.consensus} clean run(s) "
          f"compared, edit format {settings.edit_format}, "
          f"{time.perf_counter() - started:.0f}s; labelling sheet: {sheet_path}")
    for kind in sorted({r["kind"] for r in results}):
        rows = [r for r in results if r["kind"] == kind]
        executed = [r for r in rows if r["ok"]]
        print(f"\n[{kind}] {len(rows)} ideas")
        print("  " + rate_line("execution failure after the first round", sum(not r["first_round_ok"] for r in rows),
                               len(rows)))
        print("  " + rate_line("execution failure after repair", sum(not r["ok"] for r in rows), len(rows)))
        for signal in ("new_lines_ran", "beyond_seed_noise", "numbers_in_code", "pairs_changed", "computes_anew",
                       "seeded_draws"):
            known = [r["signals"].get(signal) for r in executed if r["signals"].get(signal) is not None]
            if known:
                print(f"  signal {signal}: holds in {sum(known)}/{len(known)} executed runs")
        passed = sum(not r["signals"].get("problems") for r in executed)
        print(f"  executed runs with every signal holding: {passed}/{len(executed)}")
        print(f"  candidates per planned run: mean {statistics.fmean(r['candidates'] for r in rows):.1f}; "
              f"tokens per planned run: median {statistics.median(r['tokens'] for r in rows):.0f}; "
              f"wall time per planned run: median {statistics.median(r['seconds'] for r in rows):.0f}s")


if __name__ == "__main__":
    main()
