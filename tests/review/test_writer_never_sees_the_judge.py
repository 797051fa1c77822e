"""The writer never sees its judge: no path of the graph leads from the review back to the writer, and
the writer's code and prompts hold nothing of the reviewer's (its prompt, its form, its scores)."""

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
    assert after_review == {"finish", "__end__"}


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
