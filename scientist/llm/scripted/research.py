"""A scripted research model: answers each structured request by the schema it asks for.

Deterministic whatever order the graph's parallel branches call it in. Hooks let a test
watch requests (to kill a process at a chosen moment) or change answers.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from scientist.llm.scripted.server import Step


def idea(name: str) -> dict[str, Any]:
    return {"name": name, "title": f"Study of {name.replace('_', ' ')}", "hypothesis": "A larger step raises the mean.",
            "experiment_plan": "Change STEP in experiment.py and compare mean_value.", "expected_outcome": "higher mean",
            "risks": "none", "interestingness": 5, "interestingness_why": "simple", "feasibility": 9,
            "feasibility_why": "seconds", "novelty": 3, "novelty_why": "known"}


PAPER = {
    "title": "Step Size and the Mean of a Toy Sequence",
    "abstract": "We study how the step of a toy arithmetic sequence changes its mean value. Doubling the step "
                "doubles the mean: the baseline mean_value is 2.25 and the doubled step gives 4.5.",
    "introduction": "Toy sequences are a simple test bed.", "related_work": "None that we know of.",
    "method": "We change STEP in experiment.py.", "experimental_setup": "Ten values, one seed.",
    "results": "The baseline has mean_value 2.25; run_1 reaches 4.5 (100% higher) & max 9.",
    "discussion": "The effect is linear, as expected; the study is tiny.", "conclusion": "Step scales the mean.",
}
REVISED_DISCUSSION = "The effect is linear, as expected. This is a toy study of one sequence, not a benchmark."
REVIEW = {"summary": "A toy study.", "strengths": ["clear"], "weaknesses": ["trivial"], "questions": ["why?"],
          "limitations": "toy", "ethical_concerns": False, "soundness": 3, "presentation": 3, "contribution": 1,
          "overall": 3, "confidence": 4, "decision": "reject"}

# Answers that do not depend on the request.
FIXED: dict[str, dict[str, Any]] = {
    "PartChoice": {"reasoning": "change the step", "parts": ["constants"]},
    "NoveltyQueries": {"queries": ["toy sequence step size mean"]},
    "NoveltyDecision": {"decision": "novel", "closest": [{"index": 0, "difference": "it does not vary the step"}],
                        "reasoning": "no paper varies the step of this toy sequence"},
    "PaperSections": PAPER,
    "Review": REVIEW,
    "RevisionPlan": {"responses": [
        {"point": 1, "action": "revise", "sections": ["discussion"],
         "response": "The discussion now says plainly that the study is a toy one."},
        {"point": 2, "action": "needs_experiments", "sections": [],
         "response": "Answering why would need runs with other steps, which this revision cannot add."}]},
    "FidelityVerdict": {"asked": "a new STEP", "done": "sets STEP", "differences": [], "verdict": "faithful"},
}


class ResearchModel:
    """Callable responder for ``FakeOpenAI(responder=...)``."""

    def __init__(self, ideas: tuple[str, ...] = ("bigger_step",), runs: int = 1) -> None:
        self.ideas = ideas
        self.runs = runs
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.on_request: Callable[[str, dict[str, Any]], None] | None = None
        self.overrides: dict[str, Callable[[dict[str, Any]], dict[str, Any] | Step]] = {}

    def __call__(self, body: dict[str, Any]) -> Step:
        schema = (body.get("response_format") or {}).get("json_schema", {}).get("name", "text")
        with self.lock:
            self.calls[schema] += 1
        if self.on_request is not None:
            self.on_request(schema, body)
        if schema in self.overrides:
            answer = self.overrides[schema](body)
            if isinstance(answer, Step):
                return answer
        else:
            answer = self.answer(schema, body)
        if isinstance(answer, str):
            return Step(answer, prompt_tokens=100, completion_tokens=50)
        return Step(json.dumps(answer), prompt_tokens=100, completion_tokens=50)

    def answer(self, schema: str, body: dict[str, Any]) -> dict[str, Any] | str:
        last = body["messages"][-1]["content"]
        if schema == "text" and "Write the complete new text of constants" in last:
            value = "2.0" if "set STEP to 2.0" in last else "1.0"
            return f"```python\nSTEP = {value}  # the value the scripted model edits\n```"
        if schema == "text" and "standalone numpy" in last:
            return "```python\nimport numpy as np\nstep = 2.0 * step\n```"
        if schema == "IdeaBatch":
            return {"ideas": [idea(n) for n in self.ideas]}
        if schema == "IdeaReflection":
            name = next((n for n in self.ideas if f'"{n}"' in last), self.ideas[0])
            return {"critique": "fine", "improved": idea(name), "done": True}
        if schema == "ExperimentPlan":
            return {"idea": "x", "runs": [{"name": f"step_{k}", "change": f"set STEP to {k}.0"}
                                          for k in range(1, self.runs + 1)], "measure": "mean_value"}
        if schema == "CodeEdit":
            value = "2.0" if "set STEP to 2.0" in last else "1.0"
            return {"reasoning": "change the step", "edits": [
                {"file": "experiment.py", "search": "STEP = 0.5  # the value the scripted model edits",
                 "replace": f"STEP = {value}  # the value the scripted model edits"}]}
        if schema == "PaperSections" and "Now rewrite these sections" in last:
            return {**PAPER, "discussion": REVISED_DISCUSSION}
        if schema in FIXED:
            return FIXED[schema]
        raise AssertionError(f"unexpected request for {schema}")
