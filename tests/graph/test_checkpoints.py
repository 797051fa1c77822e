"""Every checkpoint action through the CLI, as a user types it; bad input is one line and exit 2."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.graph.conftest import TOY, only_run

pytestmark = pytest.mark.slow


def manifest(tmp_path):
    return json.loads((only_run(tmp_path) / "run.json").read_text())


def start_paused(scientist, tmp_path, checkpoints="ideas,plan,results"):
    done = scientist("run", str(TOY), "--num-ideas", "1", "--checkpoints", checkpoints)
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    return run, run.name


def test_approve_edit_and_reject_through_the_whole_run(scientist, research_model, tmp_path):
    run, run_id = start_paused(scientist, tmp_path)
    assert manifest(tmp_path)["status"] == "paused"

    status = scientist("status", run_id)
    assert "Paused at the 'ideas' checkpoint" in status.stdout
    assert f"scientist approve {run_id}" in status.stdout and "bigger_step" in status.stdout

    done = scientist("approve", run_id)
    assert done.returncode == 0 and "Paused at the 'plan' checkpoint" in done.stderr

    plan = json.loads((run / "checkpoint_plan.json").read_text())
    plan["bigger_step"]["runs"] = [{"name": "double", "change": "set STEP to 2.0"}]
    edited = tmp_path / "plan.json"
    edited.write_text(json.dumps(plan))
    done = scientist("approve", run_id, "--edit", str(edited))
    assert done.returncode == 0, done.stderr
    assert "Paused at the 'results' checkpoint" in done.stderr
    outcome = json.loads((run / "experiments" / "bigger_step" / "outcome.json").read_text())
    assert [r["change"] for r in outcome["runs"]] == ["set STEP to 2.0"], "the edited plan was run"

    plans_before = research_model.calls["ExperimentPlan"]
    done = scientist("reject", run_id, "--feedback", "also try a smaller step")
    assert done.returncode == 0 and "Paused at the 'plan' checkpoint" in done.stderr
    assert research_model.calls["ExperimentPlan"] == plans_before + 1
    assert scientist("approve", run_id).returncode == 0
    executed = [x for x in (run / "experiments" / "bigger_step" / "executions.log").read_text().split()
            if x.startswith("run_")]  # reruns that observe a run (".lines_run") are not runs
    assert executed == ["run_0", "run_1", "run_2", "run_3"], "a re-plan adds runs, it never reruns or overwrites"

    done = scientist("approve", run_id)
    assert done.returncode == 0, done.stderr
    assert manifest(tmp_path)["status"] == "finished"
    assert (run / "paper" / "paper.pdf").is_file()


def test_an_edit_that_does_not_validate_is_refused_and_the_run_stays_paused(scientist, tmp_path):
    run, run_id = start_paused(scientist, tmp_path)
    ideas = json.loads((run / "checkpoint_ideas.json").read_text())
    ideas[0]["feasibility"] = 99
    bad = tmp_path / "ideas.json"
    bad.write_text(json.dumps(ideas))
    done = scientist("approve", run_id, "--edit", str(bad))
    assert done.returncode == 2
    assert "feasibility" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert manifest(tmp_path)["status"] == "paused"
    (tmp_path / "junk.json").write_text("{nope")
    assert scientist("approve", run_id, "--edit", str(tmp_path / "junk.json")).returncode == 2
    assert "Paused at the 'ideas' checkpoint" in scientist("status", run_id).stdout


def test_edited_ideas_replace_the_proposal(scientist, tmp_path):
    run, run_id = start_paused(scientist, tmp_path, checkpoints="ideas,plan")
    ideas = json.loads((run / "checkpoint_ideas.json").read_text())
    ideas[0]["title"] = "A title the user wrote"
    path = tmp_path / "ideas.json"
    path.write_text(json.dumps(ideas))
    done = scientist("approve", run_id, "--edit", str(path))
    assert done.returncode == 0, done.stderr
    status = json.loads(scientist("status", run_id, "--json").stdout)
    assert status["pending"]["checkpoint"] == "plan"


def test_abort_stops_the_run(scientist, tmp_path):
    _, run_id = start_paused(scientist, tmp_path)
    done = scientist("reject", run_id, "--abort")
    assert done.returncode == 0, done.stderr
    assert manifest(tmp_path)["status"] == "aborted"
    assert "aborted by the user" in (only_run(tmp_path) / "summary.md").read_text()


def test_rejections_are_bounded(scientist, tmp_path):
    _, run_id = start_paused(scientist, tmp_path)
    assert scientist("reject", run_id, "--feedback", "again").returncode == 0
    assert scientist("reject", run_id, "--feedback", "again").returncode == 0
    done = scientist("reject", run_id, "--feedback", "again")
    assert done.returncode == 2 and "not allowed" in done.stderr


def test_bad_input_is_one_line_and_exit_2(scientist, tmp_path):
    for args in (["status", "20990101-000000-abcdef"], ["approve", "nope"], ["resume", "nope"]):
        done = scientist(*args)
        assert done.returncode == 2 and "no run" in done.stderr and "Traceback" not in done.stderr
    assert scientist("reject", "x").returncode == 2  # no feedback given
    done = scientist("run", str(TOY), "--auto", "--num-ideas", "1")
    assert done.returncode == 0
    run_id = only_run(tmp_path).name
    for args in (["approve", run_id], ["resume", run_id]):
        done = scientist(*args)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_corrupted_checkpoint_is_one_line_and_exit_2(scientist, tmp_path):
    run, run_id = start_paused(scientist, tmp_path)
    db = run / "checkpoints.sqlite"
    for side in ("-wal", "-shm"):
        (run / f"checkpoints.sqlite{side}").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    for args in (["status", run_id], ["approve", run_id]):
        done = scientist(*args)
        assert done.returncode == 2, done.stderr
        assert "damaged" in done.stderr and "Traceback" not in done.stderr
    assert (run / "ideas" / "ideas.json").is_file(), "nothing else is lost"
    assert sqlite3  # the file is left for inspection, not deleted
    assert db.is_file()


def test_resume_with_another_model_changes_the_run_s_models_and_records_it(scientist, tmp_path):
    run, run_id = start_paused(scientist, tmp_path, checkpoints="plan")
    done = scientist("resume", run_id, "--model", "openai/another-fake", "--role-model", "review=openai/judge-fake")
    assert done.returncode == 0, done.stderr
    models = manifest(tmp_path)["models"]
    assert models["coding"] == "openai/another-fake" and models["review"] == "openai/judge-fake"
    assert scientist("approve", run_id).returncode == 0
    calls = [json.loads(line) for line in (run / "llm_calls.jsonl").read_text().splitlines()]
    assert {c["model"] for c in calls if c["stage"].startswith("review")} == {"openai/judge-fake"}
    summary = (run / "summary.md").read_text()
    assert "models changed at resume" in summary and "openai/another-fake" in summary
