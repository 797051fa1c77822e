"""Choosing the executor: settings, and one-line errors before any work when the cluster is not there."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from scientist.config import load_settings
from scientist.executor.archive import pack, unpack

CLI = [sys.executable, "-c", "from scientist.cli import main; main()"]


def test_the_executor_is_local_unless_asked(tmp_path):
    assert load_settings().executor.kind == "local"
    (tmp_path / "scientist.toml").write_text('[executor]\nkind = "ray"\naddress = "10.0.0.5:6379"\n')
    settings = load_settings(tmp_path / "scientist.toml")
    assert (settings.executor.kind, settings.executor.address) == ("ray", "10.0.0.5:6379")
    flagged = load_settings(tmp_path / "scientist.toml", executor={"kind": "local"})
    assert (flagged.executor.kind, flagged.executor.address) == ("local", "10.0.0.5:6379"), \
        "a flag keeps the file's address"


def test_a_cluster_that_is_not_there_is_one_line_and_exit_2_before_any_work(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    env = {**os.environ, "SCIENTIST_EXECUTOR__ADDRESS": f"127.0.0.1:{port}",
           "SCIENTIST_RUNS_DIR": str(tmp_path / "runs"),
           "SCIENTIST_OFFLINE": "1", "SCIENTIST_MODEL": "openai/fake", "SCIENTIST_API_BASE": "http://127.0.0.1:9/v1"}
    toy = os.path.join(os.path.dirname(__file__), "..", "graph", "toy_template")
    done = subprocess.run([*CLI, "run", toy, "--executor", "ray", "--auto"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "no Ray cluster answers" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), "no run folder was made"


def test_only_regular_files_travel_and_nothing_lands_outside(tmp_path):
    source = tmp_path / "work"
    (source / "run_1").mkdir(parents=True)
    (source / "run_1" / "final_info.json").write_text("{}")
    (source / "leak").symlink_to("/etc/passwd")
    data = pack(source)
    target = tmp_path / "back"
    assert unpack(data, target) == []
    assert (target / "run_1" / "final_info.json").read_text() == "{}"
    assert not (target / "leak").exists(), "a link is not carried"

    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:  # a hostile archive from a worker
        for name, kind in (("../escape.txt", tarfile.REGTYPE), ("link", tarfile.SYMTYPE), ("ok.txt", tarfile.REGTYPE)):
            member = tarfile.TarInfo(name)
            member.type = kind
            if kind == tarfile.SYMTYPE:
                member.linkname = "/etc/passwd"
            archive.addfile(member, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    skipped = unpack(buffer.getvalue(), target)
    assert sorted(skipped) == ["../escape.txt", "link"]
    assert not (tmp_path / "escape.txt").exists() and (target / "ok.txt").is_file()
