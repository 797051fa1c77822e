"""Fidelity judge against hand labels: how often the reviewing model's verdict on a run's diff
agrees with a person's.

bench/fidelity_cases.json holds the successful runs of two failure-rate measurements (commits
68c5e1c and ae83287), each with the run's change, the diff of its experiment.py against the
baseline, and a hand label (faithful / partial / not) with the reason, as read for
docs/benchmarks.md. The judge (``scientist.fidelity.judge_diff``, the embedded model unless
--model M) labels each diff; the script prints each case, the confusion matrix, exact agreement,
agreement on "faithful or not", and the share of not-faithful runs the judge flags (anything but
"faithful") with Wilson 95% intervals.

    uv run python bench/fidelity.py [--model M] [--cases bench/fidelity_cases.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scientist.config import load_settings  # noqa: E402
from scientist.experiments.fidelity import judge_diff  # noqa: E402
from scientist.failures import wilson  # noqa: E402
from scientist.llm.gateway import Gateway  # noqa: E402
from scientist.llm.ledger import Ledger  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LABELS = ("faithful", "partial", "not")


def rate(hits: int, total: int) -> str:
    found = wilson(hits, total)
    return f"{hits}/{total} = {found.rate:.0%} ({found.low:.0%}-{found.high:.0%})" if total else "0/0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--cases", type=Path, default=REPO / "bench" / "fidelity_cases.json")
    args = parser.parse_args()
    cases = json.loads(args.cases.read_text(encoding="utf-8"))
    settings = load_settings(model=args.model, offline=True)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "llm_calls.jsonl")
        gateway = Gateway(settings, ledger)
        started = time.perf_counter()
        pairs = []
        for case in cases:
            verdict = judge_diff(gateway, title=case["title"], change=case["change"], diff=case["diff"],
                                 stage=f"bench/fidelity/{case['case']}")
            pairs.append((case["label"], verdict.verdict))
            mark = "=" if case["label"] == verdict.verdict else "x"
            print(f"{mark} {case['case']:<36} hand {case['label']:<8} judge {verdict.verdict:<8} "
                  f"missing: {verdict.missing[:90]}")
        wall = time.perf_counter() - started
        totals = ledger.summary()
    print(f"\n{len(cases)} cases, model {settings.model_for('review')}, {wall:.0f} s, {totals}")
    print("confusion (rows: hand label, columns: judge):")
    print(" " * 10 + "".join(f"{j:>10}" for j in LABELS))
    for hand in LABELS:
        print(f"{hand:<10}" + "".join(f"{sum(1 for h, j in pairs if h == hand and j == judge):>10}" for judge in LABELS))
    exact = sum(1 for h, j in pairs if h == j)
    binary = sum(1 for h, j in pairs if (h == "faithful") == (j == "faithful"))
    unfaithful = [j for h, j in pairs if h != "faithful"]
    faithful = [j for h, j in pairs if h == "faithful"]
    print(f"exact agreement:                    {rate(exact, len(pairs))}")
    print(f"agreement on faithful or not:       {rate(binary, len(pairs))}")
    print(f"not-faithful runs flagged:          {rate(sum(1 for j in unfaithful if j != 'faithful'), len(unfaithful))}")
    print(f"faithful runs passed as faithful:   {rate(sum(1 for j in faithful if j == 'faithful'), len(faithful))}")


if __name__ == "__main__":
    main()
