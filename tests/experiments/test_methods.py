"""Method cards: the textbook form of a method a run's change names, shown to the coding model."""

from __future__ import annotations

import ast
import builtins
import copy

import numpy as np

from scientist.experiments.methods import MAX_CARDS, cards, cards_for, method_notes


def test_every_card_is_valid_numpy_shaped_python():
    assert len(cards()) >= 15
    for card in cards():
        ast.parse(card.how), card.name  # each card's lines parse as Python
        assert card.match and all(phrase.strip() for phrase in card.match)


def test_a_card_calls_only_numpy_builtins_and_functions_the_templates_have():
    # A made-up helper in a card is copied as a call or an import of a module that does not exist: the
    # 1.5B model imported the label-smoothing card's one_hot from a module "epsilon_smoothing".
    allowed = set(dir(builtins)) | {"grad", "f", "optimise"}
    for card in cards():
        for node in ast.walk(ast.parse(card.how)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id in allowed, (card.name, node.func.id)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in {"np", "copy"}:
                module = np if node.value.id == "np" else copy
                assert hasattr(module, node.attr) or hasattr(np.random, node.attr), (card.name, node.attr)


def test_a_card_gives_its_parameters_their_usual_values_so_it_runs_as_it_is():
    from scientist.experiments.methods import free_names

    smoothing = next(card for card in cards() if card.name == "label smoothing")
    assert free_names(smoothing) == ["y"], "eps and num_classes are set in the card; only the labels come from the code"
    scope = {"np": np, "y": np.array([0, 2, 1])}
    exec(smoothing.how, scope)  # noqa: S102 - the card's own lines
    assert scope["targets"].shape == (3, 3) and np.allclose(scope["targets"].sum(axis=1), 1.0)
    cosine = next(card for card in cards() if card.name == "cosine learning-rate decay")
    assert free_names(cosine) == ["lr", "total_steps", "t"]


def test_the_cards_are_those_the_change_names_in_its_order():
    # The bench's planned changes (bench-runs v26-v33).
    assert [c.name for c in cards_for("Implement label smoothing by mixing the one-hot training targets with the "
                                      "uniform distribution (epsilon = 0.05)")] == ["label smoothing"]
    assert [c.name for c in cards_for("Implement gradient descent with a diagonal preconditioner estimated from "
                                      "running squared gradients without momentum (RMSProp)")] == ["RMSProp"]
    assert [c.name for c in cards_for("Add Gaussian noise with variance 0.01/(1+t)^0.55 to each gradient")] == \
        ["annealed gradient noise"], "'...' spans a few words, decimals included"
    assert [c.name for c in cards_for("Split the step budget into k = 4 runs restarted from the best point")] == \
        ["restarts"]
    assert [c.name for c in cards_for("Add dropout (p = 0.2) and a cosine decay")] == [
        "dropout", "cosine learning-rate decay"], "in the order the change names them"
    assert len(cards_for("mixup, dropout, label smoothing and RMSProp")) == MAX_CARDS


def test_a_change_naming_no_known_method_gets_no_card():
    assert cards_for("set HIDDEN_SIZES to (32, 32)") == []
    assert method_notes("Set RIDGE to 1e-9") == ""
    assert cards_for("Add noise. Then apply it to each gradient") == [], "'...' stays within one sentence"
    assert cards_for("use a restartable generator") == [], "whole words only"


def test_the_notes_give_each_card_s_name_and_lines():
    notes = method_notes("Implement label smoothing (epsilon = 0.1)")
    assert notes.startswith("# label smoothing\neps = 0.1")
    assert "one_hot = np.eye(num_classes)[y]" in notes
    assert "targets = (1 - eps) * one_hot + eps / num_classes" in notes
    assert "not random numbers" in notes
