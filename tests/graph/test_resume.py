"""Kill the run process with SIGKILL at each stage boundary and mid-stage; ``scientist resume`` finishes it
with the same artifacts as an uninterrupted run, and no experiment run executes twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from tests.graph.conftest import CLI, TOY, only_run

pytestmark = pytest.mark.slow

# (request that triggers the kill, which occurrence): each lands at a different point of the pipeline.
KILL_POINTS = {
    "mid_ideation": ("IdeaReflection", 1),           # ideas proposed, reflection in flight
    "after_ideas": ("ExperimentPlan", 1),            # ideation, novelty and the ideas checkpoint done
    "mid_experiments": ("PartChoice", 2),            # run_1 finished, run_2's edit in flight
    "after_plots": ("PaperSections", 1),             # experiments and plots done
    "after_writeup": ("Review", 1),                  # paper compiled, first review in flight
}


def artifacts(run: Path) -> dict[str, object]:
    """What a finished run must have, independent of timing."""
    outcome = json.loads((run / "experiments" / "bigger_step" / "outcome.json").read_text())
    return {
        "status": json.loads((run / "run.json").read_text())["status"],
        "ideas": [i["name"] for i in json.loads((run / "ideas" / "ideas.json").read_text())],
        "runs": [(r["run"], r["ok"], r["means"]) for r in outcome["runs"]],
        "baseline": outcome["baseline"],
        "figures": sorted(p.name for p in (run / "figures").iterdir()),
        "pdf": (run / "paper" / "paper.pdf").is_file(),
        "reviews": sorted(p.name for p in (run / "reviews").iterdir()),
        "sections": json.loads((run / "paper" / "sections.json").read_text()),
    }


def executions(run: Path) -> list[str]:
    return [x for x in (run / "experiments" / "bigger_step" / "executions.log").read_text().split()
            if x.startswith("run_")]  # reruns that observe a run (".lines_run") are not runs


def run_and_kill(cli_env: dict[str, str], research_model, schema: str, occurrence: int, template: Path = TOY) -> None:
    proc = subprocess.Popen([*CLI, "run", str(template), "--auto", "--num-ideas", "1"], env=cli_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = threading.Event()
    seen = {"n": 0}

    def hook(name: str, body: dict) -> None:
        if name == schema and not killed.is_set():
            seen["n"] += 1
            if seen["n"] == occurrence:
                os.kill(proc.pid, signal.SIGKILL)
                killed.set()

    research_model.on_request = hook
    proc.wait(timeout=300)
    research_model.on_request = None
    assert killed.is_set(), f"the run never asked for {schema}: {proc.stderr.read().decode()[-2000:]}"
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, object]:
    """An uninterrupted run with the same scripted model."""
    from scientist.llm.scripted.research import ResearchModel
    from scientist.llm.scripted.server import FakeOpenAI

    tmp = tmp_path_factory.mktemp("reference")
    with FakeOpenAI(responder=ResearchModel(ideas=("bigger_step",), runs=2)) as fake:
        env = {**os.environ, "SCIENTIST_MODEL": "openai/fake-model", "SCIENTIST_API_BASE": fake.api_base,
               "SCIENTIST_OFFLINE": "1", "SCIENTIST_REVIEWERS": "2", "SCIENTIST_RUNS_DIR": str(tmp / "runs"),
               "SCIENTIST_SANDBOX": "bwrap"}
        done = subprocess.run([*CLI, "run", str(TOY), "--auto", "--num-ideas", "1"], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    (run,) = list((tmp / "runs").iterdir())
    return artifacts(run)


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_run_resumes_to_the_same_artifacts(point, reference, cli_env, research_model, scientist, tmp_path):
    schema, occurrence = KILL_POINTS[point]
    run_and_kill(cli_env, research_model, schema, occurrence)
    run = only_run(tmp_path)
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    if point == "mid_experiments":  # a killed run is shown as interrupted, with the command that continues it
        status = scientist("status", run.name)
        assert "status: interrupted" in status.stdout and f"scientist resume {run.name}" in status.stdout
        assert "interrupted" in scientist("runs").stdout
    done = scientist("resume", run.name)
    assert done.returncode == 0, done.stderr
    assert artifacts(run) == reference
    assert sorted(executions(run)) == ["run_0", "run_1", "run_2"], "an experiment run executed twice"


def test_a_second_process_on_the_same_run_is_refused(scientist, cli_env, research_model, tmp_path):
    proc = subprocess.Popen([*CLI, "run", str(TOY), "--auto", "--num-ideas", "1"], env=cli_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    entered = threading.Event()
    release = threading.Event()

    def hook(name: str, body: dict) -> None:
        if name == "ExperimentPlan":
            entered.set()
            release.wait(60)

    research_model.on_request = hook
    try:
        assert entered.wait(120)
        done = scientist("resume", only_run(tmp_path).name)
        assert done.returncode == 2 and "another scientist process" in done.stderr
        assert "status: running" in scientist("status", only_run(tmp_path).name).stdout, "a live run is not stale"
    finally:
        release.set()
        proc.wait(timeout=300)
    assert proc.returncode == 0
