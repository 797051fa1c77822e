"""Does a run's code do what the run was asked to change?

Execution success is not fidelity: a run can execute and write valid results while computing
another method than the one asked, or the asked one in the wrong place. After a run succeeds, the reviewing model reads the change
and the diff and answers faithful, partial or not, with what is missing. The verdict is reported
beside the results (``outcome.json``, the run summary) for the person reading them; it does not
decide control flow, because a judge can be wrong (``bench/fidelity.py`` measures how often,
against hand labels).
"""

from __future__ import annotations

from scientist.experiments.failure import changes
from scientist.llm.gateway import Gateway
from scientist.prompts import render
from scientist.schemas import FidelityVerdict

MAX_DIFF_LINES = 120


def judge_diff(gateway: Gateway, *, title: str, change: str, diff: str, stage: str) -> FidelityVerdict:
    """The reviewing model's verdict on one diff against the change it was meant to make
    (deterministic: temperature 0), made consistent with the differences it lists."""
    messages = [{"role": "system", "content": render("fidelity", "system")},
                {"role": "user", "content": render("fidelity", "judge", title=title, change=change, diff=diff)}]
    verdict: FidelityVerdict = gateway.structured(messages, FidelityVerdict, role="review", stage=stage,
                                                  max_tokens=500, temperature=0.0)
    return verdict.settled()


def judge_run(gateway: Gateway, *, title: str, change: str, baseline: str, code: str,
              stage: str) -> FidelityVerdict:
    """``judge_diff`` on the diff between the baseline's experiment.py and the run's."""
    return judge_diff(gateway, title=title, change=change, diff=changes(baseline, code, limit=MAX_DIFF_LINES),
                      stage=stage)
