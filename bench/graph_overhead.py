"""Orchestration overhead: a full run with a zero-latency scripted model and a no-op experiment.

Ideas run one at a time here (concurrency 1) so the parts add up to the wall time.

Time in scientist's own code = wall time - time in model calls (the ledger's latencies) - time
running code and LaTeX (the failure log's wall times). Prints each part and the fraction
(target: orchestration under 5% of the run and under 2 s in total).

    uv run python bench/graph_overhead.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scientist.config import load_settings  # noqa: E402
from scientist.failures import FailureLog  # noqa: E402
from scientist.llm.gateway import load_litellm  # noqa: E402
from scientist.llm.ledger import CallRecord  # noqa: E402
from scientist.llm.scripted.research import ResearchModel  # noqa: E402
from scientist.llm.scripted.server import FakeOpenAI  # noqa: E402
from scientist.runner import RunController, initial_state, models_of  # noqa: E402
from scientist.runstore import RunStore  # noqa: E402
from scientist.sandbox.choose import open_sandbox  # noqa: E402

TOY = Path(__file__).resolve().parents[1] / "tests" / "graph" / "toy_template"


def main() -> None:
    with FakeOpenAI(responder=ResearchModel(ideas=("bigger_step", "smaller_step"), runs=2)) as fake, \
            tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(model="openai/fake-model", api_base=fake.api_base, offline=True, reviewers=3, concurrency=1,
                                 runs_dir=Path(tmp) / "runs")
        folder = RunStore(settings.runs_dir).create(str(TOY), None, models_of(settings), {})
        sandbox = open_sandbox(settings.sandbox)
        imports_started = time.perf_counter()
        load_litellm()  # a one-off per process, reported apart
        imports = time.perf_counter() - imports_started
        started = time.perf_counter()
        controller = RunController(settings, folder, sandbox)
        report = controller.start(initial_state(folder.run_id, None, 2, []))
        controller.close()
        wall = time.perf_counter() - started
        assert report.status.value == "finished", report
        model = sum(CallRecord.model_validate_json(x).latency_s
                    for x in folder.llm_calls_path.read_text().splitlines())
        log = FailureLog(folder.failures_path)
        tools = sum(a.wall_s or 0.0 for a in log.attempts())
        log.close()
    own = wall - model - tools
    print(f"importing litellm:    {imports:7.2f} s  (once per process, before the run; not counted below)")
    print(f"whole run:            {wall:7.2f} s")
    print(f"model calls:          {model:7.2f} s  (scripted, zero latency: HTTP and litellm only)")
    print(f"sandbox runs + LaTeX: {tools:7.2f} s")
    print(f"scientist's own code: {own:7.2f} s  = {own / wall:.1%} of the run "
          f"(targets: < 5% and < 2 s)")


if __name__ == "__main__":
    main()
