"""Gateway overhead: N structured gateway calls vs N direct litellm calls to the same fake server.

Both sides talk to one scripted zero-latency OpenAI-compatible server on 127.0.0.1, in
alternating blocks so machine noise hits both alike. Prints the ratio (target: < 1.10).

    uv run python bench/gateway_overhead.py [--calls 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel  # noqa: E402

from scientist.config import load_settings  # noqa: E402
from scientist.llm.gateway import Gateway, load_litellm  # noqa: E402
from scientist.llm.ledger import Ledger  # noqa: E402
from scientist.llm.scripted.server import FakeOpenAI, Step  # noqa: E402


class Answer(BaseModel):
    title: str
    score: int


MESSAGES = [{"role": "user", "content": "Rate this idea."}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=10)
    args = parser.parse_args()
    litellm = load_litellm()
    with FakeOpenAI(repeat_last=True) as fake, tempfile.TemporaryDirectory() as tmp:
        fake.push(Step(json.dumps({"title": "t", "score": 5})))
        settings = load_settings(model="openai/fake-model", api_base=fake.api_base)
        gateway = Gateway(settings, Ledger(Path(tmp) / "llm_calls.jsonl"))
        schema = {"type": "json_schema", "json_schema": {"name": "Answer", "schema": Answer.model_json_schema()}}

        def direct() -> None:
            reply = litellm.completion(model="openai/fake-model", messages=MESSAGES, api_base=fake.api_base,
                                       api_key="sk", response_format=schema, max_tokens=2048,
                                       num_retries=0, max_retries=0)
            Answer.model_validate_json(reply.choices[0].message.content)

        def via_gateway() -> None:
            gateway.structured(MESSAGES, Answer, role="review", stage="bench")

        direct(), via_gateway()  # warm both paths
        per_block = max(1, args.calls // args.blocks)
        times: dict[str, list[float]] = {"direct": [], "gateway": []}
        for _ in range(args.blocks):
            for name, fn in (("direct", direct), ("gateway", via_gateway)):
                start = time.perf_counter()
                for _ in range(per_block):
                    fn()
                times[name].append(time.perf_counter() - start)
    direct_s, gateway_s = sum(times["direct"]), sum(times["gateway"])
    n = per_block * args.blocks
    print(f"calls per side: {n}")
    print(f"direct litellm: {direct_s:.3f}s total, {1000 * direct_s / n:.2f} ms/call "
          f"(block median {statistics.median(times['direct']):.3f}s)")
    print(f"gateway:        {gateway_s:.3f}s total, {1000 * gateway_s / n:.2f} ms/call "
          f"(block median {statistics.median(times['gateway']):.3f}s)")
    print(f"ratio gateway/direct: {gateway_s / direct_s:.3f} (target < 1.10)")


if __name__ == "__main__":
    main()
