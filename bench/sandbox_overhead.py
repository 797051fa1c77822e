"""Sandbox start-up overhead: median wall time of ``python -c pass`` per backend vs the bare interpreter.

Runs interleaved rounds so machine noise hits every side alike, and prints each backend's
median, its ratio to the bare interpreter, and the milliseconds it adds
(targets: bwrap adds at most 30 ms; docker under 500 ms).

    uv run python bench/sandbox_overhead.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scientist.sandbox.base import Limits, Sandbox, sandbox_env  # noqa: E402
from scientist.sandbox.probe import bwrap_status, docker_status  # noqa: E402

COMMAND = ["python", "-c", "pass"]


def backends() -> dict[str, Sandbox]:
    found: dict[str, Sandbox] = {}
    if bwrap_status().ok:
        from scientist.sandbox.bwrap import BwrapSandbox

        found["bwrap"] = BwrapSandbox()
    if docker_status().ok:
        from scientist.sandbox.dockerbox import DockerSandbox

        found["docker"] = DockerSandbox()
    from scientist.sandbox.process import ProcessSandbox

    found["process"] = ProcessSandbox(allow_unsafe=True)
    return found


def bare(workdir: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], cwd=workdir, env=sandbox_env(Limits()), check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    boxes = backends()
    times: dict[str, list[float]] = {"bare": [], **{name: [] for name in boxes}}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for box in boxes.values():  # warm-up: image build, page cache
            box.run(COMMAND, workdir, Limits(timeout_s=60))
        for _ in range(args.rounds):
            times["bare"].append(bare(workdir))
            for name, box in boxes.items():
                result = box.run(COMMAND, workdir, Limits(timeout_s=60))
                assert result.ok, result
                times[name].append(result.wall_s)
    base = statistics.median(times["bare"])
    print(f"rounds: {args.rounds}; bare interpreter median {1000 * base:.1f} ms")
    targets = {"bwrap": "adds <= 30 ms", "docker": "adds < 500 ms", "process": "-"}
    for name in boxes:
        med = statistics.median(times[name])
        print(f"{name:8s} median {1000 * med:7.1f} ms  ratio {med / base:5.2f}  adds {1000 * (med - base):7.1f} ms"
              f"  (target: {targets[name]})")


if __name__ == "__main__":
    main()
