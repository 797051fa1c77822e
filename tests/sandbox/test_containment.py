"""Adversarial tests: each attack is run for real in every available isolating backend."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.sandbox.conftest import run_py


def test_cannot_connect_to_a_host_loopback_listener(isolating, workdir):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        deadline = time.time() + 15
        while time.time() < deadline and not accepted:
            try:
                accepted.append(server.accept())
            except TimeoutError:
                continue
            except OSError:
                return  # closed by the test

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    result = run_py(isolating, workdir, f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3)
    print("CONNECTED")
except OSError as exc:
    print("REFUSED", exc)
""")
    thread.join(0.5)
    server.close()
    assert "REFUSED" in result.stdout and "CONNECTED" not in result.stdout, result.stderr
    assert not accepted


def test_has_no_route_no_interface_and_no_name_resolution(isolating, workdir):
    # No packet is sent to any outside address: the sandbox must show it has no way to send one.
    result = run_py(isolating, workdir, """
import json, socket
names = [name for _, name in socket.if_nameindex()]
routes = open("/proc/net/route").read().splitlines()[1:]
try:
    socket.getaddrinfo("example.com", 443)
    resolved = True
except OSError:
    resolved = False
print(json.dumps({"names": names, "routes": routes, "resolved": resolved}))
""")
    seen = json.loads(result.stdout)
    assert set(seen["names"]) <= {"lo"} and seen["routes"] == [] and seen["resolved"] is False


def test_cannot_read_files_outside_the_work_dir(isolating, workdir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    cache = Path.home() / ".cache"
    project = Path(__file__).resolve().parents[2]
    result = run_py(isolating, workdir, f"""
for path in [{str(secret)!r}, "/etc/shadow", {str(cache)!r}, "/root", "/home", {str(project)!r}, {str(tmp_path)!r}]:
    try:
        import os
        if os.path.isdir(path):
            print("LISTED", path, os.listdir(path))
        else:
            print("READ", path, open(path).read()[:40])
    except OSError as exc:
        print("DENIED", path, type(exc).__name__)
""")
    assert "TOP-SECRET" not in result.stdout
    assert "READ" not in result.stdout, result.stdout
    mount_parents = {"work", ".venv", ".pyenv", "versions", "main"}
    for line in result.stdout.splitlines():
        if line.startswith("LISTED"):  # only the parents of mount points may be listed, nothing else
            listed = set(eval(line.split(" ", 2)[2]))  # noqa: S307 - a list literal we printed
            assert listed <= mount_parents, line


def test_api_keys_never_reach_the_code(isolating, workdir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-should-not-leak")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_should_not_leak")
    result = run_py(isolating, workdir, "import os, json; print(json.dumps(dict(os.environ)))")
    env = json.loads(result.stdout)
    assert "OPENAI_API_KEY" not in env and "GITHUB_TOKEN" not in env
    assert "should" not in result.stdout and "sk-test" not in result.stdout
    assert env["HOME"] == "/tmp"


def test_cannot_write_outside_the_work_dir(isolating, workdir, tmp_path):
    import sys

    targets = ["/usr/evil", "/etc/evil", f"{sys.prefix}/evil", str(tmp_path / "evil"), "/evil"]
    result = run_py(isolating, workdir, f"""
import os
for path in {targets!r}:
    try:
        open(path, "w").write("x")
        print("WROTE", path)
    except OSError as exc:
        print("DENIED", path, type(exc).__name__)
open("/tmp/inside-only", "w").write("x")
open("ok.txt", "w").write("fine")
""")
    for line in result.stdout.splitlines():  # /tmp inside is a private tmpfs: a write there stays there
        assert not line.startswith("WROTE") or line.split()[1].startswith("/tmp/"), line
    assert all(not Path(t).exists() for t in targets)
    assert (workdir / "ok.txt").read_text() == "fine"
    assert not Path("/tmp/inside-only").exists()


def test_a_fork_bomb_is_bounded(any_backend, workdir):
    result = run_py(any_backend, workdir, """
import os, time
children = 0
for _ in range(2000):          # bounded by the test even if the sandbox were not
    try:
        pid = os.fork()
    except OSError as exc:
        print("FORK FAILED after", children, type(exc).__name__)
        break
    if pid == 0:
        time.sleep(20)
        os._exit(0)
    children += 1
print("CHILDREN", children)
""", pids=64, timeout_s=30)
    assert "FORK FAILED" in result.stdout, (result.stdout, result.stderr)
    children = int(result.stdout.split("FORK FAILED after")[1].split()[0])
    assert children < 64
    assert result.wall_s < 25, "the sleeping children must not keep the run alive"


def test_memory_beyond_the_limit_is_stopped(any_backend, workdir):
    result = run_py(any_backend, workdir, """
blocks = []
for _ in range(64):
    blocks.append(bytearray(64 * 2**20))   # 4 GB in all, far beyond the limit
print("ALLOCATED ALL")
""", memory_mb=256)
    assert "ALLOCATED ALL" not in result.stdout
    assert result.oom_killed or "MemoryError" in result.stderr, result
    assert not result.ok


def test_a_cpu_spin_is_killed_at_the_timeout(any_backend, workdir):
    started = time.perf_counter()
    result = run_py(any_backend, workdir, "while True:\n    pass\n", timeout_s=2)
    assert result.timed_out and result.killed_by_limit == "time" and not result.ok
    assert time.perf_counter() - started < 15


def test_a_double_forked_setsid_child_does_not_outlive_the_run(any_backend, workdir):
    result = run_py(any_backend, workdir, """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(3)
        open("escaped.txt", "w").write("still alive")
        os._exit(0)
    os._exit(0)
print("PARENT DONE")
""")
    assert "PARENT DONE" in result.stdout
    time.sleep(4.5)
    assert not (workdir / "escaped.txt").exists()


def test_filling_the_disk_is_stopped(isolating, workdir):
    result = run_py(isolating, workdir, """
import os
chunk = b"x" * 2**20
written = 0
try:
    for i in range(4096):              # up to 4 GB, bounded by the test
        with open(f"fill_{i}.bin", "wb") as f:
            f.write(chunk * 8)
        written += 8
except OSError as exc:
    print("WRITE FAILED", type(exc).__name__)
print("WROTE MB", written)
try:
    open("/tmp/big", "wb").write(b"x" * 64 * 2**20)
    print("TMP FILLED")
except OSError as exc:
    print("TMP FULL", type(exc).__name__)
""", disk_mb=64, tmp_mb=16, timeout_s=60)
    used = sum(p.stat().st_size for p in workdir.iterdir()) / 2**20
    assert result.killed_by_limit == "disk" or "WRITE FAILED" in result.stdout, result
    assert used < 64 + 1024, f"{used:.0f} MB written past a 64 MB limit"
    assert "TMP FILLED" not in result.stdout


def test_cannot_change_its_own_limits(isolating, workdir):
    import scientist

    harness = Path(scientist.__file__).resolve()
    result = run_py(isolating, workdir, f"""
import os, resource, signal
for path in [{str(harness)!r}, "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max",
             "/sys/fs/cgroup/cgroup.procs"]:
    try:
        open(path, "a").write("999999999")
        print("CHANGED", path)
    except OSError as exc:
        print("DENIED", path, type(exc).__name__)
try:
    resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    print("RAISED RLIMIT")
except (ValueError, OSError) as exc:
    print("RLIMIT DENIED", type(exc).__name__)
try:
    os.kill(os.getppid(), signal.SIGKILL)
except OSError:
    pass
while True:
    pass
""", timeout_s=3)
    assert "CHANGED" not in result.stdout, result.stdout
    assert result.timed_out, "the harness's clock must still stop the code"
    assert harness.read_text().startswith('"""scientist')


def test_output_is_capped_with_a_marker(isolating, workdir):
    result = run_py(isolating, workdir, "import sys\nsys.stdout.write('y' * 3_000_000)\n", output_bytes=10_000)
    assert result.stdout_truncated and "output truncated" in result.stdout
    assert len(result.stdout) < 20_000


def test_process_backend_is_refused_without_opt_in(monkeypatch):
    from scientist.errors import UsageError
    from scientist.sandbox.choose import open_sandbox

    monkeypatch.delenv("SCIENTIST_ALLOW_UNSAFE_SANDBOX", raising=False)
    with pytest.raises(UsageError, match="refused"):
        open_sandbox("process")


def test_process_backend_marks_results_unsafe(workdir):
    from scientist.sandbox.process import ProcessSandbox

    result = run_py(ProcessSandbox(allow_unsafe=True), workdir, "print('hi')")
    assert result.ok and result.unsafe


@pytest.mark.parametrize("name", ["OPENAI_API_KEY"])
def test_process_backend_scrubs_the_environment_too(workdir, monkeypatch, name):
    from scientist.sandbox.process import ProcessSandbox

    monkeypatch.setenv(name, "sk-nope")
    result = run_py(ProcessSandbox(allow_unsafe=True), workdir, "import os; print(sorted(os.environ))")
    assert name not in result.stdout and os.environ[name] == "sk-nope"
