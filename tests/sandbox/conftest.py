"""Sandbox fixtures: every available isolating backend, skipped with a visible reason where absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scientist.sandbox.base import Limits, Sandbox
from scientist.sandbox.probe import bwrap_status, docker_status


def _make(name: str) -> Sandbox:
    if name == "bwrap":
        status = bwrap_status()
        if not status.ok:
            pytest.fail(f"bwrap backend unavailable: {status.reason}", pytrace=False)
        from scientist.sandbox.bwrap import BwrapSandbox

        return BwrapSandbox()
    if name == "docker":
        status = docker_status()
        if not status.ok:
            if os.environ.get("SCIENTIST_REQUIRE_DOCKER") == "1":
                pytest.fail(f"docker backend unavailable: {status.reason}", pytrace=False)
            pytest.skip(f"docker backend unavailable: {status.reason} (SCIENTIST_REQUIRE_DOCKER=1: a failure)")
        from scientist.sandbox.dockerbox import DockerSandbox

        return DockerSandbox()
    from scientist.sandbox.process import ProcessSandbox

    return ProcessSandbox(allow_unsafe=True)


@pytest.fixture(params=["bwrap", "docker"])
def isolating(request: pytest.FixtureRequest) -> Sandbox:
    """Each backend that claims isolation."""
    return _make(request.param)


@pytest.fixture(params=["bwrap", "docker", "process"])
def any_backend(request: pytest.FixtureRequest) -> Sandbox:
    """Each backend, the unsafe one included (for limits, not isolation)."""
    return _make(request.param)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def run_py(sandbox: Sandbox, workdir: Path, code: str, **limits: object):
    """Run Python ``code`` in the sandbox with small default limits."""
    script = workdir / "attack.py"
    script.write_text(code)
    base = {"timeout_s": 30.0, "memory_mb": 512, "pids": 64, "disk_mb": 64, "tmp_mb": 32}
    base.update(limits)
    return sandbox.run(["python", "attack.py"], workdir, Limits(**base))
