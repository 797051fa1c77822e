"""``scientist serve``: a local dashboard of runs (FastAPI, Jinja2 templates, htmx, server-sent events).

The server reads run folders and checkpoint state; it never runs the graph. Starting a run and
answering a checkpoint go through the CLI in a child process (``actions.Launcher``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from scientist.analysis.ledger import IdeaAnalysis, markdown_table
from scientist.checkpoints import Decision
from scientist.errors import RunNotFound, ScientistError, UsageError
from scientist.runstore import RunFolder, RunStore
from scientist.state import CHECKPOINT_STAGES
from scientist.web import views
from scientist.web.actions import Launcher, NewRun, parse_edit
from scientist.web.security import Guard

STATUS_EVERY_S = 1.0
POLL_S = 0.25
KEEPALIVE_S = 10.0


def sse(event: str, html: str) -> str:
    """One server-sent event whose data is ``html`` (each line its own ``data:`` field)."""
    lines = html.splitlines() or [""]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


def create_app(runs_dir: Path, *, host: str = "127.0.0.1", token: str | None = None,  # noqa: C901 - the routes
               templates_dirs: list[Path] | None = None) -> FastAPI:
    """The web app over the runs in ``runs_dir``; each route is a small closure over its store."""
    store = RunStore(runs_dir)
    guard = Guard(host, token)
    launcher = Launcher(store.runs_dir, templates_dirs or [])
    pages = Jinja2Templates(directory=str(files("scientist.web") / "templates"))
    pages.env.globals.update(csrf=guard.csrf, checkpoints=CHECKPOINT_STAGES)
    pages.env.filters["clock"] = lambda t: datetime.fromtimestamp(float(t)).strftime("%H:%M:%S")
    app = FastAPI(title="scientist", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.guard, app.state.launcher, app.state.store = guard, launcher, store
    app.mount("/static", StaticFiles(directory=str(files("scientist.web") / "static")), name="static")

    @app.middleware("http")
    async def check_access(request: Request, call_next: Any) -> Response:
        refused = guard.refuse(request)
        return refused if refused is not None else await call_next(request)

    @app.exception_handler(ScientistError)
    async def one_line(request: Request, exc: ScientistError) -> Response:
        code = 404 if isinstance(exc, RunNotFound) else 400
        return pages.TemplateResponse(request, "error.html", {"message": exc.one_line()}, status_code=code)

    async def require_csrf(request: Request) -> None:
        form = await request.form()
        value = form.get("csrf")
        if not guard.csrf_ok(request, value if isinstance(value, str) else None):
            raise HTTPException(403, "refused: missing or wrong CSRF token (reload the page and try again)")

    def folder_of(run_id: str) -> RunFolder:
        return views.open_run(store, run_id)

    # -- the runs list ---------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def runs_page(request: Request) -> Response:
        launcher.reap()
        return pages.TemplateResponse(request, "runs.html", {"rows": views.run_rows(store),
                                                             "runs_dir": store.runs_dir})

    @app.get("/partials/runs", response_class=HTMLResponse)
    def runs_partial(request: Request) -> Response:
        return pages.TemplateResponse(request, "_runs_table.html", {"rows": views.run_rows(store)})

    # -- a new run -------------------------------------------------------------------------------
    @app.get("/new", response_class=HTMLResponse)
    def new_run_page(request: Request) -> Response:
        return pages.TemplateResponse(request, "new.html", {"templates": launcher.template_choices(),
                                                            "error": None, "form": {}})

    @app.post("/new", dependencies=[Depends(require_csrf)])
    def start_run(request: Request, template: Annotated[str, Form()], idea: Annotated[str, Form()] = "",
                  model: Annotated[str, Form()] = "", budget: Annotated[str, Form()] = "",
                  num_ideas: Annotated[int, Form()] = 2,
                  checkpoint: Annotated[list[str] | None, Form()] = None) -> Response:
        form = {"template": template, "idea": idea, "model": model, "budget": budget, "num_ideas": num_ideas,
                "checkpoint": checkpoint or []}
        try:
            budget_usd = float(budget) if budget.strip() else None
        except ValueError:
            budget_usd = -1.0
        try:
            launch_id = launcher.start(NewRun(template=template, idea=idea or None, model=model or None,
                                              checkpoints=checkpoint or [], budget_usd=budget_usd,
                                              num_ideas=num_ideas))
        except ScientistError as exc:
            return pages.TemplateResponse(request, "new.html", {"templates": launcher.template_choices(),
                                                                "error": exc.one_line(), "form": form},
                                          status_code=400)
        return RedirectResponse(f"/launches/{launch_id}", status_code=303)

    @app.get("/launches/{launch_id}", response_class=HTMLResponse)
    def launch_page(request: Request, launch_id: str) -> Response:
        return pages.TemplateResponse(request, "launch.html", {"launch": launcher.launch(launch_id)})

    @app.get("/partials/launches/{launch_id}", response_class=HTMLResponse)
    def launch_partial(request: Request, launch_id: str) -> Response:
        launch = launcher.launch(launch_id)
        response = pages.TemplateResponse(request, "_launch.html", {"launch": launch})
        if launch.run_id:
            response.headers["HX-Redirect"] = f"/runs/{launch.run_id}"
        elif not launch.running:
            response.status_code = 286  # htmx stops polling: the process ended before a run began
        return response

    # -- a run -----------------------------------------------------------------------------------
    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str) -> Response:
        folder = folder_of(run_id)
        events, offset = views.read_events(folder)
        analyses = [IdeaAnalysis.model_validate_json(p.read_text(encoding="utf-8"))
                    for p in sorted((folder.path / "experiments").glob("*/analysis.json"))]
        return pages.TemplateResponse(request, "run.html", {
            "row": views.run_row(folder), "events": events, "offset": offset,
            "times": views.stage_times(folder), "console": views.tail(folder.console_path),
            "notes": folder.read_manifest().notes[-5:],
            "tables": [(a.idea, "\n".join(markdown_table(a))) for a in analyses]})

    @app.get("/runs/{run_id}/partials/status", response_class=HTMLResponse)
    def status_partial(request: Request, run_id: str) -> Response:
        return pages.TemplateResponse(request, "_status.html", {"row": views.run_row(folder_of(run_id))})

    @app.get("/runs/{run_id}/partials/console", response_class=HTMLResponse)
    def console_partial(request: Request, run_id: str) -> Response:
        return HTMLResponse(_escape(views.tail(folder_of(run_id).console_path)))

    @app.get("/runs/{run_id}/events")
    async def events_stream(request: Request, run_id: str, offset: int = 0) -> StreamingResponse:
        folder = folder_of(run_id)
        event_item = pages.env.get_template("_event.html")
        status_block = pages.env.get_template("_status.html")

        async def stream() -> AsyncIterator[str]:
            position, shown, idle = max(offset, 0), None, 0.0
            since_status = STATUS_EVERY_S
            while not await request.is_disconnected():
                events, position = views.read_events(folder, position)
                for event in events:
                    yield sse("progress", event_item.render(event=event))
                if events or since_status >= STATUS_EVERY_S:
                    since_status = 0.0
                    html = status_block.render(row=views.run_row(folder))
                    if html != shown:
                        shown = html
                        yield sse("status", html)
                idle = 0.0 if events else idle + POLL_S
                if idle >= KEEPALIVE_S:
                    idle = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(POLL_S)
                since_status += POLL_S

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/runs/{run_id}/files/{relative:path}")
    def run_file(run_id: str, relative: str) -> FileResponse:
        return FileResponse(views.safe_file(folder_of(run_id), relative))

    # -- a checkpoint ------------------------------------------------------------------------------
    @app.get("/runs/{run_id}/checkpoint", response_class=HTMLResponse)
    def checkpoint_page(request: Request, run_id: str) -> Response:
        return _checkpoint(request, folder_of(run_id), None, None)

    def _checkpoint(request: Request, folder: RunFolder, error: str | None, edit_text: str | None,
                    status_code: int = 200) -> Response:
        waiting, checkpoint_id = views.pending(folder)
        figures = [str(Path(f).relative_to(folder.path)) if Path(f).is_absolute() else str(f)
                   for f in (waiting.figures if waiting else [])]
        return pages.TemplateResponse(request, "checkpoint.html", {
            "row": views.run_row(folder), "pending": waiting, "checkpoint_id": checkpoint_id, "error": error,
            "figures": figures, "edit_text": edit_text if edit_text is not None else (
                json.dumps(waiting.proposal, indent=2) if waiting else "")}, status_code=status_code)

    @app.post("/runs/{run_id}/checkpoint", dependencies=[Depends(require_csrf)])
    def answer_checkpoint(request: Request, run_id: str, action: Annotated[str, Form()],
                          checkpoint_id: Annotated[str, Form()], feedback: Annotated[str, Form()] = "",
                          edit: Annotated[str, Form()] = "") -> Response:
        folder = folder_of(run_id)
        try:
            if action not in ("approve", "edit", "reject", "abort"):
                raise UsageError(f"unknown action '{action}'")
            decision = Decision(action=action, feedback=feedback or None,  # type: ignore[arg-type]
                                artifact=parse_edit(edit) if action == "edit" else None)
            launcher.answer(folder, checkpoint_id, decision)
        except ScientistError as exc:
            return _checkpoint(request, folder, exc.one_line(), edit if action == "edit" else None, 409
                               if "already" in exc.one_line() else 400)
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    @app.post("/runs/{run_id}/resume", dependencies=[Depends(require_csrf)])
    def resume_run(request: Request, run_id: str) -> Response:
        folder = folder_of(run_id)
        launcher.resume(folder)
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    # -- the paper and its reviews -----------------------------------------------------------------
    @app.get("/runs/{run_id}/paper", response_class=HTMLResponse)
    def paper_page(request: Request, run_id: str) -> Response:
        folder = folder_of(run_id)
        return pages.TemplateResponse(request, "paper.html", {"row": views.run_row(folder),
                                                              "paper": views.paper_view(folder)})

    @app.get("/runs/{run_id}/pages/{page}.png")
    def page_png(run_id: str, page: int) -> FileResponse:
        if not 1 <= page <= 500:
            raise RunNotFound("no such page")
        return FileResponse(views.page_preview(folder_of(run_id), page), media_type="image/png")

    # -- failures ----------------------------------------------------------------------------------
    @app.get("/failures", response_class=HTMLResponse)
    def failures_page(request: Request) -> Response:
        view = views.failure_view(store.runs_dir)
        plots = {by: views.failure_plot(view, by) for by in view.groups}
        return pages.TemplateResponse(request, "failures.html", {"view": view, "plots": plots})

    return app


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
