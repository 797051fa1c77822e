"""Every shape a model is asked to produce, in one place.

Field descriptions are part of the JSON schema the model sees (and, with the local server,
is constrained by), so they are written for the model.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from scientist.analysis.preregistration import AnalysisPlan

Score = Field(ge=1, le=10)


class Idea(BaseModel):
    """One research idea that the template's experiment can test."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="snake_case slug, at most 40 characters")
    title: str = Field(min_length=5, max_length=160)
    hypothesis: str = Field(min_length=10, max_length=400, description="what is expected to change, and why")
    experiment_plan: str = Field(min_length=10, max_length=600,
                                 description="what to change in experiment.py and what to measure")
    expected_outcome: str = Field(max_length=300)
    risks: str = Field(max_length=300)
    interestingness: int = Score
    interestingness_why: str = Field(max_length=200, description="one line")
    feasibility: int = Score
    feasibility_why: str = Field(max_length=200, description="one line, against the template's time and CPU limits")
    novelty: int = Score
    novelty_why: str = Field(max_length=200, description="one line")


class NoveltyQueries(BaseModel):
    """Keyword queries for the literature search."""

    queries: list[str] = Field(min_length=1, max_length=3)


class ClosePaper(BaseModel):
    """A paper close to the idea, by its number in the list shown."""

    index: int = Field(ge=0)
    difference: str = Field(max_length=300, description="one line: how the idea differs from this paper")


class NoveltyDecision(BaseModel):
    """The model's reading of the papers found."""

    decision: Literal["novel", "not_novel", "undecided"]
    closest: list[ClosePaper] = Field(max_length=5)
    reasoning: str = Field(max_length=600)


class IdeaBatch(BaseModel):
    """Several ideas at once."""

    ideas: list[Idea] = Field(min_length=1, max_length=8)


class IdeaReflection(BaseModel):
    """A critique of one idea and its improved version."""

    critique: str = Field(max_length=600, description="what is weak, infeasible or vague in the idea")
    improved: Idea
    done: bool = Field(description="true when the idea cannot be improved further")


class PlannedRun(BaseModel):
    """One experiment run of an idea: what changes against the baseline."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="snake_case slug")
    change: str = Field(min_length=5, max_length=240,
                        description="one plain sentence naming what changes in experiment.py, in the idea's own "
                                    "terms; no code")


class ExperimentPlan(BaseModel):
    """The runs that test one idea (the baseline run_0 already exists)."""

    idea: str = Field(description="the idea's name")
    runs: list[PlannedRun] = Field(min_length=1, max_length=5)
    measure: str = Field(max_length=400, description="which metrics decide the question, compared with the baseline")
    # Not asked of the model (left out of its schema): the pre-registered analysis, set by code from the
    # template's metrics, shown and editable at the plan checkpoint, frozen when the plan is approved.
    analysis: SkipJsonSchema[AnalysisPlan | None] = None


class EditBlock(BaseModel):
    """Replace the lines from ``search`` through ``search_end`` (or just the ``search`` text) by ``replace``."""

    file: str = Field(description="the file to edit, e.g. experiment.py")
    search: str = Field(min_length=1, description="a line copied exactly from the current file")
    search_end: str | None = Field(None, description="the last line of the block to replace; null for one line")
    replace: str = Field(description="the new text for those lines")


def anchored_code_edit(code: str, files: tuple[str, ...] = ("experiment.py",)) -> type[BaseModel]:
    """A ``CodeEdit`` whose ``search`` and ``search_end`` may only be lines that occur once in ``code``.

    With a schema-constrained model (the local server) an edit can then never name text that is
    not in the file: a small model picks a line instead of retyping it.
    """
    counts: dict[str, int] = {}
    for line in code.splitlines():
        if line.strip():
            counts[line.rstrip()] = counts.get(line.rstrip(), 0) + 1
    lines = tuple(line for line, n in counts.items() if n == 1)
    line_type = Literal[lines]  # type: ignore[valid-type]
    anchored = create_model(
        "EditBlock", __base__=EditBlock,
        file=(Literal[files], Field(description="the file to edit")),  # type: ignore[valid-type]
        search=(line_type, Field(description="the first line to replace, copied from the file")),
        search_end=(line_type | None, Field(None, description="the last line to replace (null: only search)")))
    return create_model("CodeEdit", __base__=CodeEdit,
                        edits=(list[anchored], Field(min_length=1, max_length=8)))  # type: ignore[valid-type]


class CodeEdit(BaseModel):
    """A set of edits to the experiment's files."""

    reasoning: str = Field(max_length=600, description="two or three sentences: what the edit does")
    edits: list[EditBlock] = Field(min_length=1, max_length=8)


class PartChoice(BaseModel):
    """Which named parts of experiment.py a change needs rewritten (the code itself comes as plain text)."""

    reasoning: str = Field(max_length=500, description="one or two sentences: what changes and in which parts")
    parts: list[str] = Field(min_length=1, max_length=3, description="the parts to rewrite, from the list of parts")


def part_choice(names: list[str]) -> type[BaseModel]:
    """A ``PartChoice`` whose parts may only be among ``names`` (a schema enum)."""
    return create_model("PartChoice", __base__=PartChoice,
                        parts=(list[Literal[tuple(names)]],  # type: ignore[valid-type]
                               Field(min_length=1, max_length=3, description="the parts to rewrite")))


class SpotChoice(BaseModel):
    """Which line of one function a change goes at: the new lines take that line's place."""

    reasoning: str = Field(max_length=200, description="one short sentence: what the change computes there")
    line: str = Field(description="the line, from the list")


def spot_choice(labels: list[str]) -> type[BaseModel]:
    """A ``SpotChoice`` whose line may only be one of ``labels`` (a schema enum)."""
    return create_model("SpotChoice", __base__=SpotChoice,
                        line=(Literal[tuple(labels)], Field(description="the line")))  # type: ignore[valid-type]


class UnitRewrite(BaseModel):
    """The complete new text of one named part of experiment.py."""

    unit: str
    code: str


class CodeRewrite(BaseModel):
    """Rewrites of whole parts of experiment.py."""

    reasoning: str
    rewrites: list[UnitRewrite]


class PaperSections(BaseModel):
    """The text of a paper, section by section, in plain text with simple LaTeX math only."""

    title: str = Field(min_length=5, max_length=200)
    abstract: str = Field(min_length=50, max_length=1500)
    introduction: str = Field(max_length=2500)
    related_work: str = Field(max_length=2000)
    method: str = Field(max_length=2500)
    experimental_setup: str = Field(max_length=2000)
    results: str = Field(max_length=2500)
    discussion: str = Field(max_length=2000, description="discussion and limitations")
    conclusion: str = Field(max_length=1000)


SectionName = Literal["abstract", "introduction", "related_work", "method", "experimental_setup", "results",
                      "discussion", "conclusion"]


class PointResponse(BaseModel):
    """The authors' answer to one point a reviewer raised."""

    point: int = Field(ge=1, le=20, description="the number of the reviewer's point")
    action: Literal["revise", "needs_experiments", "disagree"] = Field(
        description="revise: the text can answer it (clarify, correct, add a limitation); needs_experiments: only "
                    "new runs could answer it, and a revision of the text must not pretend otherwise; disagree: "
                    "the paper already answers it or the point is mistaken")
    sections: list[SectionName] = Field(max_length=3, description="the sections the revision rewrites; [] unless "
                                                                  "action is revise")
    response: str = Field(min_length=10, max_length=400,
                          description="what the revision does about the point, or why it cannot or should not, "
                                      "in the authors' words (not the point said again)")


class RevisionPlan(BaseModel):
    """The response to the reviewers, point by point, before any section is rewritten."""

    responses: list[PointResponse] = Field(min_length=1, max_length=13)


Point = Annotated[str, Field(min_length=3, max_length=240)]


class Review(BaseModel):
    """A conference review (NeurIPS-style form)."""

    summary: str = Field(max_length=700)
    strengths: list[Point] = Field(min_length=1, max_length=4)
    weaknesses: list[Point] = Field(min_length=1, max_length=5)
    questions: list[Point] = Field(max_length=3)
    limitations: str = Field(max_length=400)
    ethical_concerns: bool
    soundness: int = Field(ge=1, le=4)
    presentation: int = Field(ge=1, le=4)
    contribution: int = Field(ge=1, le=4)
    overall: int = Field(ge=1, le=10)
    confidence: int = Field(ge=1, le=5)
    decision: Literal["accept", "reject"]
    # Not asked of the model (left out of its schema): the probability-weighted scores read from the
    # reply's token probabilities, when the server reports them (scientist/llm/scores.py).
    expected: SkipJsonSchema[dict[str, float] | None] = None


class FidelityVerdict(BaseModel):
    """Whether a run's code change does what the run was asked to change."""

    asked: str = Field(max_length=300, description="what the change asks the code to compute, in one line")
    done: str = Field(max_length=300, description="what the diff actually computes differently, in one line")
    differences: list[Annotated[str, Field(max_length=200)]] = Field(
        max_length=4, description="each thing the change asks for that the diff does not do, or does differently "
                                  "(another formula, another place, a setting instead of new code); [] if none")
    verdict: Literal["faithful", "partial", "not"] = Field(
        description="faithful: the diff does what is asked; partial: it does part of it or a variant; "
                    "not: it computes something else")

    @property
    def missing(self) -> str:
        return "; ".join(self.differences) or "nothing"

    def settled(self) -> FidelityVerdict:
        """The verdict made consistent with the differences listed: 'faithful' with differences is
        'partial', and a verdict other than 'faithful' with none listed is 'faithful' (a small model
        often lists what is missing and still answers 'faithful')."""
        if self.differences and self.verdict == "faithful":
            return self.model_copy(update={"verdict": "partial"})
        if not self.differences and self.verdict != "faithful":
            return self.model_copy(update={"verdict": "faithful"})
        return self
