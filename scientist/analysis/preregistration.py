"""The analysis an idea's plan commits to before any run: the primary metric and its direction, the
seeds, the test, the significance level and the smallest effect that counts.

It is part of the plan (shown and editable at the plan checkpoint), frozen when the plan is approved,
and every later departure from it is a recorded deviation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Direction = Literal["max", "min", "unknown"]
Test = Literal["paired_t", "permutation", "welch_t"]


class AnalysisPlan(BaseModel):
    """How the runs of one idea will be judged against its baseline."""

    model_config = ConfigDict(extra="forbid")

    primary_metric: str | None = Field(None, description="the metric that decides the question; None: the "
                                                          "first metric the baseline reports")
    direction: Direction = Field("unknown", description="max: higher is better; min: lower is better")
    secondary_metrics: list[str] = Field(default_factory=list)
    setting: str | None = Field(None, description="the dataset or setting to compare on; None: every one")
    seeds: int | None = Field(None, ge=2, description="seeds each run must report; None: as the template runs")
    comparison: Literal["each_run_vs_baseline"] = "each_run_vs_baseline"
    test: Test = Field("paired_t", description="paired_t (seeds paired), permutation (exact sign-flip, paired), "
                                               "welch_t (unpaired)")
    alpha: float = Field(0.05, gt=0, lt=1)
    correction: Literal["holm", "none"] = "holm"
    min_effect: float = Field(0.0, ge=0, description="the smallest absolute difference of the primary metric "
                                                     "that counts as an effect")

    @model_validator(mode="after")
    def _secondary_excludes_primary(self) -> AnalysisPlan:
        self.secondary_metrics = [m for m in dict.fromkeys(self.secondary_metrics) if m != self.primary_metric]
        return self

    def check_metrics(self, known: list[str]) -> str | None:
        """What is wrong with the metric names given the template's metrics (None when fine or unknown)."""
        if not known:
            return None
        for name in [self.primary_metric, *self.secondary_metrics]:
            if name is not None and name not in known:
                return f"'{name}' is not a metric of the template (its metrics: {', '.join(known)})"
        return None


def default_analysis(metrics: list[tuple[str, Direction]]) -> AnalysisPlan:
    """The default pre-registration from the template's metrics: the first metric with a known direction
    (else the first) is primary, the others secondary; paired t-test, alpha 0.05, Holm correction."""
    if not metrics:
        return AnalysisPlan()
    primary = next(((n, d) for n, d in metrics if d != "unknown"), metrics[0])
    return AnalysisPlan(primary_metric=primary[0], direction=primary[1],
                        secondary_metrics=[n for n, _ in metrics if n != primary[0]])


def deviations(frozen: AnalysisPlan | None, used: AnalysisPlan) -> list[str]:
    """Each way the analysis used departs from the one frozen at approval, in words."""
    if frozen is None or frozen == used:
        return []
    found = []
    for field in AnalysisPlan.model_fields:
        before, after = getattr(frozen, field), getattr(used, field)
        if before != after:
            found.append(f"{field} changed after approval from {before!r} to {after!r}")
    return found
