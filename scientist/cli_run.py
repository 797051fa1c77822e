"""The run commands (run, resume, status, approve, reject): terminal output around ``RunController``."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scientist.analysis.ledger import IdeaAnalysis, markdown_table
from scientist.checkpoints import CheckpointRequest, Decision
from scientist.config import LOCAL_MODEL, Settings, load_settings
from scientist.errors import PreflightFailed, ScientistError, UsageError
from scientist.executor import open_executor
from scientist.llm.gateway import Gateway, check_remote_model
from scientist.llm.ledger import Ledger
from scientist.runner import RunController, RunReport, initial_state, lock_is_held, models_of, run_lock, shown_status
from scientist.runstore import RunFolder, RunStore
from scientist.state import CHECKPOINT_STAGES

SETTINGS_NOT_SAVED = {"cache_dir", "runs_dir"}


def parse_checkpoints(text: str, auto: bool) -> list[str]:
    if auto or text.strip().lower() == "none":
        return []
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise UsageError("--checkpoints is empty: name the checkpoints (ideas,plan,results,paper), or give "
                         "--checkpoints none or --auto to pause at none")
    unknown = [n for n in names if n not in CHECKPOINT_STAGES]
    if unknown:
        raise UsageError(f"unknown checkpoint(s) {', '.join(unknown)} (choose from {', '.join(CHECKPOINT_STAGES)}"
                         " or none)")
    return names


class RunConsole:
    """Live progress on the terminal: one line per step, with elapsed time."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.perf_counter()

    def progress(self, stage: str, message: str) -> None:
        elapsed = time.perf_counter() - self.started
        self.console.print(f"[dim]{elapsed:7.1f}s[/] [cyan]{stage:<11}[/] {escape(message)}", highlight=False)

    def node_done(self, node: str, seconds: float) -> None:
        if not node.startswith("checkpoint_"):
            self.console.print(f"[dim]{time.perf_counter() - self.started:7.1f}s[/] [green]done[/]        "
                               f"{node} ({seconds:.1f}s)", highlight=False)


BASELINE_DIR = "baseline"  # the pre-flight's baseline run, reused as every idea's run_0


def check_models(settings: Settings) -> None:
    """Every remote model the roles use can be routed and has its credentials (no call is made)."""
    if not settings.api_base:
        for model in sorted(set(models_of(settings).values()) - {LOCAL_MODEL}):
            check_remote_model(model)


def preflight(settings: Settings, template: Path, console: Console) -> tuple[Path, float]:
    """Check the models, LaTeX, the sandbox and the template (its baseline runs once in the sandbox)
    before any model call or run folder; each failure is one line and exit 2. Returns the folder
    holding the baseline's run (kept as the run's baseline) and its wall time."""
    from scientist.latex.compile import require_latex
    from scientist.template.check import run_baseline
    from scientist.template.manifest import load_template

    try:
        check_models(settings)
        require_latex()
        loaded = load_template(template)
        sandbox = open_executor(settings)
        if LOCAL_MODEL in set(models_of(settings).values()):
            Gateway(settings, Ledger(None)).local_model_path()
        work = Path(tempfile.mkdtemp(prefix="scientist-preflight-")) / BASELINE_DIR
        console.print("pre-flight: running the template's baseline once in the sandbox "
                      "(it becomes the run's baseline)", highlight=False)
        try:
            _, seconds = run_baseline(loaded, sandbox, work)
        except ScientistError:
            shutil.rmtree(work.parent, ignore_errors=True)
            raise
    except PreflightFailed:
        raise
    except ScientistError as exc:
        raise PreflightFailed(exc.message, hint=exc.hint) from exc
    return work, seconds


def preflight_resume(settings: Settings) -> None:
    """What a resumed run needs before it continues: its models, LaTeX and the sandbox."""
    from scientist.latex.compile import require_latex

    try:
        check_models(settings)
        require_latex()
        open_executor(settings)
    except ScientistError as exc:
        raise PreflightFailed(exc.message, hint=exc.hint) from exc


def saved_settings(folder: RunFolder, **overrides: object) -> Settings:
    """The settings a run started with, with any flags given now on top."""
    config = dict(folder.read_manifest().config)
    config.update({k: v for k, v in overrides.items() if v is not None})
    return load_settings(**config)


def controller_for(folder: RunFolder, settings: Settings, console: RunConsole) -> RunController:
    return RunController(settings, folder, open_executor(settings), progress=console.progress,
                         on_node=console.node_done)


def start_run(template: Path, *, idea: str | None, num_ideas: int, checkpoints: list[str], settings: Settings,
              console: Console) -> RunReport:
    baseline, seconds = preflight(settings, template, console)
    config = settings.model_dump(mode="json", exclude=SETTINGS_NOT_SAVED)
    folder = RunStore(settings.runs_dir).create(str(template.resolve()), idea, models_of(settings), config)
    shutil.move(baseline, folder.path / BASELINE_DIR)
    shutil.rmtree(baseline.parent, ignore_errors=True)
    (folder.path / BASELINE_DIR / "preflight.json").write_text(json.dumps({"seconds": round(seconds, 3)}) + "\n",
                                                                encoding="utf-8")
    console.print(f"run [bold]{folder.run_id}[/] in {folder.path}", highlight=False)
    live = RunConsole(console)
    with run_lock(folder):
        controller = controller_for(folder, settings, live)
        try:
            return controller.start(initial_state(folder.run_id, idea, num_ideas, checkpoints))
        finally:
            controller.close()


def change_models(folder: RunFolder, model: str | None, role_models: list[str], console: Console) -> None:
    """Give a stopped run new models (every role, and/or ``ROLE=MODEL`` pairs), checked before anything
    changes; the change is saved with the run's settings and noted in ``run.json``."""
    from scientist.config import ROLES

    pairs = {}
    for item in role_models:
        role, sep, value = item.partition("=")
        if not sep or role.strip() not in ROLES or not value.strip():
            raise UsageError(f"--role-model takes ROLE=MODEL with ROLE one of {', '.join(ROLES)} (got '{item}')")
        pairs[role.strip()] = value.strip()
    if lock_is_held(folder):
        raise UsageError(f"run {folder.run_id} is being worked on by another scientist process")
    manifest = folder.read_manifest()
    config = dict(manifest.config)
    if model:
        config["model"], config["models"] = model, {}
    config["models"] = {**dict(config.get("models") or {}), **pairs}
    settings = load_settings(**config)
    check_models(settings)
    before, after = manifest.models, models_of(settings)
    manifest.config, manifest.models = config, after
    changed = {role: f"{before.get(role)} -> {after[role]}" for role in after if before.get(role) != after[role]}
    manifest.notes.append(f"models changed at resume: {changed or 'no change'}")
    folder.write_manifest(manifest)
    console.print(f"models for run {folder.run_id}: {after}", highlight=False)


def continue_run(folder: RunFolder, console: Console, decision: Decision | None = None,
                 **overrides: object) -> RunReport:
    settings = saved_settings(folder, **overrides)
    preflight_resume(settings)
    live = RunConsole(console)
    with run_lock(folder):
        controller = controller_for(folder, settings, live)
        try:
            return controller.answer(decision) if decision is not None else controller.resume()
        finally:
            controller.close()


def read_edit(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"--edit file not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"--edit file {path} is not valid JSON: {exc}") from exc


def describe_pending(run_id: str, folder: Path, pending: CheckpointRequest, console: Console) -> None:
    """What waits, and how to answer it, in one screen."""
    proposal_file = folder / f"checkpoint_{pending.checkpoint}.json"
    proposal_file.write_text(json.dumps(pending.proposal, indent=2) + "\n", encoding="utf-8")
    console.print(f"\n[bold yellow]Paused at the '{pending.checkpoint}' checkpoint[/] "
                  f"(cost so far ${pending.cost_usd:.4f}, {pending.tokens} tokens)", highlight=False)
    _show_proposal(pending, console)
    first = pending.failures.get("first_attempt", {})
    if first.get("total"):
        console.print(f"code runs so far: {first['failures']}/{first['total']} failed at first attempt; "
                      f"by category {pending.failures.get('by_category')}", highlight=False)
    console.print(f"full proposal: {proposal_file}\nanswer with:", highlight=False)
    console.print(f"  scientist approve {run_id}", highlight=False)
    if "edit" in pending.actions:
        console.print(f"  scientist approve {run_id} --edit {proposal_file}   (after editing it: "
                      f"{pending.edit_format})", highlight=False)
    if "reject" in pending.actions:
        console.print(f'  scientist reject {run_id} --feedback "what to change"   '
                      f"({pending.rejections_left} rejection(s) left)", highlight=False)
    console.print(f"  scientist reject {run_id} --abort", highlight=False)


def _show_proposal(pending: CheckpointRequest, console: Console) -> None:
    proposal = pending.proposal
    if pending.checkpoint == "ideas":
        table = Table("idea", "title", "I/F/N", "novelty")
        for idea in proposal or []:
            table.add_row(idea["name"], idea["title"],
                          f"{idea['interestingness']}/{idea['feasibility']}/{idea['novelty']}",
                          str(idea.get("novelty_verdict")))
        console.print(table)
    elif pending.checkpoint == "plan":
        table = Table("idea", "run", "change")
        for name, plan in (proposal or {}).items():
            for run in plan["runs"]:
                table.add_row(name, run["name"], run["change"])
        console.print(table)
    elif pending.checkpoint == "results":
        table = Table("idea", "status")
        for name, outcome in (proposal or {}).items():
            table.add_row(name, str(outcome.get("status")))
        console.print(table)
        if pending.figures:
            console.print(f"figures: {', '.join(pending.figures)}", highlight=False)
    else:
        console.print(json.dumps(proposal, indent=1)[:1500], highlight=False)


def print_report(report: RunReport, folder: Path, console: Console) -> None:
    if report.pending is not None:
        describe_pending(report.run_id, folder, report.pending, console)
        return
    summary = Path(report.summary) if report.summary else None
    if summary and summary.is_file():
        console.print("\n" + summary.read_text(encoding="utf-8"), markup=False, highlight=False)
    console.print(f"run {report.run_id}: {report.status.value}", highlight=False)


def status_table(folder: RunFolder, console: Console) -> None:
    manifest = folder.read_manifest()
    shown = shown_status(folder, manifest.status)
    console.print(f"[bold]run {manifest.run_id}[/]  status: {shown}  stage: {manifest.stage or '-'}\n"
                  f"template: {manifest.template}\nmodels: {manifest.models}\n"
                  f"model calls: {manifest.totals.calls}, tokens {manifest.totals.tokens_in + manifest.totals.tokens_out}, "
                  f"cost ${manifest.totals.cost_usd:.4f}", highlight=False)
    for note in manifest.notes[-3:]:
        console.print(f"note: {note}", highlight=False)
    if shown == "interrupted":
        console.print(f"the process that ran it is gone (killed or crashed); continue with: "
                      f"scientist resume {manifest.run_id}", highlight=False)
    paper, meta = folder.path / "paper" / "paper.pdf", folder.path / "reviews" / "meta_review.json"
    if paper.is_file():
        console.print(f"paper: {paper}", highlight=False)
    if meta.is_file():
        review = json.loads(meta.read_text(encoding="utf-8"))
        console.print(f"review: {review.get('decision')}, overall {review.get('overall')}/10 "
                      f"({folder.path / 'reviews' / 'review.md'})", highlight=False)
    for version in folder.revision_versions():
        revised = folder.paper_dir(version)
        meta = folder.reviews_dir(version) / "meta_review.json"
        review = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}
        pdf = revised / "paper.pdf"
        console.print(f"revision {version}: {pdf if pdf.is_file() else 'no new paper'} (response: "
                      f"{revised / 'response.md'})"
                      + (f"; its review: {review.get('decision')}, overall {review.get('overall')}/10"
                         if review else ""), highlight=False)
    if (folder.path / "summary.md").is_file():
        console.print(f"summary: {folder.path / 'summary.md'}", highlight=False)
    for path in sorted((folder.path / "experiments").glob("*/analysis.json")):
        analysis = IdeaAnalysis.model_validate_json(path.read_text(encoding="utf-8"))
        console.print(f"\nanalysis of {analysis.idea} ({path}):", highlight=False)
        console.print("\n".join(markdown_table(analysis)), markup=False, highlight=False, soft_wrap=True)
