"""What the web view does: it starts ``scientist run`` and answers checkpoints with ``scientist approve``
or ``scientist reject``, each in its own process, so a decision made in the browser is the same
thing as one typed in a terminal, and a run keeps going when the server stops.

Each child runs in a new session (not killed with the server) and writes what it prints to the
run's ``console.log`` (a new run: to a launch log under ``<runs_dir>/.launches/`` until its id
is known).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from scientist.checkpoints import Decision, validate_edit
from scientist.errors import UsageError
from scientist.runner import lock_is_held
from scientist.runstore import RunFolder
from scientist.state import CHECKPOINT_STAGES
from scientist.template.manifest import load_template
from scientist.web.views import pending

log = logging.getLogger(__name__)
CLI = [sys.executable, "-m", "scientist.cli"]
LAUNCH_ID = re.compile(r"^[0-9a-f]{12}$")
RUN_LINE = re.compile(r"^run (\d{8}-\d{6}-[0-9a-f]{6}) in ", re.MULTILINE)


class NewRun(BaseModel):
    """The new-run form, checked before a process starts."""

    template: str
    idea: str | None = None
    model: str | None = None
    checkpoints: list[str] = Field(default_factory=list)
    budget_usd: float | None = None
    num_ideas: int = 2


class Launch(BaseModel):
    """A ``scientist run`` started from the browser, before and after its run id is known."""

    launch_id: str
    run_id: str | None
    running: bool
    exit_code: int | None
    log: str


class Launcher:
    """Starts and tracks the CLI processes of one server."""

    def __init__(self, runs_dir: Path, templates: list[Path]) -> None:
        self.runs_dir = runs_dir
        self.templates = templates
        self.launches_dir = runs_dir / ".launches"
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._answered: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    # -- processes -------------------------------------------------------------------------
    def _spawn(self, key: str, args: list[str], log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as out:
            out.write(f"$ scientist {' '.join(args)}\n".encode())
            out.flush()
            child = subprocess.Popen([*CLI, *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env={**os.environ, "COLUMNS": "200"})
        self._children[key] = child
        log.info("started %s (pid %d)", " ".join(args[:2]), child.pid)

    def reap(self) -> None:
        """Collect children that ended (no zombies)."""
        for child in list(self._children.values()):
            child.poll()

    def stop_all(self) -> None:
        """Nothing: the children are the runs, and they outlive the server by design."""
        self.reap()

    # -- a new run ---------------------------------------------------------------------------
    def template_choices(self) -> list[Path]:
        found = []
        for root in self.templates:
            if (root / "template.toml").is_file():
                found.append(root)
            elif root.is_dir():
                found += sorted(p for p in root.iterdir() if (p / "template.toml").is_file())
        return found

    def start(self, form: NewRun) -> str:
        """Check the form, then start ``scientist run`` in its own process; returns the launch id."""
        template = Path(form.template).expanduser()
        if not (template / "template.toml").is_file():
            raise UsageError(f"template {form.template} is not a template folder (no template.toml)")
        load_template(template)
        unknown = [c for c in form.checkpoints if c not in CHECKPOINT_STAGES]
        if unknown:
            raise UsageError(f"unknown checkpoint(s) {', '.join(unknown)}")
        if form.budget_usd is not None and form.budget_usd <= 0:
            raise UsageError("the budget must be a positive number of dollars (or empty for none)")
        if not 1 <= form.num_ideas <= 8:
            raise UsageError("ideas: from 1 to 8")
        args = ["run", str(template.resolve()), "--num-ideas", str(form.num_ideas),
                "--checkpoints", ",".join(form.checkpoints) or "none", "--runs-dir", str(self.runs_dir)]
        if form.idea and form.idea.strip():
            args += ["--idea", form.idea.strip()]
        if form.model and form.model.strip():
            args += ["--model", form.model.strip()]
        if form.budget_usd is not None:
            args += ["--budget", f"{form.budget_usd:g}"]
        launch_id = secrets.token_hex(6)
        with self._lock:
            self._spawn(launch_id, args, self.launches_dir / f"{launch_id}.log")
        return launch_id

    def launch(self, launch_id: str) -> Launch:
        """A launch's state: its log so far and, once printed, its run id."""
        if not LAUNCH_ID.fullmatch(launch_id):
            raise UsageError("not a launch id")
        path = self.launches_dir / f"{launch_id}.log"
        if not path.is_file():
            raise UsageError(f"no launch {launch_id}")
        text = path.read_text(encoding="utf-8", errors="replace")
        child = self._children.get(launch_id)
        code = child.poll() if child is not None else None
        found = RUN_LINE.search(text)
        return Launch(launch_id=launch_id, run_id=found.group(1) if found else None,
                      running=child is not None and code is None, exit_code=code, log=text[-20000:])

    # -- answering a checkpoint --------------------------------------------------------------
    def answer(self, folder: RunFolder, checkpoint_id: str, decision: Decision) -> None:
        """Answer the checkpoint the page showed (``checkpoint_id``) through the CLI. Refused with a
        one-line reason when the run is no longer waiting there: answered from a terminal or another
        tab, or being worked on."""
        with self._lock:
            if (folder.run_id, checkpoint_id) in self._answered or lock_is_held(folder):
                raise UsageError("this checkpoint has already been answered; the run is working on it")
            request, current = pending(folder)
            if request is None:
                raise UsageError(f"run {folder.run_id} is not waiting at a checkpoint (it was answered "
                                 "elsewhere, or is running)")
            if current != checkpoint_id:
                raise UsageError(f"this checkpoint has already been answered; the run now waits at the "
                                 f"'{request.checkpoint}' checkpoint")
            if decision.action not in request.actions:
                raise UsageError(f"'{decision.action}' is not allowed at the '{request.checkpoint}' checkpoint "
                                 f"(allowed: {', '.join(request.actions)})")
            args = self._answer_args(folder, request.checkpoint, decision)
            self._answered.add((folder.run_id, checkpoint_id))
            self._spawn(f"{folder.run_id}:{checkpoint_id}", args, folder.console_path)

    def resume(self, folder: RunFolder) -> None:
        """Continue a run that stopped (killed, failed, budget spent) with ``scientist resume``."""
        from scientist.runstore import RunStatus

        with self._lock:
            if lock_is_held(folder):
                raise UsageError(f"run {folder.run_id} is already being worked on")
            status = folder.read_manifest().status
            if status in (RunStatus.FINISHED, RunStatus.ABORTED):
                raise UsageError(f"run {folder.run_id} is {status.value}; nothing to resume")
            if status == RunStatus.PAUSED:
                raise UsageError(f"run {folder.run_id} waits at a checkpoint: answer it instead")
            self._spawn(f"{folder.run_id}:resume:{len(self._children)}",
                        ["resume", folder.run_id, "--runs-dir", str(folder.path.parent)], folder.console_path)

    def _answer_args(self, folder: RunFolder, checkpoint: str, decision: Decision) -> list[str]:
        runs = ["--runs-dir", str(folder.path.parent)]
        if decision.action == "approve":
            return ["approve", folder.run_id, *runs]
        if decision.action == "edit":
            metrics = load_template(Path(folder.read_manifest().template)).metric_names
            edited = validate_edit(checkpoint, decision.artifact, metrics)  # the check `approve --edit` makes
            path = folder.path / f"checkpoint_{checkpoint}.edited.json"
            path.write_text(json.dumps(edited, indent=2) + "\n", encoding="utf-8")
            return ["approve", folder.run_id, "--edit", str(path), *runs]
        if decision.action == "reject":
            if not (decision.feedback and decision.feedback.strip()):
                raise UsageError("say what to change (the stage is redone with your feedback)")
            return ["reject", folder.run_id, "--feedback", decision.feedback.strip(), *runs]
        return ["reject", folder.run_id, "--abort", *runs]


def parse_edit(text: str) -> Any:
    """The edit box's text as JSON, or a one-line error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"the edit is not valid JSON: {exc}") from exc
