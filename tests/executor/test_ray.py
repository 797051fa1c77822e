"""Sandboxed runs on a real local Ray cluster (``ray.cluster_utils.Cluster``: two 1-CPU nodes, one
sandbox slot each, a small object store), with the real bubblewrap sandbox on each worker."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from scientist.config import ExecutorSettings
from scientist.executor.ray_executor import import_ray
from scientist.sandbox.base import Limits
from scientist.sandbox.probe import bwrap_status

ray = import_ray()  # the ray extra is part of the test environment (scripts/test.sh installs it)

pytestmark = pytest.mark.slow
NODE = {"num_cpus": 1, "resources": {"sandbox": 1}, "object_store_memory": 80 * 2**20}
LIMITS = Limits(timeout_s=120, memory_mb=256)


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    assert bwrap_status().ok, "the Ray tests run the bubblewrap sandbox on each worker"
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    # a key in the environment the workers start from: it must never reach the sandboxed code
    os.environ["OPENAI_API_KEY"] = "sk-test-never-in-the-sandbox"
    made = Cluster(initialize_head=True, head_node_args=dict(NODE))
    made.add_node(**NODE)
    made.wait_for_nodes()
    yield made
    os.environ.pop("OPENAI_API_KEY", None)
    ray.shutdown()
    for node in list(made.worker_nodes):
        made.remove_node(node)
    made.remove_node(made.head_node)


@pytest.fixture(scope="module")
def sandbox(cluster):
    from scientist.executor.ray_executor import RaySandbox

    return RaySandbox(ExecutorSettings(kind="ray", address=cluster.address), backend="bwrap")


def processes_with(marker: str) -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if marker in cmdline:
            found.append((int(entry.name), int(stat.rsplit(")", 1)[1].split()[1]), cmdline))
    return found


def most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_four_candidates_on_two_slots_never_run_more_than_two_sandboxes(sandbox, tmp_path):
    assert sandbox.slots == 2
    folders = []
    for k in range(4):
        folder = tmp_path / f"candidate_{k}"
        folder.mkdir()
        (folder / "experiment.py").write_text(
            "import os, time\ntime.sleep(1.0)\nopen('env.txt', 'w').write(' '.join(os.environ))\n"
            f"open('result.txt', 'w').write('candidate {k}')\n")
        folders.append(folder)
    before = len(sandbox.placements)
    results: list = [None] * 4
    threads = [threading.Thread(target=lambda k=k: results.__setitem__(
        k, sandbox.run(["python", "experiment.py"], folders[k], LIMITS))) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(r is not None and r.ok for r in results), [r and r.one_line() for r in results]
    assert [(f / "result.txt").read_text() for f in folders] == [f"candidate {k}" for k in range(4)]
    assert all(r.backend == "ray/bwrap" for r in results)
    seen_env = (folders[0] / "env.txt").read_text().split()
    assert not [k for k in seen_env if "KEY" in k or "TOKEN" in k], seen_env
    placed_now = sandbox.placements[before:]
    worker_env = Path(f"/proc/{placed_now[0].pid}/environ").read_bytes()
    assert b"OPENAI_API_KEY=sk-test-never-in-the-sandbox" in worker_env, "the worker had the key; its sandbox did not"
    placed = sandbox.placements[before:]
    assert len(placed) == 4 and len({p.node_id for p in placed}) == 2, "both nodes were used"
    assert most_at_once([(p.started, p.ended) for p in placed]) == 2


def test_a_worker_killed_mid_task_is_retried_and_leaves_no_sandbox_behind(sandbox, tmp_path):
    marker = f"marker_{uuid.uuid4().hex[:8]}"
    (tmp_path / "experiment.py").write_text("import sys, time\ntime.sleep(3)\nopen('done.txt', 'w').write('done')\n")
    box: dict = {}
    runner = threading.Thread(target=lambda: box.setdefault("result", sandbox.run(
        ["python", "experiment.py", marker], tmp_path, LIMITS)))
    runner.start()
    deadline = time.monotonic() + 60
    while True:
        seen = processes_with(marker)
        ours = {pid for pid, _, _ in seen}
        # the outermost bwrap: its parent is the Ray worker running the task
        outer = [p for p in seen if p[2].split()[0].endswith("bwrap") and p[1] not in ours]
        if outer:
            break
        assert time.monotonic() < deadline, "the task's sandbox never started"
        time.sleep(0.1)
    first_sandbox, worker, _ = outer[0]
    os.kill(worker, signal.SIGKILL)  # the Ray worker process that runs the task
    deadline = time.monotonic() + 10
    while first_sandbox in [p[0] for p in processes_with(marker)]:
        assert time.monotonic() < deadline, "the killed worker's sandbox outlived it"
        time.sleep(0.1)
    runner.join(timeout=120)
    result = box["result"]
    assert result.ok, result.one_line()
    assert (tmp_path / "done.txt").read_text() == "done", "the retry ran to the end and its files came back"
    assert sandbox.placements[-1].pid != worker, "the retry ran in another worker"
    time.sleep(0.5)
    assert processes_with(marker) == [], "no sandbox process remains"


def test_a_run_on_the_cluster_killed_and_resumed_reruns_nothing(cluster, tmp_path):
    from scientist.llm.scripted.research import ResearchModel
    from scientist.llm.scripted.server import FakeOpenAI
    from tests.graph.conftest import CLI, TOY
    from tests.graph.test_resume import executions, run_and_kill

    # the toy template, with run_2's experiment lasting seconds: the watcher below must see it on a loaded machine
    template = tmp_path / "slow_toy"
    shutil.copytree(TOY, template)
    code = (template / "experiment.py").read_text()
    (template / "experiment.py").write_text(code.replace(
        "args = parser.parse_args()\n",
        "args = parser.parse_args()\nif args.out_dir == 'run_2':\n    import time\n    time.sleep(4)\n", 1))
    assert "time.sleep(4)" in (template / "experiment.py").read_text()
    model = ResearchModel(ideas=("bigger_step",), runs=2)
    with FakeOpenAI(responder=model) as fake:
        env = {**os.environ, "SCIENTIST_MODEL": "openai/fake-model", "SCIENTIST_API_BASE": fake.api_base,
               "SCIENTIST_OFFLINE": "1", "SCIENTIST_REVIEWERS": "1", "SCIENTIST_RUNS_DIR": str(tmp_path / "runs"),
               "SCIENTIST_SANDBOX": "bwrap", "SCIENTIST_EXECUTOR__KIND": "ray",
               "SCIENTIST_EXECUTOR__ADDRESS": cluster.address}
        run_and_kill(env, model, "PartChoice", 2, template)  # run_1 finished on the cluster, run_2's edit in flight
        (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
        assert executions(run) == ["run_0", "run_1"]
        killed: list[int] = []
        watching = threading.Event()

        def in_a_ray_task() -> list[tuple[int, int, str]]:
            # run_2's sandbox on a Ray worker (its folder is a task's), never another test's local run
            return [p for p in processes_with("--out_dir run_2") if "scientist-task-" in p[2]]

        def kill_run_2_worker_once() -> None:  # SIGKILL the Ray worker running run_2's experiment, once
            while not watching.is_set() and not killed:
                seen = in_a_ray_task()
                ours = {pid for pid, _, _ in seen}
                for _, parent, cmdline in seen:
                    if cmdline.split()[0].endswith("bwrap") and parent not in ours:
                        os.kill(parent, signal.SIGKILL)
                        killed.append(parent)
                        break
                time.sleep(0.05)

        watcher = threading.Thread(target=kill_run_2_worker_once)
        watcher.start()
        done = subprocess.run([*CLI, "resume", run.name], env=env, capture_output=True, text=True, timeout=300)
        watching.set()
        watcher.join()
        assert done.returncode == 0, done.stderr[-2000:]
    assert killed, "run_2's worker was killed mid-task"
    assert executions(run) == ["run_0", "run_1", "run_2"], "finished tasks were not run again"
    assert in_a_ray_task() == [], "no sandbox process remains"
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    rows = sqlite3.connect(run / "failures.sqlite").execute(
        "SELECT idea, stage, attempt, COUNT(*) FROM attempts GROUP BY idea, stage, attempt").fetchall()
    assert rows and all(count == 1 for *_, count in rows), f"one failure-log row per attempt: {rows}"
    assert [r for r in rows if r[1] == "run_2"] == [("bigger_step", "run_2", 1, 1)], "the retried task is one attempt"
    outcome = json.loads((run / "experiments" / "bigger_step" / "outcome.json").read_text())
    assert all(r["ok"] for r in outcome["runs"])


def test_doctor_reports_the_cluster_and_checks_the_sandbox_on_each_node(cluster, tmp_path):
    from tests.graph.conftest import CLI

    env = {**os.environ, "SCIENTIST_EXECUTOR__KIND": "ray", "SCIENTIST_EXECUTOR__ADDRESS": cluster.address,
           "SCIENTIST_SANDBOX": "bwrap", "SCIENTIST_OFFLINE": "1"}
    done = subprocess.run([*CLI, "doctor", "--json"], env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)["cluster"]
    assert report["ok"], report
    assert len(report["nodes"]) == 2 and all(n["alive"] and n["backend_ok"] for n in report["nodes"])
    assert sum(n["sandbox_slots"] for n in report["nodes"]) == 2 and "2 sandbox slots" in report["detail"]


def test_a_node_removed_mid_task_has_its_task_rescheduled(cluster, sandbox, tmp_path):
    """Last in the module: it takes the worker node away (and adds a fresh one back)."""
    from scientist.executor.ray_executor import RaySandbox

    worker = cluster.worker_nodes and next(iter(cluster.worker_nodes))
    folders = []
    for k in range(2):
        folder = tmp_path / f"run_{k}"
        folder.mkdir()
        (folder / "experiment.py").write_text("import time\ntime.sleep(4)\nopen('done.txt', 'w').write('done')\n")
        folders.append(folder)
    results: list = [None, None]
    threads = [threading.Thread(target=lambda k=k: results.__setitem__(
        k, sandbox.run(["python", "experiment.py"], folders[k], LIMITS))) for k in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(2.5)  # both slots busy: one task on each node
    cluster.remove_node(worker, allow_graceful=False)
    for thread in threads:
        thread.join(timeout=180)
    assert all(r is not None and r.ok for r in results), [r and r.one_line() for r in results]
    assert all((f / "done.txt").read_text() == "done" for f in folders)
    head = ray.get_runtime_context().get_node_id()
    assert [p.node_id for p in sandbox.placements[-2:]] == [head, head], "the removed node's task ran on the head"
    cluster.add_node(**NODE)
    cluster.wait_for_nodes()
    assert isinstance(sandbox, RaySandbox)
