"""Strict edits: all or nothing, never a silent partial apply."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scientist.experiments.facts.edits import EditNotApplied, NoEffectiveChange, apply_edits, syntax_error
from scientist.schemas import EditBlock, anchored_code_edit

CODE = "import os\n\nLR = 0.1  # step\n\ndef train():\n    x = 1\n    return x\n\nprint(train())\n"
FILES = {"experiment.py": CODE}
OK = {"experiment.py"}


def edit(search: str, replace: str, search_end: str | None = None, file: str = "experiment.py") -> EditBlock:
    return EditBlock(file=file, search=search, search_end=search_end, replace=replace)


def test_exact_edit_applies():
    new = apply_edits(FILES, [edit("LR = 0.1  # step", "LR = 0.3")], OK)["experiment.py"]
    assert "LR = 0.3\n" in new and "0.1" not in new


def test_trailing_spaces_are_forgiven_but_nothing_else():
    assert "y = 2" in apply_edits(FILES, [edit("    x = 1   ", "    y = 2")], OK)["experiment.py"]
    with pytest.raises(EditNotApplied, match="not found"):
        apply_edits(FILES, [edit("x = 1", "y = 2"), edit("LR = 0.9", "LR = 1")], OK)


def test_a_failing_edit_applies_nothing():
    files = dict(FILES)
    with pytest.raises(EditNotApplied):
        apply_edits(files, [edit("LR = 0.1  # step", "LR = 0.3"), edit("missing line", "x")], OK)
    assert files == FILES


def test_ambiguous_and_forbidden_edits():
    with pytest.raises(EditNotApplied, match="more than once"):
        apply_edits({"experiment.py": "a = 1\na = 1\n"}, [edit("a = 1", "a = 2")], OK)
    for name in ("../run.py", "/etc/passwd", "plot.py"):
        with pytest.raises(EditNotApplied, match="not an editable file"):
            apply_edits(FILES, [edit("LR = 0.1  # step", "LR = 1", file=name)], OK)


def test_no_effective_change_is_refused():
    with pytest.raises(NoEffectiveChange):
        apply_edits(FILES, [edit("LR = 0.1  # step", "LR = 0.1  # step")], OK)


def test_line_range_edit_with_reindentation():
    new = apply_edits(FILES, [edit("    x = 1", "x = 5\ny = x * 2\nreturn y", search_end="    return x")], OK)
    assert "    x = 5\n    y = x * 2\n    return y\n" in new["experiment.py"]
    assert syntax_error(new["experiment.py"], "experiment.py") is None


def test_syntax_errors_are_reported_with_the_line():
    assert syntax_error("def f(:\n  pass\n", "experiment.py").startswith("experiment.py:1:")


def test_anchored_schema_only_accepts_lines_of_the_file():
    model = anchored_code_edit(CODE)
    good = {"reasoning": "r", "edits": [{"file": "experiment.py", "search": "LR = 0.1  # step", "replace": "LR=1"}]}
    assert model.model_validate(good).edits[0].search == "LR = 0.1  # step"
    bad = {"reasoning": "r", "edits": [{"file": "experiment.py", "search": "LR = 0.2", "replace": "LR=1"}]}
    with pytest.raises(ValidationError):
        model.model_validate(bad)
    enum = model.model_json_schema()["$defs"]["EditBlock"]["properties"]["search"]["enum"]
    assert "import os" in enum and "" not in enum


def test_edits_are_anchored_in_the_file_as_the_model_saw_it():
    edits = [edit("LR = 0.1  # step", "LR = 0.3  # step\nEXTRA = 1"), edit("    x = 1", "    x = LR")]
    new = apply_edits(FILES, edits, OK)["experiment.py"]
    assert "LR = 0.3  # step\nEXTRA = 1\n" in new and "    x = LR\n" in new


def test_overlapping_edits_are_refused():
    with pytest.raises(EditNotApplied, match="overlapping"):
        apply_edits(FILES, [edit("    x = 1", "    x = 2", search_end="    return x"), edit("    return x", "")], OK)
