"""What running sandboxed code as Ray tasks costs, side by side with the local sandbox, in one run.

Starts a local Ray cluster of two 1-CPU nodes (one sandbox slot each), warms it, then:
1. overhead: the same small sandbox runs one after another through the local bwrap sandbox and through
   Ray (ship the folder, run bwrap on a worker, ship it back); prints the added milliseconds per task
   and the ratio of wall times;
2. utilisation: N runs of S seconds each submitted at once to the 2 slots; prints the makespan, the
   most sandboxes seen at once, and slot utilisation (sandbox seconds / (slots x makespan)).

    uv run --extra ray python bench/executor_overhead.py [--tasks 20] [--burst 8] [--sleep 1.0] [--payload-kb 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # workers use this Python, not `uv run`

from scientist.config import ExecutorSettings  # noqa: E402
from scientist.executor.ray_executor import RaySandbox  # noqa: E402
from scientist.sandbox.base import Limits  # noqa: E402
from scientist.sandbox.bwrap import BwrapSandbox  # noqa: E402

LIMITS = Limits(timeout_s=120, memory_mb=512)


def folder(root: Path, name: str, payload_kb: int, body: str) -> Path:
    work = root / name
    work.mkdir()
    (work / "experiment.py").write_text(body)
    (work / "data.bin").write_bytes(os.urandom(payload_kb * 1024))  # what a run folder carries along
    return work


def timed_serial(sandbox, folders: list[Path]) -> list[float]:
    walls = []
    for work in folders:
        started = time.perf_counter()
        result = sandbox.run(["python", "experiment.py"], work, LIMITS)
        walls.append(time.perf_counter() - started)
        assert result.ok, result.one_line()
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--burst", type=int, default=8)
    parser.add_argument("--sleep", type=float, default=1.0)
    parser.add_argument("--payload-kb", type=int, default=64)
    args = parser.parse_args()

    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "resources": {"sandbox": 1}, "object_store_memory": 80 * 2**20}
    started = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args=dict(node))
    cluster.add_node(**node)
    cluster.wait_for_nodes()
    ray_box = RaySandbox(ExecutorSettings(kind="ray", address=cluster.address), backend="bwrap")
    print(f"cluster of 2 nodes up and joined in {time.perf_counter() - started:.1f} s; {ray_box.slots} sandbox slots")
    local_box = BwrapSandbox()
    quick = "open('out.txt', 'w').write('done')\n"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        warm = [folder(root, f"warm_{k}", args.payload_kb, quick) for k in range(4)]
        timed_serial(ray_box, warm)  # workers started, code imported
        local = timed_serial(local_box, [folder(root, f"l_{k}", args.payload_kb, quick) for k in range(args.tasks)])
        remote = timed_serial(ray_box, [folder(root, f"r_{k}", args.payload_kb, quick) for k in range(args.tasks)])
        ml, mr = statistics.median(local), statistics.median(remote)
        print(f"\n1. overhead, {args.tasks} runs one after another ({args.payload_kb} KB folder each):")
        print(f"   local bwrap   median {ml * 1000:7.1f} ms per run")
        print(f"   ray -> bwrap  median {mr * 1000:7.1f} ms per run")
        print(f"   Ray adds {(mr - ml) * 1000:.1f} ms per task (ratio ray/local {mr / ml:.2f}; "
              "target: at most 50 ms added)")

        body = f"import time\ntime.sleep({args.sleep})\nopen('out.txt', 'w').write('done')\n"
        burst = [folder(root, f"b_{k}", args.payload_kb, body) for k in range(args.burst)]
        before = len(ray_box.placements)
        threads = [threading.Thread(target=ray_box.run, args=(["python", "experiment.py"], work, LIMITS))
                   for work in burst]
        t0 = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        makespan = time.perf_counter() - t0
        placed = ray_box.placements[before:]
        edges = sorted([(p.started, 1) for p in placed] + [(p.ended, -1) for p in placed])
        running = peak = 0
        for _, step in edges:
            running += step
            peak = max(peak, running)
        busy = sum(p.seconds_in_sandbox for p in placed)
        ideal = args.burst * args.sleep / ray_box.slots
        print(f"\n2. utilisation, {args.burst} runs of {args.sleep:g} s submitted at once to {ray_box.slots} slots:")
        print(f"   makespan {makespan:.2f} s (ideal {ideal:.2f} s, ratio {makespan / ideal:.2f}); "
              f"at most {peak} sandboxes at once")
        print(f"   slot utilisation {busy / (ray_box.slots * makespan):.0%} (sandbox seconds / slots x makespan)")
    import ray

    ray.shutdown()
    for worker in list(cluster.worker_nodes):
        cluster.remove_node(worker)
    cluster.remove_node(cluster.head_node)


if __name__ == "__main__":
    main()
