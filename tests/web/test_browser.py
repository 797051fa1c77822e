"""The web view in a real browser: Playwright driving Debian's chromium (headless) against
`scientist serve`, with a scripted fake model behind the real gateway and the real sandbox and LaTeX.

One run goes from the new-run form to its review: progress arrives live, the ideas checkpoint is
approved, an invalid plan edit is refused (the run stays paused) and a valid one accepted, the
results checkpoint is answered from the CLI (the browser shows it answered and refuses a second
answer), and the paper page shows the PDF, its page previews and the review. Screenshots of the
runs list, a checkpoint and the paper page are saved to ``test-artifacts/web/`` (or
``$SCIENTIST_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import TOY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SCIENTIST_CHROMIUM", "/usr/bin/chromium")
# as root in a container: no sandbox of chromium's own; no background connections to a closed network
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
RUN_URL = re.compile(r".*/runs/\d{8}-\d{6}-[0-9a-f]{6}$")
ARTIFACTS = Path(os.environ.get("SCIENTIST_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "web"
# records every server-sent event the page receives, with the browser's clock, before htmx loads
RECORD_SSE = """
window.__sse = [];
document.addEventListener('htmx:sseMessage', (e) => {
  window.__sse.push({type: e.detail.type, data: e.detail.data, at: Date.now() / 1000});
});
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "scientist.cli", "serve", "--port", str(port), "--templates",
                             str(TOY)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("scientist serve did not start: "
                                     + (tmp_path / "serve.log").read_text(errors="replace")) from None
            time.sleep(0.3)
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: install Debian's chromium (bash scripts/setup.sh)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(RECORD_SSE)
        try:
            yield context
        finally:
            context.close()
            chromium.close()


def manifest(runs: Path, run_id: str) -> dict:
    return json.loads((runs / run_id / "run.json").read_text())


def paused_at(page, checkpoint: str, timeout_s: float = 240) -> None:
    page.wait_for_selector(f'#status .status-block[data-stage="checkpoint:{checkpoint}"][data-status="paused"]',
                           timeout=timeout_s * 1000)


def sse_latencies(page) -> list[float]:
    """Seconds between a progress event being written by the run and reaching the page."""
    received = page.evaluate("window.__sse")
    out = []
    for item in received:
        if item["type"] == "progress" and 'class="event progress"' in item["data"]:
            written = float(re.search(r'data-t="([0-9.]+)"', item["data"]).group(1))
            out.append(item["at"] - written)
    return out


def test_a_run_from_the_form_to_its_review_in_the_browser(server, browser, env, tmp_path):
    runs = Path(env["SCIENTIST_RUNS_DIR"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    latencies: list[float] = []

    # start a run from the form
    page.goto(server + "/new")
    page.fill("#template", str(TOY))
    page.fill("#idea", "does a bigger step raise the mean?")
    page.fill("#num_ideas", "1")
    for name in ("ideas", "plan", "results"):
        page.check(f'input[name="checkpoint"][value="{name}"]')
    page.uncheck('input[name="checkpoint"][value="paper"]')
    page.click("text=Start the run")
    page.wait_for_url(RUN_URL, timeout=120_000)
    run_id = page.url.rsplit("/", 1)[1]

    # progress arrives live, then the run waits at the ideas checkpoint
    paused_at(page, "ideas")
    assert page.locator("#events li").count() > 0
    latencies += sse_latencies(page)
    page.goto(server + "/")
    page.wait_for_selector(f'tr[data-run="{run_id}"] a.waiting')
    page.screenshot(path=str(ARTIFACTS / "runs-list.png"))

    # approve the ideas
    page.click(f'tr[data-run="{run_id}"] a.waiting')
    assert page.inner_text(".checkpoint-name") == "ideas"
    assert "bigger_step" in page.inner_text("table.proposal")
    page.click("button.approve")
    page.wait_for_url(RUN_URL)
    paused_at(page, "plan")
    latencies += sse_latencies(page)

    # an invalid plan edit is refused and the run stays paused; a valid one is run
    page.click("a.answer")
    assert page.inner_text(".checkpoint-name") == "plan"
    assert "Pre-registered analysis" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "checkpoint-plan.png"), full_page=False)
    plan = json.loads(page.input_value("#edit"))
    plan["bigger_step"]["runs"] = []
    page.fill("#edit", json.dumps(plan, indent=2))
    page.click("text=Approve with this edit")
    error = page.inner_text(".error")
    assert "do not validate" in error and "runs" in error, error
    assert manifest(runs, run_id)["status"] == "paused"
    assert page.inner_text(".checkpoint-name") == "plan", "the checkpoint is still offered"

    # a rejection needs feedback; with it, the plan is made again and offered again
    page.click("button[value=reject]")
    assert "say what to change" in page.inner_text(".error")
    page.fill("#feedback", "also try a smaller step")
    page.click("button[value=reject]")
    page.wait_for_url(RUN_URL)
    pauses = "document.querySelectorAll('#events li.status').length"
    seen = page.evaluate(pauses)
    page.wait_for_function(f"() => {pauses} > {seen} && [...document.querySelectorAll('#events li.status')]"
                           ".pop().textContent.includes(\"paused at the 'plan' checkpoint\")", timeout=120_000)
    paused_at(page, "plan")
    assert "also try a smaller step" in (runs / run_id / "console.log").read_text()
    page.click("a.answer")
    plan = json.loads(page.input_value("#edit"))
    plan["bigger_step"]["runs"] = [{"name": "double", "change": "set STEP to 2.0"}]
    page.fill("#edit", json.dumps(plan, indent=2))
    page.click("text=Approve with this edit")
    page.wait_for_url(RUN_URL)
    paused_at(page, "results")
    latencies += sse_latencies(page)
    outcome = json.loads((runs / run_id / "experiments" / "bigger_step" / "outcome.json").read_text())
    assert [r["change"] for r in outcome["runs"]] == ["set STEP to 2.0"], "the edit made in the browser was run"

    # the results checkpoint answered from the CLI shows answered in the browser
    stale = browser.new_page()
    stale.goto(f"{server}/runs/{run_id}/checkpoint")
    assert stale.inner_text(".checkpoint-name") == "results"
    cli = subprocess.Popen([sys.executable, "-m", "scientist.cli", "approve", run_id], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    page.wait_for_selector('#status .status-block:not([data-stage="checkpoint:results"])', timeout=60_000)
    stale.click("button.approve")
    refused = stale.inner_text(".error")
    assert "already been answered" in refused or "not waiting at a checkpoint" in refused, refused
    output, _ = cli.communicate(timeout=600)
    assert cli.returncode == 0, output
    page.wait_for_selector('#status .status-block[data-status="finished"]', timeout=120_000)
    latencies += sse_latencies(page)

    # the paper with its page previews, beside the review
    page.click("text=paper and reviews")
    page.wait_for_selector("object.pdf-embed")
    page.wait_for_function("() => [...document.querySelectorAll('img.page-preview')].length > 0 && "
                           "[...document.querySelectorAll('img.page-preview')][0].naturalWidth > 0", timeout=60_000)
    assert page.inner_text(".decision") in ("accept", "reject")
    assert "Overall" in page.inner_text("pre.review") or "overall" in page.inner_text("pre.review")
    page.screenshot(path=str(ARTIFACTS / "paper.png"))

    # progress reached the browser within 2 s of being written, every time
    assert latencies, "no progress event was streamed to an open page"
    assert max(latencies) < 2.0, f"progress events arrived late: {sorted(latencies)[-5:]}"
    (ARTIFACTS / "sse_latency.json").write_text(json.dumps({"events": len(latencies), "max_s": max(latencies),
                                                            "median_s": sorted(latencies)[len(latencies) // 2]}))
    for name in ("runs-list.png", "checkpoint-plan.png", "paper.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000, name

