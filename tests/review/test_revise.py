"""The revision stage's own rules: one answer per point, none that only repeats its point, and no
rewrite kept that loses the section or pastes a reviewer's point into the paper."""

from __future__ import annotations

from scientist.nodes.revise import changes_diff, refused_rewrite, response_markdown, settled
from scientist.schemas import PaperSections, PointResponse

POINTS = ["The authors do not provide a comparison with a larger dataset or a more complex model",
          "What is the significance of the digits dataset in the context of MLPs?",
          "Only three seeds are used"]


def answer(point: int, action: str, text: str, sections: list[str] | None = None) -> PointResponse:
    return PointResponse(point=point, action=action, sections=sections or [], response=text)


def test_an_answer_that_says_the_point_back_is_no_answer_and_each_point_is_answered_once():
    responses = [answer(1, "revise", POINTS[0] + ". The study concludes it may not matter.", ["results"]),  # quoted
                 answer(2, "revise", "The setup now says why digits: it trains in seconds on a CPU.",
                        ["experimental_setup", "experimental_setup"]),
                 answer(2, "disagree", "A second answer to the same point."),
                 answer(7, "revise", "A point that does not exist.", ["method"]),
                 answer(3, "needs_experiments", "More seeds need new runs, which a revision cannot add.",
                        ["discussion"])]
    kept = settled(responses, POINTS)
    assert [(r.point, r.action, r.sections) for r in kept] == [
        (2, "revise", ["experimental_setup"]), (3, "needs_experiments", [])]


def test_a_rewrite_that_loses_the_section_or_pastes_a_point_is_not_kept():
    before = "We train a small MLP on the digits dataset with three seeds. " * 4
    assert refused_rewrite(before, before + " Digits trains in seconds on a CPU.", POINTS) is None
    assert "characters" in refused_rewrite(before, "Digits is small.", POINTS)
    pasted = before + " " + POINTS[0] + "."
    assert "pastes a reviewer's point" in refused_rewrite(before, pasted, POINTS)
    assert refused_rewrite(before, before + " Only three seeds are used, as stated.", ["Only three seeds"]) is None, \
        "a short point's words may be said in an answer"


def test_the_response_says_what_was_answered_rewritten_and_refused():
    kept = [answer(2, "revise", "The setup now says why digits: it trains in seconds on a CPU.",
                   ["experimental_setup"])]
    text = response_markdown(1, POINTS, kept, {"changed": ["experimental_setup"],
                                              "refused": {"results": "it kept 10 of the section's 300 characters"}},
                             True, "reviews")
    assert "1. **The authors do not provide" in text and "not answered" in text
    assert "revise (experimental_setup): The setup now says why digits" in text
    assert "The rewrite of results was not kept: it kept 10 of the section's 300 characters." in text
    assert "not their scores" in text and "clean." in text


def test_the_changes_are_a_diff_of_sentences():
    paper = {name: "Text." for name in PaperSections.model_fields} | {"title": "A title", "abstract": "x" * 60}
    before = PaperSections(**paper)
    after = before.model_copy(update={"results": "Text. A new sentence."})
    diff = changes_diff(before, after, ["results"], "revisions/1")
    assert "+A new sentence." in diff and "-Text." not in diff and "results (revisions/1)" in diff
