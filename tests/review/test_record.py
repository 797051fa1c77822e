"""A review states how far its reviewer can be trusted; a reviewer whose interval reaches chance is labelled."""

from __future__ import annotations

from scientist.review.record import UNCALIBRATED, ReviewerRecord, record_for, save_record, trust_line
from scientist.review.reviewer import meta_review, review_markdown, with_record
from scientist.schemas import Review


def record(model: str, low: float) -> ReviewerRecord:
    return ReviewerRecord(model=model, balanced_accuracy=0.7, balanced_accuracy_low=low, balanced_accuracy_high=0.9,
                          auc=0.75, auc_low=0.6, auc_high=0.9, papers=60, measured_on="2026-12-06")


def test_a_reviewer_whose_interval_includes_chance_is_uncalibrated(tmp_path):
    save_record(record("openai/judge", 0.48), tmp_path)
    line = trust_line("openai/judge", tmp_path)
    assert UNCALIBRATED in line and "0.70 (95% CI 0.48-0.90)" in line and "60 papers" in line


def test_a_reviewer_with_no_record_is_uncalibrated_and_one_above_chance_is_not(tmp_path):
    assert UNCALIBRATED in trust_line("openai/never-measured", tmp_path)
    save_record(record("openai/good", 0.55), tmp_path)
    assert "calibrated: its interval excludes chance" in trust_line("openai/good", tmp_path)
    assert record_for("openai/good", tmp_path).calibrated


def test_the_embedded_model_ships_its_record_and_is_labelled_uncalibrated(tmp_path):
    shipped = record_for("local", tmp_path)
    assert shipped is not None and shipped.papers == 60 and not shipped.calibrated


def test_review_md_states_the_record(tmp_path):
    review = Review(summary="s", strengths=["clear"], weaknesses=["thin", "Thin."], questions=[], limitations="l",
                    ethical_concerns=False, soundness=2, presentation=3, contribution=2, overall=5, confidence=3,
                    decision="reject")
    meta = with_record(meta_review([review]), "local", tmp_path)
    text = review_markdown([review], meta)
    assert text.splitlines()[2].startswith("Reviewer: local; last measured balanced accuracy 0.50")
    assert UNCALIBRATED in text and not meta.calibrated
    assert text.count("- thin") + text.count("- Thin.") == 1, "a repeated weakness is said once"
