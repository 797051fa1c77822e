"""The writer never sees its judge: no path of the graph leads from the review back to the drafting
stage, the writer's code and prompts hold nothing of the reviewer's (its prompt, its form, its scores),
and the revision stage, the one place a review is answered, reads the reviews' points, not their
scores."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from scientist.graph import build_graph

PACKAGE = Path(__file__).resolve().parents[2] / "scientist"


def reachable(edges: list[tuple[str, str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for source, target in edges:
            if source == node and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_no_path_of_the_graph_leads_from_the_review_back_to_the_writer():
    graph = build_graph().compile().get_graph()
    edges = [(e.source, e.target) for e in graph.edges]
    assert ("checkpoint_paper", "review") in edges and ("review", "finish") in edges
    after_review = reachable(edges, "review")
    assert "writeup" not in after_review and "checkpoint_paper" not in after_review
    assert after_review == {"revise", "review", "finish", "__end__"}, "only the revision stage follows a review"


def test_the_revision_stage_reads_the_reviews_points_and_never_their_scores(tmp_path):
    from scientist.nodes.revise import reviewer_points
    from scientist.review.reviewer import meta_review
    from scientist.schemas import Review

    reviews = [Review(summary="s", strengths=["clear writing"], weaknesses=["only one seed", "Only one seed."],
                      questions=["why this step?"], limitations="l", ethical_concerns=False, soundness=2,
                      presentation=3, contribution=1, overall=3, confidence=4, decision="reject"),
               Review(summary="s", strengths=["simple"], weaknesses=["no baseline tuning"],
                      questions=["why this step?", "what of larger steps?"], limitations="l",
                      ethical_concerns=False, soundness=3, presentation=3, contribution=2, overall=4,
                      confidence=3, decision="reject")]
    for k, r in enumerate(reviews, start=1):
        (tmp_path / f"review_{k}.json").write_text(r.model_dump_json())
    (tmp_path / "meta_review.json").write_text(meta_review(reviews).model_dump_json())
    points = reviewer_points(tmp_path)
    assert points == ["only one seed", "no baseline tuning", "why this step?", "what of larger steps?"]
    prompts = yaml.safe_load((PACKAGE / "prompts" / "revise.yaml").read_text(encoding="utf-8"))
    text = "\n".join(str(v) for v in prompts.values())
    for score in ("overall", "soundness", "presentation", "contribution", "confidence", "decision"):
        assert "{{ " + score not in text and score not in text.lower(), score


def test_the_writer_imports_nothing_of_the_reviewer_and_its_prompts_name_no_review_variable():
    tree = ast.parse((PACKAGE / "nodes" / "writeup.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name.startswith(("scientist.review", "scientist.nodes.review")) for name in imported), imported
    prompts = yaml.safe_load((PACKAGE / "prompts" / "writeup.yaml").read_text(encoding="utf-8"))
    review = yaml.safe_load((PACKAGE / "prompts" / "review.yaml").read_text(encoding="utf-8"))
    text = "\n".join(str(v) for v in prompts.values())
    for name in ("form", "draft", "persona"):
        assert "{{ " + name + " }}" not in text, f"a writeup prompt takes the reviewer's {name}"
    for line in (line.strip() for v in review.values() for line in str(v).splitlines()):
        if len(line) > 30 and "{{" not in line:
            assert line not in text, f"a writeup prompt repeats the reviewer's prompt: {line!r}"
