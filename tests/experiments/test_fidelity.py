"""The fidelity judge: the change and the diff reach the model, and its verdict comes back validated."""

from __future__ import annotations

import json

from scientist.experiments.fidelity import judge_run
from scientist.llm.scripted.server import Step

BASELINE = "RATE = 0.1\n\n\ndef step(x, g):\n    return x - RATE * g\n"
RUN = "RATE = 0.1\n\n\ndef step(x, g, t):\n    return x - RATE * 0.99 ** t * g\n"


def test_the_judge_sees_the_change_and_the_diff_and_returns_its_verdict(make_gateway, fake_llm):
    verdict = {"asked": "a cosine decay of the rate", "done": "an exponential decay of the rate",
               "differences": ["the cosine shape"], "verdict": "partial"}
    fake_llm.push(Step(json.dumps({**verdict, "verdict": "maybe"})), Step(json.dumps(verdict)))
    gateway, _ = make_gateway()
    found = judge_run(gateway, title="Cosine decay", change="Add a cosine decay of RATE to 1% over the steps",
                      baseline=BASELINE, code=RUN, stage="test")
    assert (found.verdict, found.missing) == ("partial", "the cosine shape"), "an invalid verdict is re-asked"
    fake_llm.push(Step(json.dumps({**verdict, "verdict": "faithful"})), Step(json.dumps({**verdict, "differences": [],
                                                                                           "verdict": "not"})))
    said_faithful = judge_run(gateway, title="t", change="c", baseline=BASELINE, code=RUN, stage="test")
    assert said_faithful.verdict == "partial", "'faithful' while listing a difference is partial"
    none_listed = judge_run(gateway, title="t", change="c2", baseline=BASELINE, code=RUN, stage="test")
    assert (none_listed.verdict, none_listed.missing) == ("faithful", "nothing")
    first = fake_llm.requests[0]
    prompt = first["messages"][-1]["content"]
    assert "Add a cosine decay of RATE to 1% over the steps" in prompt
    assert "-    return x - RATE * g" in prompt and "+    return x - RATE * 0.99 ** t * g" in prompt
    assert first["temperature"] == 0.0
    assert first["response_format"]["json_schema"]["schema"]["properties"]["verdict"]["enum"] == [
        "faithful", "partial", "not"]
