"""Wall time of K candidates sampled from one shared prompt against K independent prompts (embedded model).

Candidates of one attempt share the prompt token for token and differ by temperature and seed, so
llama.cpp serves the prompt's prefix from its cache after the first; K independent prompts (here:
the same template asked for K different changes, each with a distinct request line at the very
start of the system message, so no two share a prefix and each pays for its whole prompt, as
prompts about different templates or ideas do) are the comparison. Both are asked through the real
loop's ``ask_edit`` on a fresh run folder (no response cache), measured side by side in one process.
Prints the ratio.

    uv run python bench/candidates_overhead.py [--k 4] [--template digits_mlp] [--model M]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scientist.config import load_settings  # noqa: E402
from scientist.experiments.failure import History  # noqa: E402
from scientist.experiments.loop import IdeaExperiments  # noqa: E402
from scientist.failures import FailureLog  # noqa: E402
from scientist.literature.search import Literature, LiteratureCache  # noqa: E402
from scientist.llm.gateway import Gateway  # noqa: E402
from scientist.llm.ledger import Ledger  # noqa: E402
from scientist.runstore import RunStore  # noqa: E402
from scientist.sandbox.choose import open_sandbox  # noqa: E402
from scientist.services import Services  # noqa: E402
from scientist.template.manifest import load_template  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# Neutral changes of the digits template's settings and parts, one per independent prompt.
CHANGES = ("Scale each training image by 0.5 in training_images", "set EPOCHS to 20", "set BATCH_SIZE to 32",
           "set WEIGHT_DECAY to 0.001", "set LEARNING_RATE to 0.002", "set TEST_FRACTION to 0.3",
           "Add 0.1 to every training target in training_targets", "set BETAS to (0.8, 0.99)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--template", default="digits_mlp")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(model=args.model, offline=True, runs_dir=Path(tmp), max_reasks=1)
        template = load_template(REPO / "templates" / args.template)
        folder = RunStore(settings.runs_dir).create(str(template.path), None, {}, {})
        gateway = Gateway(settings, Ledger(folder.llm_calls_path))  # no response cache: every ask is asked
        services = Services(settings=settings, gateway=gateway, sandbox=open_sandbox(settings.sandbox), folder=folder,
                            failures=FailureLog(folder.failures_path), template=template,
                            literature=Literature([], LiteratureCache(None)))
        idea = {"name": "bench", "title": "A change to the baseline", "hypothesis": "It changes the results.",
                "experiment_plan": CHANGES[0]}
        loop = IdeaExperiments(services, {"idea": idea, "plan": {"runs": []}, "first_run": 1})  # type: ignore[arg-type]
        code = (template.path / "experiment.py").read_text(encoding="utf-8")
        gateway.text([{"role": "user", "content": "Reply with: ok"}], role="coding", stage="warm-up", max_tokens=2)

        def shared(k: int) -> float:
            started = time.perf_counter()
            for loop.candidate in range(k):
                loop.ask_edit(code, "run_1", CHANGES[0], History())
            loop.candidate = 0
            return time.perf_counter() - started

        system = template.prompt.system

        def independent(k: int, offset: int) -> float:
            started = time.perf_counter()
            for n, change in enumerate(CHANGES[offset:offset + k]):
                template.prompt.system = f"(independent request {n + 1})\n{system}"  # no shared prefix
                loop.ask_edit(code, "run_1", change, History())
            template.prompt.system = system
            return time.perf_counter() - started

        # independent first: its first prompt differs from everything asked before, as shared's does
        times_independent = independent(args.k, 1)
        times_shared = shared(args.k)
        print(f"{args.k} candidates from one shared prompt: {times_shared:.1f}s")
        print(f"{args.k} independent prompts:               {times_independent:.1f}s")
        print(f"ratio shared / independent: {times_shared / times_independent:.2f}")


if __name__ == "__main__":
    main()
