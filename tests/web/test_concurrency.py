"""Reading a run while it writes: the web view's readers never raise a lock error and never see a
half-written file, on a real run (scripted model, real sandbox and LaTeX) going from start to end."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scientist.runner import pending_with_id
from scientist.runstore import RunStore
from scientist.web import views
from scientist.web.app import create_app
from tests.web.conftest import TOY

pytestmark = pytest.mark.slow


def test_every_reader_works_beside_a_run_that_writes(env, tmp_path):  # noqa: C901 - four reader closures
    runs = Path(env["SCIENTIST_RUNS_DIR"])
    runs.mkdir(parents=True)
    store = RunStore(runs)
    web = TestClient(create_app(runs), base_url="http://127.0.0.1:8765")
    run = subprocess.Popen([sys.executable, "-m", "scientist.cli", "run", str(TOY), "--idea", "a bigger step",
                            "--num-ideas", "1", "--auto"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    errors: list[str] = []
    reads = {"pages": 0, "events": 0, "pending": 0, "manifest": 0}
    stop = threading.Event()

    def guarded(name: str, read) -> None:  # noqa: ANN001
        while not stop.is_set():
            try:
                read()
            except Exception as exc:  # noqa: BLE001 - every error is the finding
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
            time.sleep(0.01)

    def pages() -> None:
        for folder in store.list():
            for path in ("/", f"/runs/{folder.run_id}", f"/runs/{folder.run_id}/partials/status",
                         f"/runs/{folder.run_id}/checkpoint", f"/runs/{folder.run_id}/paper", "/failures"):
                response = web.get(path)
                if response.status_code != 200:
                    errors.append(f"GET {path}: {response.status_code} {response.text[:200]}")
                reads["pages"] += 1

    def events() -> None:
        for folder in store.list():
            raw = folder.events_path.read_bytes() if folder.events_path.is_file() else b""
            whole = raw[:raw.rfind(b"\n") + 1]
            for line in whole.splitlines():
                json.loads(line)  # a whole line is always a whole event
            found, _ = views.read_events(folder)
            reads["events"] += len(found)

    def checkpoint_state() -> None:
        for folder in store.list():
            if folder.checkpoints_path.is_file():
                views.with_retries(lambda f=folder: pending_with_id(f))
                reads["pending"] += 1

    def manifests() -> None:
        for folder in store.list():
            folder.read_manifest()  # validates: a half-written run.json would fail here
            reads["manifest"] += 1

    threads = [threading.Thread(target=guarded, args=(name, fn)) for name, fn in
               (("pages", pages), ("events", events), ("checkpoints", checkpoint_state), ("manifest", manifests))]
    for thread in threads:
        thread.start()
    try:
        output, _ = run.communicate(timeout=600)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert run.returncode == 0, output
    assert errors == [], errors[:5]
    assert min(reads.values()) > 10, reads
    (folder,) = store.list()
    assert folder.read_manifest().status.value == "finished"
    kinds = [event.kind for event in views.read_events(folder)[0]]
    assert kinds.count("node") >= 5 and kinds[-1] == "status", kinds
