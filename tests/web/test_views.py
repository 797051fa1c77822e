"""Pages over fabricated run folders (no graph): the runs list, a run's events, failures with plots."""

from __future__ import annotations

from scientist.failures import Attempt, Category, FailureLog
from scientist.runstore import RunStatus
from scientist.web import views
from scientist.web.app import sse


def test_events_are_read_up_to_the_last_whole_line(one_run):
    one_run.add_event("node", "ideation", "ideation done (1.0s)")
    with one_run.events_path.open("a", encoding="utf-8") as handle:
        handle.write('{"t": 1.0, "kind": "progress", "sta')  # a line still being written
    events, offset = views.read_events(one_run)
    assert [e.kind for e in events] == ["progress", "node"]
    with one_run.events_path.open("a", encoding="utf-8") as handle:
        handle.write('ge": "plan", "message": "planning"}\n')
    more, _ = views.read_events(one_run, offset)
    assert [(e.stage, e.message) for e in more] == [("plan", "planning")]


def test_a_server_sent_event_keeps_every_line_of_its_html():
    assert sse("progress", "<li>a</li>\n<li>b</li>") == "event: progress\ndata: <li>a</li>\ndata: <li>b</li>\n\n"


def test_the_runs_list_shows_the_run_its_seed_and_what_waits(client, one_run):
    page = client.get("/").text
    assert one_run.run_id in page and "a seed idea" in page and "toy_template" in page
    manifest = one_run.read_manifest()
    manifest.status, manifest.stage = RunStatus.PAUSED, "checkpoint:plan"
    one_run.write_manifest(manifest)
    row = client.get("/partials/runs").text
    assert "plan checkpoint" in row and f"/runs/{one_run.run_id}/checkpoint" in row


def test_a_run_marked_running_whose_process_is_gone_shows_interrupted(client, one_run):
    manifest = one_run.read_manifest()
    manifest.status = RunStatus.RUNNING
    one_run.write_manifest(manifest)
    status = client.get(f"/runs/{one_run.run_id}/partials/status").text
    assert 'data-status="interrupted"' in status and f"scientist resume {one_run.run_id}" in status


def test_the_failures_page_gives_rates_intervals_and_plots(client, one_run):
    log = FailureLog(one_run.failures_path)
    for stage, attempts in (("run_1", [Category.RUNTIME_ERROR, None]), ("run_2", [Category.SYNTAX_ERROR] * 3)):
        for k, category in enumerate(attempts, start=1):
            log.record(Attempt(run_id=one_run.run_id, idea="i", stage=stage, attempt=k, model="openai/fake",
                               template="/x/toy_template", category=category))
    log.close()
    page = client.get("/failures").text
    assert "2/2 = 100%" in page, "both runs failed at the first attempt"
    assert "1/2 = 50%" in page, "one still failed after repair"
    assert "runtime_error" in page and "syntax_error" in page
    assert page.count("<svg") == 3, "one plot per grouping: stage, template, model"
    assert "toy_template" in page and "openai/fake" in page
    assert "1 first, " not in client.get("/").text and "2/2 first, 1/2 after repair" in client.get("/").text


def test_the_paper_page_without_a_paper_says_so(client, one_run):
    page = client.get(f"/runs/{one_run.run_id}/paper")
    assert page.status_code == 200 and "No paper yet" in page.text
    assert client.get(f"/runs/{one_run.run_id}/pages/1.png").status_code == 404


def test_the_paper_page_shows_each_revision_with_its_response_changes_and_second_review(client, one_run):
    revised = one_run.paper_dir(1)
    (revised / "reviews").mkdir(parents=True)
    (revised / "response.md").write_text("# Response to the reviewers (revision 1)\n1. **only one seed**\n")
    (revised / "changes.diff").write_text("--- discussion (before)\n+More seeds would be needed.\n")
    (revised / "paper.pdf").write_bytes(b"%PDF-1.4 revised")
    (revised / "reviews" / "review.md").write_text("# Reviews (1)\nuncalibrated: a critique, not a verdict\n")
    (revised / "reviews" / "meta_review.json").write_text('{"decision": "reject", "overall": 3.5}')
    page = client.get(f"/runs/{one_run.run_id}/paper").text
    assert "Revision 1: reviewed again" in page and "overall 3.5/10" in page
    assert "only one seed" in page and "More seeds would be needed." in page
    assert "uncalibrated: a critique, not a verdict" in page
    assert f'/runs/{one_run.run_id}/files/revisions/1/paper.pdf' in page
    assert client.get(f"/runs/{one_run.run_id}/files/revisions/1/paper.pdf").content == b"%PDF-1.4 revised"
    assert "Revision 2" not in page


def test_the_new_run_form_refuses_a_folder_that_is_not_a_template(client, tmp_path):
    csrf = client.app.state.guard.csrf
    refused = client.post("/new", data={"template": str(tmp_path), "csrf": csrf, "checkpoint": ["ideas"]})
    assert refused.status_code == 400 and "is not a template folder" in refused.text
    assert not (client.app.state.store.runs_dir / ".launches").exists(), "nothing was started"
    refused = client.post("/new", data={"template": str(tmp_path), "csrf": csrf, "budget": "lots"})
    assert refused.status_code == 400


def test_a_stopped_run_offers_resume_and_a_finished_one_refuses_it(client, one_run):
    manifest = one_run.read_manifest()
    manifest.status = RunStatus.RUNNING
    one_run.write_manifest(manifest)
    status = client.get(f"/runs/{one_run.run_id}/partials/status").text
    assert f'action="/runs/{one_run.run_id}/resume"' in status
    manifest.status = RunStatus.FINISHED
    one_run.write_manifest(manifest)
    refused = client.post(f"/runs/{one_run.run_id}/resume", data={"csrf": client.app.state.guard.csrf})
    assert refused.status_code == 400 and "nothing to resume" in refused.text
    manifest.status = RunStatus.PAUSED
    one_run.write_manifest(manifest)
    refused = client.post(f"/runs/{one_run.run_id}/resume", data={"csrf": client.app.state.guard.csrf})
    assert refused.status_code == 400 and "answer it instead" in refused.text
    assert not one_run.console_path.exists(), "nothing was started"
