"""Time and tokens per stage of a run: the demo run (by default a new one, on the embedded model) or a
finished run folder. Prints one row per stage and the total.

    uv run python bench/demo_profile.py                 # runs the demo profile now
    uv run python bench/demo_profile.py runs/<run_id>   # profiles a finished run
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGE_OF_NODE = {"checkpoint_ideas": None, "checkpoint_plan": None, "checkpoint_results": None,
                 "checkpoint_paper": None}
DEMO_ENV = {"SCIENTIST_REFLECTIONS": "1", "SCIENTIST_RUNS_PER_IDEA": "1", "SCIENTIST_MAX_REPAIRS": "2",
            "SCIENTIST_REVIEWERS": "1", "SCIENTIST_REVIEW_REFLECTIONS": "0", "SCIENTIST_NOVELTY_ROUNDS": "1"}


def stage_of_call(stage: str) -> str:
    return stage.split("/")[0].replace("review-bench", "review")


def profile(run: Path) -> None:
    seconds: dict[str, float] = defaultdict(float)
    for line in (run / "timings.jsonl").read_text().splitlines():
        row = json.loads(line)
        if STAGE_OF_NODE.get(row["node"], row["node"]) is not None:
            seconds[row["node"]] += row["seconds"]
    tokens_in: dict[str, int] = defaultdict(int)
    tokens_out: dict[str, int] = defaultdict(int)
    calls: dict[str, int] = defaultdict(int)
    for line in (run / "llm_calls.jsonl").read_text().splitlines():
        row = json.loads(line)
        stage = stage_of_call(row["stage"])
        tokens_in[stage] += row["tokens_in"]
        tokens_out[stage] += row["tokens_out"]
        calls[stage] += 1
    print(f"run {run.name}")
    print(f"{'stage':<12} {'seconds':>8} {'calls':>6} {'tokens in':>10} {'tokens out':>11}")
    for stage in dict.fromkeys([*seconds, *calls]):
        print(f"{stage:<12} {seconds.get(stage, 0):8.1f} {calls.get(stage, 0):6d} {tokens_in.get(stage, 0):10d} "
              f"{tokens_out.get(stage, 0):11d}")
    print(f"{'total':<12} {sum(seconds.values()):8.1f} {sum(calls.values()):6d} {sum(tokens_in.values()):10d} "
          f"{sum(tokens_out.values()):11d}   (target: under 900 s on 2 cores)")


def main() -> None:
    if len(sys.argv) > 1:
        profile(Path(sys.argv[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **DEMO_ENV}
        subprocess.run([sys.executable, "-m", "scientist.cli", "run", str(REPO / "templates" / "digits_mlp"),
                        "--idea", "Does a wider hidden layer improve a tiny MLP on the digits dataset?",
                        "--num-ideas", "1", "--auto"], cwd=tmp, env=env, check=True)
        (run,) = list((Path(tmp) / "runs").iterdir())
        profile(run)


if __name__ == "__main__":
    main()
