"""The ``scientist`` command line. Each command's docstring is its help text."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from scientist.config import Settings, default_cache_dir, load_settings
from scientist.errors import ScientistError, UsageError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="scientist: from a seed idea to experiments, a paper and its review, offline.")
literature_app = typer.Typer(no_args_is_help=True, help="Search the literature the novelty check uses.")
sandbox_app = typer.Typer(no_args_is_help=True, help="Run commands in the sandbox and build its image.")
template_app = typer.Typer(no_args_is_help=True, help="Check experiment templates.")
app.add_typer(literature_app, name="literature")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(template_app, name="template")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML file (default ./scientist.toml).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
RunArg = Annotated[str, typer.Argument(help="A run id or a run folder.")]
RunsDirOpt = Annotated[Path | None, typer.Option("--runs-dir", help="Folder holding the runs.")]


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version as installed

        out.print(f"scientist {installed('scientist')}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def main_options(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress details.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True,
                                          callback=lambda value: _print_version(value))] = False,
) -> None:
    """scientist: from a seed idea to experiments, a paper and its review, offline."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=err, show_path=False)], force=True)
    for noisy in ("LiteLLM", "httpx", "urllib3", "docker"):
        logging.getLogger(noisy).setLevel(logging.ERROR if not verbose else logging.WARNING)


@app.command()
def run(
    template: Annotated[Path, typer.Argument(help="Template folder.")],
    idea: Annotated[str | None, typer.Option(help="Seed idea in your words.")] = None,
    num_ideas: Annotated[int, typer.Option(help="How many ideas to propose.", min=1, max=8)] = 2,
    model: Annotated[str | None, typer.Option(help="litellm model string for every role.")] = None,
    checkpoints: Annotated[str, typer.Option(help="Where to pause: ideas,plan,results,paper or none.")] = (
        "ideas,plan,results"),
    auto: Annotated[bool, typer.Option("--auto", help="Approve every checkpoint.")] = False,
    budget: Annotated[float | None, typer.Option(help="Budget in USD.")] = None,
    executor: Annotated[str | None, typer.Option(
        help="Where sandboxed code runs: local or ray (the executor table of scientist.toml sets the "
             "address).")] = None,
    runs_dir: RunsDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Start a research run from a template and a seed idea."""
    from scientist.cli_run import parse_checkpoints, print_report, start_run

    settings = load_settings(config, model=model, budget_usd=budget, runs_dir=runs_dir,
                             executor={"kind": executor} if executor else None)
    stops = parse_checkpoints(checkpoints, auto)
    report = start_run(template, idea=idea, num_ideas=num_ideas, checkpoints=stops, settings=settings, console=err)
    print_report(report, settings.runs_dir / report.run_id, err)


def _folder(run_ref: str, runs_dir: Path | None = None):  # noqa: ANN202 - RunFolder, imported lazily
    from scientist.runstore import RunStore

    return RunStore(load_settings(runs_dir=runs_dir).runs_dir).open(run_ref)


@app.command()
def resume(run_ref: RunArg, runs_dir: RunsDirOpt = None,
           budget: Annotated[float | None, typer.Option(help="A new budget in USD.", min=0)] = None,
           model: Annotated[str | None, typer.Option(help="A new litellm model string for every role.")] = None,
           role_model: Annotated[list[str] | None, typer.Option(
               "--role-model", help="A new model for one role: ROLE=MODEL (ideation, coding, writing, review); "
                                    "repeat for several.")] = None) -> None:
    """Continue a stopped or killed run from its last checkpoint."""
    from scientist.cli_run import change_models, continue_run, print_report

    folder = _folder(run_ref, runs_dir)
    if model or role_model:
        change_models(folder, model, role_model or [], err)
    report = continue_run(folder, err, budget_usd=budget)
    print_report(report, folder.path, err)


@app.command()
def status(run_ref: Annotated[str | None, typer.Argument(help="A run id or folder (default: the latest).")] = None,
           runs_dir: RunsDirOpt = None, as_json: JsonOpt = False) -> None:
    """Show a run's stage, pending checkpoint and cost so far."""
    from scientist.cli_run import describe_pending, status_table
    from scientist.runner import pending_of
    from scientist.runstore import RunStore

    store = RunStore(load_settings(runs_dir=runs_dir).runs_dir)
    if run_ref is None:
        found = store.list()
        if not found:
            raise UsageError(f"no runs in {store.runs_dir}")
        folder = found[-1]
    else:
        folder = store.open(run_ref)
    pending = pending_of(folder)
    if as_json:
        manifest = folder.read_manifest().model_dump(mode="json")
        out.print_json(json.dumps({**manifest, "pending": pending.model_dump(mode="json") if pending else None}))
        return
    status_table(folder, out)
    if pending is not None:
        describe_pending(folder.run_id, folder.path, pending, out)


@app.command()
def approve(run_ref: RunArg,
            edit: Annotated[Path | None, typer.Option(help="Replace the proposal with this JSON file.")] = None,
            runs_dir: RunsDirOpt = None) -> None:
    """Approve the checkpoint a paused run waits at."""
    from scientist.checkpoints import Decision
    from scientist.cli_run import continue_run, print_report, read_edit

    folder = _folder(run_ref, runs_dir)
    decision = Decision(action="edit", artifact=read_edit(edit)) if edit else Decision(action="approve")
    report = continue_run(folder, err, decision)
    print_report(report, folder.path, err)


@app.command()
def reject(run_ref: RunArg,
           feedback: Annotated[str | None, typer.Option(help="What to change; the stage is redone with it.")] = None,
           abort: Annotated[bool, typer.Option("--abort", help="Stop the run here instead.")] = False,
           runs_dir: RunsDirOpt = None) -> None:
    """Reject the proposal a paused run waits at, with feedback (or --abort the run)."""
    from scientist.checkpoints import Decision
    from scientist.cli_run import continue_run, print_report

    if not abort and not (feedback and feedback.strip()):
        raise UsageError("give --feedback \"what to change\" (or --abort to stop the run)")
    folder = _folder(run_ref, runs_dir)
    decision = Decision(action="abort") if abort else Decision(action="reject", feedback=feedback)
    report = continue_run(folder, err, decision)
    print_report(report, folder.path, err)


def _count(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else str(n)


@app.command()
def runs(runs_dir: RunsDirOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List runs with status, template, model, cost and age."""
    from scientist.runstore import RunStore

    settings = load_settings(config, runs_dir=runs_dir)
    folders = RunStore(settings.runs_dir).list()
    manifests = [folder.read_manifest() for folder in folders]
    if as_json:
        out.print_json(json.dumps([m.model_dump(mode="json") for m in manifests]))
        return
    from scientist.runner import shown_status

    # the id is the one value a user must copy: it never wraps or shrinks; the other columns fold
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("run", no_wrap=True, min_width=22)
    table.add_column("status", no_wrap=True, min_width=11)
    for name in ("stage", "template", "model"):
        table.add_column(name, overflow="fold")
    for name in ("cost $", "tokens", "age"):
        table.add_column(name, no_wrap=True, justify="right")
    now = datetime.now(UTC)
    for folder, m in zip(folders, manifests, strict=True):
        age = now - m.created_at
        table.add_row(m.run_id, shown_status(folder, m.status), m.stage or "-", Path(m.template).name,
                      m.models.get("ideation", "?"),
                      f"{m.totals.cost_usd:.2f}", _count(m.totals.tokens_in + m.totals.tokens_out),
                      f"{age.days}d {age.seconds // 3600}h" if age.days else f"{age.seconds // 60}m")
    out.print(table if manifests else f"no runs in {settings.runs_dir}")


@app.command()
def failures(runs_dir: RunsDirOpt = None,
             by: Annotated[str, typer.Option(help="Group by category, stage, template or model.")] = "category",
             as_json: JsonOpt = False) -> None:
    """Report execution failure rates across runs."""
    from scientist.failures import GROUPINGS, attempts_in, summarise
    from scientist.failures import grouped as grouped_by

    if by not in GROUPINGS:
        raise UsageError("--by takes category, stage, template or model")
    where = load_settings(runs_dir=runs_dir).runs_dir
    if not Path(where).is_dir():
        raise UsageError(f"--runs-dir {where} is not a directory")
    attempts = attempts_in(where)
    overall = summarise(attempts)
    grouped = ({k: v.model_dump(mode="json") for k, v in grouped_by(attempts, by).items()}
               if by != "category" else {})
    if as_json:
        out.print_json(json.dumps({"overall": overall.model_dump(mode="json"), "by": by, "groups": grouped,
                                   "attempts": len(attempts)}))
        return
    def fmt(rate) -> str:  # noqa: ANN001
        return "-" if rate.total == 0 else f"{rate.failures}/{rate.total} = {rate.rate:.0%} ({rate.low:.0%}-{rate.high:.0%})"
    out.print(f"{len(attempts)} code-run attempts; first-attempt failure rate {fmt(overall.first_attempt)}; "
              f"after repair {fmt(overall.after_repair)}", highlight=False)
    table = Table(by, "first attempt failed", "after repair failed") if grouped else Table("category", "attempts")
    if grouped:
        for key, summary in grouped.items():
            s1, s2 = summary["first_attempt"], summary["after_repair"]
            table.add_row(key, f"{s1['failures']}/{s1['total']}", f"{s2['failures']}/{s2['total']}")
    else:
        for category, count in overall.by_category.items():
            table.add_row(category, str(count))
    out.print(table)


@literature_app.command("search")
def literature_search(
    query: Annotated[str, typer.Argument(help="Search words.")],
    source: Annotated[str | None, typer.Option(help="arxiv, openalex or local.")] = None,
    local: Annotated[list[Path] | None, typer.Option(help="BibTeX or JSON file for the local index.")] = None,
    limit: Annotated[int, typer.Option(help="Papers per source.", min=1, max=50)] = 8,
    as_json: JsonOpt = False,
) -> None:
    """Search the literature sources the novelty check uses."""
    from scientist.literature.search import build_literature

    if source is not None and source not in ("arxiv", "openalex", "local"):
        raise UsageError("--source takes arxiv, openalex or local")
    literature = build_literature(load_settings(), extra_files=list(local or []), only=source)
    if not literature.sources:
        raise UsageError("no literature source to search (offline, or --source local without --local FILE)")
    try:
        with err.status(f"searching {', '.join(s.name for s in literature.sources)}...", spinner="dots"):
            result = literature.search(query, limit)
    finally:
        literature.close()
    if as_json:
        out.print_json(result.model_dump_json())
    else:
        table = Table("year", "title", "authors", "source")
        for paper in result.papers:
            authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
            table.add_row(str(paper.year or ""), paper.title, authors, paper.source)
        out.print(table)
        for name, reason in result.sources_unreachable.items():
            line = reason if "unreachable" in reason else f"{name} unreachable: {reason}"
            fallback = "; using the local index" if "local" in result.sources_used else ""
            out.print(f"[yellow]{escape(line)}{fallback}[/]")
    if not result.sources_used:
        raise typer.Exit(1)


@sandbox_app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def sandbox_run(
    cmd: Annotated[list[str], typer.Argument(help="The command, after --.")],
    backend: Annotated[str | None, typer.Option(help="docker, bwrap or process.")] = None,
    timeout: Annotated[float, typer.Option(help="Wall-clock limit in seconds.", min=0.1)] = 60.0,
    memory: Annotated[int, typer.Option(help="Memory limit in MB.", min=32)] = 2048,
    workdir: Annotated[Path | None, typer.Option(help="The only writable folder (default: a new temp folder).")] = None,
    allow_unsafe: Annotated[bool, typer.Option("--allow-unsafe", help="Permit the unsandboxed process backend.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a command in the sandbox and print its output and a one-line result."""
    import tempfile

    from scientist.sandbox.base import Limits
    from scientist.sandbox.choose import open_sandbox

    sandbox = open_sandbox(backend, allow_unsafe=allow_unsafe or None)
    limits = Limits(timeout_s=timeout, memory_mb=memory)
    if workdir is not None and not workdir.is_dir():
        raise UsageError(f"--workdir {workdir} is not a directory")
    with tempfile.TemporaryDirectory(prefix="scientist-sandbox-") as tmp:
        result = sandbox.run(list(cmd), (workdir or Path(tmp)).resolve(), limits)
    if as_json:
        out.print_json(result.model_dump_json())
    else:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        err.print(result.one_line() + ("  UNSAFE: not isolated" if result.unsafe else ""),
                  markup=False, highlight=False)
    if not result.ok:
        # the command's own exit code; 1 when a limit or the sandbox ended it without one
        raise typer.Exit(result.returncode if result.returncode and result.returncode > 0 and
                         not result.timed_out and not result.oom_killed else 1)


@sandbox_app.command("build-image")
def sandbox_build_image() -> None:
    """Build the docker experiment image locally (nothing is pulled)."""
    from scientist.sandbox.dockerbox import DockerSandbox
    from scientist.sandbox.image import build_image

    name = build_image(DockerSandbox().client)
    out.print(f"built {name}")


@template_app.command("check")
def template_check(
    template: Annotated[Path, typer.Argument(help="Template folder.")],
    backend: Annotated[str | None, typer.Option(help="Sandbox backend: docker, bwrap or process.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate a template and run its baseline, plot and LaTeX in the sandbox."""
    from scientist.sandbox.choose import open_sandbox
    from scientist.template.check import check_template

    sandbox = open_sandbox(backend)
    with err.status(f"checking {template} (baseline, plot, LaTeX)...", spinner="dots"):
        report = check_template(template, sandbox)
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        table = Table("step", "result", "time", "detail", title=f"template check: {template}")
        for step in report.steps:
            table.add_row(step.name, "[green]pass[/]" if step.ok else "[red]FAIL[/]", f"{step.seconds:.1f}s",
                          escape(step.detail))
        out.print(table)
    if not report.ok:
        failed = next(step for step in report.steps if not step.ok)
        err.print(f"[red]error:[/] {escape(failed.detail)}", highlight=False)
        # a template that does not load is bad input (2, as `run` says of it); a failing step is 1
        raise typer.Exit(2 if failed.name == "manifest and files" else 1)


@app.command()
def review(paper: Annotated[Path, typer.Argument(help="A PDF, .tex or .txt paper.")],
           model: Annotated[str | None, typer.Option(help="litellm model string.")] = None,
           ensemble: Annotated[int, typer.Option(help="Independent reviews to aggregate.", min=1, max=7)] = 1,
           reflections: Annotated[int, typer.Option(help="Reflection rounds per review.", min=0, max=5)] = 1,
           out_dir: Annotated[Path | None, typer.Option(help="Where to write the reviews (default: beside the "
                                                               "paper, <name>_reviews/).")] = None,
           as_json: JsonOpt = False) -> None:
    """Review a paper with the conference form and print the review."""
    from scientist.llm.gateway import Gateway
    from scientist.llm.ledger import Ledger
    from scientist.review.condense import condense
    from scientist.review.reader import read_paper
    from scientist.review.reviewer import Reviewer, mark_injection, review_markdown, write_meta_review
    from scientist.runstore import write_atomic

    settings = load_settings(model=model)
    text = read_paper(paper)
    target = out_dir or paper.with_name(f"{paper.stem}_reviews")
    target.mkdir(parents=True, exist_ok=True)
    gateway = Gateway(settings, Ledger(target / "llm_calls.jsonl"))
    reviewer = Reviewer(gateway, reflections=reflections)
    condensed = condense(text, settings.review_budget_tokens)
    guarded, injection = reviewer.guard(condensed.text)
    reviews = []
    with err.status(f"reviewing {paper.name} ({condensed.kept_words} of {condensed.original_words} words)...",
                    spinner="dots") as status:
        for k in range(1, ensemble + 1):
            status.update(f"review {k}/{ensemble} of {paper.name}...")
            made = reviewer.review_once(guarded, k)
            reviews.append(mark_injection(made) if injection else made)
            write_atomic(target / f"review_{k}.json", reviews[-1].model_dump_json(indent=2) + "\n")
    meta = write_meta_review(reviews, injection, settings, target)
    if as_json:
        out.print_json(json.dumps({"meta_review": meta.model_dump(mode="json"),
                                   "reviews": [r.model_dump(mode="json") for r in reviews]}))
    else:
        out.print(review_markdown(reviews, meta), markup=False, highlight=False)
        err.print(f"written to {target}", highlight=False)


@app.command("review-bench")
def review_bench(
    papers: Annotated[Path | None, typer.Option(help="Folder of paper texts to review.")] = None,
    labels: Annotated[Path | None, typer.Option(help="TSV of decisions (paper_id, decision).")] = None,
    from_csv: Annotated[Path | None, typer.Option(help="Score existing reviews from this CSV.")] = None,
    limit: Annotated[int | None, typer.Option(help="Review at most N papers.")] = None,
    model: Annotated[str | None, typer.Option(help="litellm model string.")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the intervals.")] = 1000,
    split: Annotated[int, typer.Option(help="Folds of the cross-validation: the offset is fitted on the other "
                                            "folds and scored on the held-out one (0: report no fitted figure).",
                                       min=0, max=50)] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Measure a reviewer against real conference decisions."""
    from scientist.review.labels import read_decisions, read_overall_scores
    from scientist.review.metrics import fit_offset, score
    from scientist.review.reviewer import review_offset

    if labels is None:
        raise UsageError("--labels TSV is required (the real decisions)")
    decisions = read_decisions(labels)
    notes: list[str] = []
    offset = 0.0
    if from_csv is not None:
        overall = read_overall_scores(from_csv)
        source = from_csv.name
    elif papers is not None:
        settings = load_settings(model=model)
        overall, notes = _review_papers_for_bench(papers, decisions, limit, settings)
        offset = review_offset(settings)
        source = f"scientist's reviewer ({settings.model_for('review')}, calibration offset {offset:+g})"
    else:
        raise UsageError("give --from-csv CSV (score published reviews) or --papers DIR (run the reviewer)")
    ids = sorted(set(decisions) & set(overall))
    if not ids:
        raise UsageError(f"no reviewed paper has a decision in {labels}")
    truth, raw = [decisions[i] for i in ids], [overall[i] for i in ids]
    report = score(truth, [r + offset for r in raw], bootstrap=bootstrap)
    report.notes += notes
    cross = None
    if split and len(set(truth)) == 2 and len(ids) >= 2 * split:
        from scientist.review.metrics import cross_validated_scores

        shifted, offsets = cross_validated_scores(truth, raw, folds=split)
        cross = score(truth, shifted, bootstrap=bootstrap)
        ba, auc_ci = cross.intervals["balanced_accuracy"], cross.intervals.get("auc")
        report.calibration = {
            "offset_applied": offset, "offset_fitted_on_these_papers": round(fit_offset(truth, raw), 3),
            "cross_validated": {"folds": split, "offsets": [round(o, 3) for o in offsets],
                                **cross.model_dump(include={"balanced_accuracy", "accuracy", "f1", "auc", "fpr",
                                                            "fnr", "intervals"})}}
        report.notes.append(
            f"{split}-fold cross-validated (each fold judged with the offset fitted on the other folds): balanced "
            f"accuracy {cross.balanced_accuracy:.3f} ({ba.low:.3f}-{ba.high:.3f})"
            + (f", AUC {cross.auc:.3f} ({auc_ci.low:.3f}-{auc_ci.high:.3f})" if cross.auc is not None else "")
            + f"; offsets per fold {', '.join(f'{o:+.2f}' for o in offsets)}")
    elif split:
        report.notes.append(f"no cross-validated figure: {split} folds need both decisions and at least "
                            f"{2 * split} papers")
    if papers is not None and len(set(truth)) == 2:
        from scientist.review.record import ReviewerRecord, save_record, today

        # the record is the cross-validated figure when there is one: never one scored on its own fit
        measured = cross or report
        ba, auc = measured.intervals["balanced_accuracy"], measured.intervals.get("auc")
        saved = save_record(ReviewerRecord(
            model=settings.model_for("review"), balanced_accuracy=measured.balanced_accuracy,
            balanced_accuracy_low=ba.low, balanced_accuracy_high=ba.high, auc=measured.auc,
            auc_low=auc.low if auc else None, auc_high=auc.high if auc else None, papers=measured.n,
            measured_on=today(), source=f"review-bench on {papers}" + (
                f", {split}-fold cross-validated offset" if cross else f", offset {offset:+g} as shipped")),
            settings.cache_dir)
        report.notes.append(f"this measurement is now the reviewer's record for {settings.model_for('review')}, "
                            f"stated in its reviews ({saved})")
    skipped = len(overall) - len(ids)
    if skipped:
        report.notes.append(f"{skipped} reviewed papers have no decision in the labels and were left out")
    if as_json:
        out.print_json(report.model_dump_json())
        return
    table = Table("metric", "value", "95% interval", title=f"{source}: {report.n} papers "
                  f"({report.accepted} accepted), accept when overall >= {report.threshold:g}")
    for name in ("balanced_accuracy", "accuracy", "f1", "auc", "fpr", "fnr"):
        value, interval = getattr(report, name), report.intervals.get(name)
        table.add_row(name, "-" if value is None else f"{value:.3f}",
                      f"{interval.low:.3f} - {interval.high:.3f}" if interval else "-")
    out.print(table)
    for note in report.notes:
        out.print(f"note: {note}")


@app.command()
def serve(
    runs_dir: RunsDirOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on; any but loopback needs the printed token.")] = (
        "127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8765,
    templates: Annotated[list[Path] | None, typer.Option(
        "--templates", help="Folder of templates offered by the new-run form (default ./templates).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve a web view of the runs: progress, checkpoints, papers and reviews, failures."""
    import uvicorn

    from scientist.web.app import create_app

    settings = load_settings(config, runs_dir=runs_dir)
    _check_port(host, port)
    settings.runs_dir.mkdir(parents=True, exist_ok=True)
    web = create_app(settings.runs_dir, host=host, templates_dirs=list(templates or [Path("templates")]))
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + (f"?token={web.state.guard.token}" if web.state.guard.token else "")
    err.print(f"serving {settings.runs_dir} at {address}  (Ctrl-C stops the server; runs keep going)",
              highlight=False)
    uvicorn.run(web, host=host, port=port, log_level="warning")


def _check_port(host: str, port: int) -> None:
    """A one-line error now, rather than the web server's own when it cannot listen."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host} is not an address of this machine ({exc.strerror})") from exc
    family, kind, _, _, address = infos[0]
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose another --port)") from exc


@app.command()
def doctor(
    as_json: JsonOpt = False,
    check_model: Annotated[bool, typer.Option("--check-model", help="Make one real model request.")] = False,
    model: Annotated[str | None, typer.Option(help="litellm model string to check.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Report what this machine offers and lacks, each with its fix."""
    from scientist.doctor import run_doctor
    from scientist.errors import ConfigError

    broken = None
    try:
        settings: Settings = load_settings(config, model=model)
    except ConfigError as exc:  # a broken config is one failed check; the others still run, on the defaults
        broken = exc.message
        settings = Settings.model_construct(**({"model": model} if model else {}))
    with err.status("checking model, LaTeX, sandbox and network...", spinner="dots"):
        report = run_doctor(settings, check_model_live=check_model, config_error=broken)
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        _print_doctor(report)
    if not report.model.ok or broken:
        raise typer.Exit(1)


def _print_doctor(report) -> None:  # noqa: ANN001 - DoctorReport, imported lazily
    def mark(ok: bool) -> str:
        return "[green]ok[/]" if ok else "[red]missing[/]"

    table = Table("check", "status", "detail")
    if report.config_error:
        table.add_row("config", "[red]broken[/]", f"{report.config_error} (the checks below use the defaults)")
    m = report.model
    speed = f", {m.tokens_per_s} tokens/s, {m.latency_s}s" if m.checked and m.ok else ""
    table.add_row(f"model {m.model}", mark(m.ok), f"{m.detail}{speed}" + (f" -> {m.fix}" if m.fix else ""))
    for name, tool in report.latex.tools.items():
        table.add_row(name, mark(tool.ok), tool.path or report.latex.fix)
    for name, st in report.sandbox.backends.items():
        table.add_row(f"sandbox {name}", mark(st.ok), st.reason)
    table.add_row("cgroup limits", mark(report.sandbox.cgroup.ok), report.sandbox.cgroup.reason)
    for name, st in report.network.sources.items():
        table.add_row(f"network {name}", mark(st.ok), st.reason)
    if report.cluster is not None:
        table.add_row(f"ray cluster {report.cluster.address}", mark(report.cluster.ok), report.cluster.detail)
        for node in report.cluster.nodes:
            table.add_row(f"  node {node['host']} {str(node['node_id'])[:8]}", mark(bool(node["backend_ok"])),
                          f"{node['cpus']:g} CPUs, {node['sandbox_slots']:g} sandbox slots, {node['detail']}")
    out.print(table)
    for problem in report.problems:
        out.print(f"[yellow]- {problem}[/]")


def _review_papers_for_bench(papers: Path, decisions: dict[str, bool], limit: int | None,
                             settings: Settings) -> tuple[dict[str, float], list[str]]:
    """Each paper's reviewers' mean overall score (uncalibrated), and notes on how it was made."""
    from scientist.llm.gateway import Gateway
    from scientist.llm.ledger import Ledger
    from scientist.review.bench import review_papers, summary_note

    if not papers.is_dir():
        raise UsageError(f"--papers {papers} is not a folder")
    gateway = Gateway(settings, Ledger(None))
    items = review_papers(papers, decisions, gateway=gateway, model=settings.model_for("review"),
                          cache_root=settings.cache_dir, limit=limit, ensemble=settings.reviewers,
                          reflections=settings.review_reflections, budget_tokens=settings.review_budget_tokens,
                          progress=lambda message: err.print(message, highlight=False))
    return {i.paper_id: i.overall for i in items}, summary_note(items)


def _crash_log(exc: BaseException) -> Path:
    logs = default_cache_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"crash-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.log"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def main() -> None:
    """Entry point: typed errors become one line and an exit code, never a traceback."""
    try:
        app()
    except ScientistError as exc:
        err.print(f"[red]error:[/] {escape(exc.one_line())}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last resort: the user gets one line and a log file
        err.print(f"[red]internal error:[/] {type(exc).__name__}: {exc} (details in {_crash_log(exc)})",
                  highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
