"""The web view's refusals: the access token, CSRF on every POST, the Host check, paths and run ids."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from scientist.web.app import create_app


def post_routes(app) -> list[str]:
    return [route.path for route in app.routes if "POST" in getattr(route, "methods", set())]


def test_on_another_address_every_request_needs_the_token(runs_dir, one_run):
    app = create_app(runs_dir, host="0.0.0.0")
    token = app.state.guard.token
    assert token and len(token) >= 24
    web = TestClient(app, base_url="http://10.1.2.3:8765", follow_redirects=False)
    for path in ("/", f"/runs/{one_run.run_id}", f"/runs/{one_run.run_id}/files/summary.md", "/failures",
                 "/static/style.css"):
        refused = web.get(path)
        assert refused.status_code == 401 and "token" in refused.text, path
    assert web.get("/?token=wrong").status_code == 401
    assert web.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert web.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # the printed address sets an HttpOnly cookie and drops the token from the address bar
    entered = web.get(f"/runs/{one_run.run_id}?token={token}")
    assert entered.status_code == 303 and "token=" not in entered.headers["location"]
    assert "httponly" in entered.headers["set-cookie"].lower()
    assert web.get(f"/runs/{one_run.run_id}").status_code == 200, "the cookie is accepted afterwards"


def test_on_loopback_no_token_but_the_host_must_be_loopback(runs_dir, one_run):
    app = create_app(runs_dir)
    assert app.state.guard.token is None
    assert TestClient(app, base_url="http://127.0.0.1:8765").get("/").status_code == 200
    assert TestClient(app, base_url="http://localhost:8765").get("/").status_code == 200
    rebound = TestClient(app, base_url="http://attacker.example:8765").get("/")
    assert rebound.status_code == 403, "a DNS-rebound page must not reach the server"


def test_every_post_needs_the_csrf_token(client):
    app = client.app
    routes = post_routes(app)
    assert "/new" in routes and "/runs/{run_id}/checkpoint" in routes
    run_id = os.path.basename(next(iter(app.state.store.list())).path)
    for route in routes:
        path = route.replace("{run_id}", run_id)
        form = {"action": "approve", "checkpoint_id": "x", "template": "/tmp"}
        assert client.post(path, data=form).status_code == 403, f"{route} accepted a POST without a CSRF token"
        assert client.post(path, data={**form, "csrf": "forged"}).status_code == 403
        assert client.post(path, data=form, headers={"X-CSRF-Token": "forged"}).status_code == 403
    # the server's own token passes the check (and the request then fails on its merits, not CSRF)
    answered = client.post(f"/runs/{run_id}/checkpoint",
                           data={"action": "approve", "checkpoint_id": "x", "csrf": app.state.guard.csrf})
    assert answered.status_code == 400 and "not waiting at a checkpoint" in answered.text


def test_state_never_changes_on_get(client):
    for route in client.app.routes:
        methods = getattr(route, "methods", set())
        assert not ({"PUT", "DELETE", "PATCH"} & methods), route.path


@pytest.mark.parametrize("path", ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "ideas%2F..%2F..%2Frun.json",
                                  "..%2F" * 8 + "etc%2Fpasswd"])
def test_file_paths_never_leave_the_run_folder(client, one_run, path):
    response = client.get(f"/runs/{one_run.run_id}/files/{path}")
    assert response.status_code in (400, 404)
    assert "root:" not in response.text


def test_a_symlink_out_of_the_run_folder_is_refused(client, one_run, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("API_KEY=sk-123", encoding="utf-8")
    (one_run.path / "link.txt").symlink_to(secret)
    response = client.get(f"/runs/{one_run.run_id}/files/link.txt")
    assert response.status_code == 400 and "sk-123" not in response.text
    assert client.get(f"/runs/{one_run.run_id}/files/summary.md").text == "# summary\n"


@pytest.mark.parametrize("run_id", ["x", "20261206-063544-3a4c9", "20261206-063544-3a4c97x", "..%2F..",
                                    "20261206-063544-ZZZZZZ"])
def test_run_ids_are_validated(client, run_id):
    response = client.get(f"/runs/{run_id}")
    assert response.status_code == 404
    assert "is not a run id" in response.text or run_id.startswith(".."), "refused by the id check"


def test_a_missing_run_is_one_line_404(client):
    response = client.get("/runs/20991231-000000-abcdef")
    assert response.status_code == 404 and "no run 20991231-000000-abcdef" in response.text


def test_serve_on_another_address_prints_the_token_and_requires_it(tmp_path):
    import re
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "scientist.cli", "serve", "--runs-dir", str(tmp_path / "runs"),
                             "--host", "0.0.0.0", "--port", str(port)], stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        line = proc.stderr.readline()
        token = re.search(r"\?token=(\S+)", line).group(1)
        base = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base, timeout=2)
                raise AssertionError("answered without the token")
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline and proc.poll() is None, "the server did not start"
                time.sleep(0.3)
        request = urllib.request.Request(base, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        busy = subprocess.run([sys.executable, "-m", "scientist.cli", "serve", "--runs-dir", str(tmp_path),
                               "--port", str(port)], capture_output=True, text=True, timeout=60)
        assert busy.returncode == 2 and "cannot listen" in busy.stderr and len(busy.stderr.splitlines()) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_the_pages_load_scripts_only_from_the_vendored_files():
    import hashlib
    import re
    from importlib.resources import files

    web = files("scientist.web")
    vendor = web / "static" / "vendor"
    for line in (vendor / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, f"{name} differs from npm's"
    for template in (web / "templates").iterdir():
        text = template.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), f"{template.name} loads from the network"
