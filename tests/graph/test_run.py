"""A whole research run through the CLI with the scripted model, the real sandbox and real LaTeX."""

from __future__ import annotations

import json
import subprocess

import pytest

from scientist.failures import FailureLog
from scientist.llm.ledger import CallRecord
from tests.graph.conftest import TOY, only_run

pytestmark = pytest.mark.slow


def test_auto_run_produces_every_artifact(scientist, research_model, cli_env, tmp_path):
    cli_env.pop("SCIENTIST_REVISIONS")  # the default: one revision round
    revise_requests = []
    research_model.on_request = lambda schema, body: revise_requests.append(body) if (
        schema == "RevisionPlan" or "Now rewrite these sections" in body["messages"][-1]["content"]) else None
    done = scientist("run", str(TOY), "--auto", "--num-ideas", "1")
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["status"] == "finished"
    assert (run / "paper" / "paper.pdf").stat().st_size > 1000
    text = subprocess.run(["pdftotext", str(run / "paper" / "paper.pdf"), "-"], capture_output=True,
                          text=True).stdout
    assert "2.25" in text and "4.5" in text, "the runs' numbers are in the PDF"
    meta = json.loads((run / "reviews" / "meta_review.json").read_text())
    assert meta["reviews"] == 2 and meta["decision"] == "reject"
    assert (run / "reviews" / "review_1.json").is_file() and (run / "reviews" / "review.md").is_file()
    assert any(p.name.endswith(".png") for p in (run / "figures").iterdir())
    stages = {a.stage for a in FailureLog(run / "failures.sqlite").attempts()}
    assert {"baseline", "run_1", "run_2", "plot", "latex"} <= stages
    records = [CallRecord.model_validate_json(x) for x in (run / "llm_calls.jsonl").read_text().splitlines()]
    assert len(records) == sum(research_model.calls.values())
    assert sum(r.tokens_in for r in records) == manifest["totals"]["tokens_in"]
    log = [x for x in (run / "experiments" / "bigger_step" / "executions.log").read_text().split()
            if x.startswith("run_")]  # reruns that observe a run (".lines_run") are not runs
    assert sorted(log) == ["run_0", "run_1", "run_2"]
    assert "finished" in done.stderr and "paper.pdf" in done.stderr

    # the revision round: the points answered, the one section named rewritten under the claims check,
    # compiled, and reviewed again; the writer was shown the reviews' points, never their scores
    revised = run / "revisions" / "1"
    response = (revised / "response.md").read_text()
    assert "1. **trivial**" in response and "revise (discussion)" in response
    assert "2. **why?**" in response and "needs_experiments" in response
    diff = (revised / "changes.diff").read_text()
    assert "-The effect is linear, as expected; the study is tiny." in diff
    assert "+This is a toy study of one sequence, not a benchmark." in diff and "conclusion" not in diff
    revised_text = " ".join(subprocess.run(["pdftotext", str(revised / "paper.pdf"), "-"], capture_output=True,
                                           text=True).stdout.split())
    assert "toy study of one sequence, not a benchmark" in revised_text and "not a benchmark" not in text
    assert "2.25" in revised_text, "the record's text and tables are in the revised paper too"
    assert json.loads((revised / "claims_check.json").read_text())["unsupported_claims"] == []
    again = json.loads((revised / "reviews" / "meta_review.json").read_text())
    assert again["reviews"] == 2 and research_model.calls["Review"] == 8, "2 reviewers x 1 reflection x 2 versions"
    assert research_model.calls["RevisionPlan"] == 1
    record = json.loads((revised / "revision.json").read_text())
    assert len(record["replied"]) == len(record["responses"]) == 2 and record["changed"] == ["discussion"]
    assert len(revise_requests) == 2
    for body in revise_requests:
        sent = "\n".join(m["content"] for m in body["messages"]).lower()
        assert "trivial" in sent and "why?" in sent
        assert not any(word in sent for word in ("overall", "soundness", "confidence", "reject")), sent
    summary = (run / "summary.md").read_text()
    assert "revision 1: rewrote discussion" in summary and "uncalibrated" in summary
    assert ("revise", "latex") in {(a.idea, a.stage) for a in FailureLog(run / "failures.sqlite").attempts()}
    assert "revision 1:" in done.stderr


def test_a_revision_whose_answers_only_repeat_the_points_rewrites_nothing_and_ends_the_run(
        scientist, research_model, cli_env, tmp_path):
    from scientist.llm.scripted.research import REVIEW

    cli_env["SCIENTIST_REVISIONS"] = "2"
    points = ["The study uses a single toy sequence only", "Why was this step size chosen for the toy?"]
    research_model.overrides["Review"] = lambda body: {**REVIEW, "weaknesses": points[:1], "questions": points[1:]}
    research_model.overrides["RevisionPlan"] = lambda body: {"responses": [
        {"point": 1, "action": "revise", "sections": ["results"], "response": points[0] + "."},
        {"point": 2, "action": "revise", "sections": ["discussion"], "response": points[1]}]}
    done = scientist("run", str(TOY), "--auto", "--num-ideas", "1")
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    revised = run / "revisions" / "1"
    assert "No section was rewritten" in (revised / "response.md").read_text()
    assert "only repeated the point" in (revised / "response.md").read_text()
    assert not (revised / "paper.pdf").exists() and not (revised / "reviews").exists()
    assert not (run / "revisions" / "2").exists(), "a round that rewrote nothing ends the revisions"
    assert research_model.calls["RevisionPlan"] == 1 and research_model.calls["Review"] == 4
    assert "revision 1: rewrote nothing" in (run / "summary.md").read_text()


def test_a_revision_reply_that_never_validates_ends_the_run_with_the_draft_and_a_note(
        scientist, research_model, cli_env, tmp_path):
    cli_env.pop("SCIENTIST_REVISIONS")
    research_model.overrides["RevisionPlan"] = lambda body: {"responses": [{"point": 1, "action": "revise"}]}
    done = scientist("run", str(TOY), "--auto", "--num-ideas", "1")
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert (run / "paper" / "paper.pdf").is_file() and (run / "reviews" / "review.md").is_file()
    assert "revise: round 1 stopped" in (run / "summary.md").read_text()


def test_a_rewrite_that_returns_the_same_text_makes_no_new_paper(scientist, research_model, cli_env, tmp_path):
    from scientist.llm.scripted.research import PAPER

    cli_env.pop("SCIENTIST_REVISIONS")
    research_model.overrides["PaperSections"] = lambda body: PAPER  # the "rewrite" gives the section back
    done = scientist("run", str(TOY), "--auto", "--num-ideas", "1")
    assert done.returncode == 0, done.stderr
    revised = only_run(tmp_path) / "revisions" / "1"
    assert "No section was rewritten" in (revised / "response.md").read_text()
    assert not (revised / "paper.pdf").exists() and research_model.calls["Review"] == 4


def test_failures_command_reports_the_run(scientist, tmp_path):
    assert scientist("run", str(TOY), "--auto", "--num-ideas", "1").returncode == 0
    done = scientist("failures", "--json")
    report = json.loads(done.stdout)
    assert report["overall"]["first_attempt"]["total"] == 2 and report["overall"]["first_attempt"]["failures"] == 0


def test_a_second_run_is_told_the_first_runs_ideas_and_drops_repeats(scientist, research_model, tmp_path):
    assert scientist("run", str(TOY), "--auto", "--num-ideas", "1").returncode == 0
    prompts: list[str] = []
    research_model.on_request = lambda schema, body: prompts.append(body["messages"][-1]["content"]) \
        if schema == "IdeaBatch" else None
    research_model.ideas = ("bigger_step", "smaller_step")
    assert scientist("run", str(TOY), "--auto", "--num-ideas", "2").returncode == 0
    assert "Study of bigger step" in prompts[0], "earlier runs' ideas are in the prompt"
    second = max((tmp_path / "runs").iterdir())
    assert [i["name"] for i in json.loads((second / "ideas" / "ideas.json").read_text())] == ["smaller_step"]
    assert "repeated earlier runs' ideas" in (second / "summary.md").read_text()


def test_plot_and_latex_failures_are_logged(scientist, tmp_path):
    import shutil

    broken = tmp_path / "broken_toy"
    shutil.copytree(TOY, broken)
    (broken / "plot.py").write_text("raise RuntimeError('cannot plot')\n")
    tex = broken / "latex" / "template.tex"
    tex.write_text(tex.read_text().replace("\\begin{document}", "\\newcommand{\\x}{\\undefinedmacro}\\x\n"
                                           "\\begin{document}"))
    assert scientist("run", str(broken), "--auto", "--num-ideas", "1").returncode == 0
    run = only_run(tmp_path)
    rows = FailureLog(run / "failures.sqlite").attempts()
    assert any(a.stage == "plot" and a.category == "plot_error" and "cannot plot" in a.message for a in rows)
    assert [a.category for a in rows if a.stage == "latex"] == ["latex_error", "latex_error"]
    summary = (run / "summary.md").read_text()
    assert "did not compile" in summary and "plot.py failed" in summary


def test_a_template_whose_baseline_fails_is_refused_before_the_run_starts(tmp_path, cli_env, research_model):
    import shutil
    import subprocess

    from tests.graph.conftest import CLI

    broken = tmp_path / "broken"
    shutil.copytree(TOY, broken)
    (broken / "experiment.py").write_text((broken / "experiment.py").read_text() + "\ndef oops(:\n")
    done = subprocess.run([*CLI, "run", str(broken), "--num-ideas", "1"], env=cli_env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "experiment.py" in errors[0] and "SyntaxError" in errors[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), "no run folder"
    assert sum(research_model.calls.values()) == 0, "no model call was made"


def test_the_pre_flight_baseline_is_the_run_s_baseline(scientist, tmp_path):
    done = scientist("run", str(TOY), "--auto", "--num-ideas", "1")
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    assert (run / "baseline" / "run_0" / "final_info.json").is_file()
    executed = [x for x in (run / "experiments" / "bigger_step" / "executions.log").read_text().split()
            if x.startswith("run_")]  # reruns that observe a run (".lines_run") are not runs
    assert executed.count("run_0") == 1, "the baseline ran once, in the pre-flight"
    from scientist.failures import FailureLog

    rows = [a for a in FailureLog(run / "failures.sqlite").attempts() if a.stage == "baseline"]
    assert len(rows) == 1 and rows[0].category is None
