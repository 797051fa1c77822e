"""The main job end to end, as a new user runs it: the demo command's run on the real embedded model,
the real sandbox and real LaTeX; killed with SIGKILL in the middle of the experiments and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from scientist.config import default_cache_dir
from scientist.failures import FailureLog, is_experiment_run
from scientist.llm.ledger import CallRecord
from scientist.review.reviewer import MetaReview

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400),
              pytest.mark.needs_bwrap]
REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from scientist.cli import main; main()"]
DEMO_PROFILE = {"SCIENTIST_REFLECTIONS": "1", "SCIENTIST_RUNS_PER_IDEA": "1", "SCIENTIST_MAX_REPAIRS": "2",
                "SCIENTIST_REVIEWERS": "1", "SCIENTIST_REVIEW_REFLECTIONS": "0", "SCIENTIST_NOVELTY_ROUNDS": "1",
                "SCIENTIST_CANDIDATES": "1"}


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_demo_run_killed_mid_experiments_resumes_to_a_reviewed_paper(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    cache = default_cache_dir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SCIENTIST_")}, **DEMO_PROFILE,
           "HOME": str(home), "SCIENTIST_CACHE_DIR": str(cache), "SCIENTIST_OFFLINE": "1",
           "SCIENTIST_SANDBOX": "bwrap"}
    before = files_under(home)
    args = [*CLI, "run", str(REPO / "templates" / "digits_mlp"), "--idea",
            "Does a wider hidden layer improve a tiny MLP on the digits dataset?", "--num-ideas", "1", "--auto"]
    proc = subprocess.Popen(args, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 1500
    killed = False
    while time.time() < deadline and proc.poll() is None:
        if list(work.glob("runs/*/experiments/*/run_0/final_info.json")):
            time.sleep(2)  # the first experiment edit is being asked for
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(1)
    proc.wait(timeout=60)
    assert killed, f"never reached the experiments: {proc.stderr.read().decode()[-3000:]}"
    (run,) = list((work / "runs").iterdir())

    done = subprocess.run([*CLI, "resume", run.name], cwd=work, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]

    manifest = json.loads((run / "run.json").read_text())
    assert manifest["status"] == "finished"
    pdf = run / "paper" / "paper.pdf"
    assert pdf.is_file()
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    baseline = json.loads((run / "experiments" / manifest_idea(run) / "run_0" / "final_info.json").read_text())
    accuracy = baseline["digits"]["means"]["test_accuracy"]
    assert f"{accuracy:.4g}" in text, "the baseline's number is in the paper"
    figures = list((run / "figures").glob("*.png"))
    assert figures and any(f.name in (run / "paper" / "paper.tex").read_text() for f in figures)
    TypeAdapter(MetaReview).validate_json((run / "reviews" / "meta_review.json").read_text())
    assert "uncalibrated: a critique, not a verdict" in (run / "reviews" / "review.md").read_text(), \
        "the embedded reviewer's review says it is at chance on real decisions"

    # the revision round on the embedded model: the points were put to it and it gave a valid reply
    # (the answers kept may be none: one that only repeats its point is no answer); what it rewrote is
    # compiled and reviewed again
    revision = json.loads((run / "revisions" / "1" / "revision.json").read_text())
    assert revision["points"] and revision["replied"], revision
    assert (run / "revisions" / "1" / "response.md").is_file()
    if revision["changed"]:
        assert (run / "revisions" / "1" / "paper.pdf").is_file(), "a rewritten revision compiles"
        again = (run / "revisions" / "1" / "reviews" / "review.md").read_text()
        assert "uncalibrated: a critique, not a verdict" in again

    attempts = FailureLog(run / "failures.sqlite").attempts()
    experiment_rows = [a for a in attempts if is_experiment_run(a.stage)]
    run_dirs = [p for p in (run / "experiments").glob("*/run_*") if p.name != "run_0"]
    assert experiment_rows and len({a.stage for a in experiment_rows}) == len(run_dirs)

    records = [CallRecord.model_validate_json(x) for x in (run / "llm_calls.jsonl").read_text().splitlines()]
    assert sum(r.tokens_in for r in records) == manifest["totals"]["tokens_in"]
    assert sum(r.tokens_out for r in records) == manifest["totals"]["tokens_out"]
    assert all(r.tokens_out > 0 for r in records if r.outcome == "ok")

    assert files_under(home) == before, "nothing written to the user's home"
    assert {p.name for p in work.iterdir()} == {"runs"}, "nothing written outside the run folder"


def manifest_idea(run: Path) -> str:
    return json.loads((run / "ideas" / "ideas.json").read_text())[0]["name"]
