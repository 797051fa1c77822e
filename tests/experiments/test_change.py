"""A planned run's change keeps the idea: its method words and values, and no setting it did not ask for."""

from __future__ import annotations

from pathlib import Path

from scientist.experiments.facts.change import drops_the_idea, method_words, unrequested_setting
from scientist.nodes.plan import runs_to_replan
from scientist.schemas import ExperimentPlan, PlannedRun

DIGITS = (Path(__file__).parents[2] / "templates" / "digits_mlp" / "experiment.py").read_text()
OPTIM = (Path(__file__).parents[2] / "templates" / "optim_landscapes" / "experiment.py").read_text()


def test_method_words_are_the_idea_s_words_the_code_does_not_have():
    words = method_words("Train with mixup (alpha = 0.2) on the training images", DIGITS)
    assert "mixup" in words and "training" not in words and "image" not in words


def test_a_change_that_drops_the_method_or_its_value_is_refused():
    idea = "Train with mixup (alpha = 0.2) on the training images"
    assert drops_the_idea("set ALPHA to 0.2 in the forward pass", idea, DIGITS).startswith(
        "the change does not state the idea's method (mixup)")
    assert drops_the_idea("Apply mixup to the training images", idea, DIGITS) == (
        "the change leaves out the idea's value (0.2)")
    assert drops_the_idea("Apply mixup with alpha 0.2 to each training batch", idea, DIGITS) is None
    polyak = "Average the iterates with Polyak averaging over the last half of the steps"
    assert drops_the_idea("set LEARNING_RATE to 1e-3 and set MOMENTUM to 0.999", polyak, OPTIM) is not None
    assert drops_the_idea("set EPOCHS to 10", "Train for 10 epochs instead of 40", DIGITS) is None


def test_a_setting_the_idea_did_not_ask_for_is_refused():
    dropout = "Add dropout with rate 0.2 to the hidden layer's activations during training"
    assert unrequested_setting("HIDDEN_SIZES", "(64, 32)", "Add dropout 0.2 after the first layer")
    assert not unrequested_setting("EPOCHS", "10", "Train for 10 epochs instead of 40")
    assert not unrequested_setting("LEARNING_RATE", "0.05", "Does a learning rate of 0.05 help?")
    plan = ExperimentPlan(idea="dropout", measure="test accuracy", runs=[
        PlannedRun(name="wider", change="Add dropout 0.2 to the hidden activations and set HIDDEN_SIZES to (128,)"),
        PlannedRun(name="dropout", change="Add dropout with rate 0.2 to the hidden activations in forward")])
    found = runs_to_replan(plan, DIGITS, dropout)
    assert found == {"wider": "the idea does not ask to change HIDDEN_SIZES: change only what it asks"}


def test_a_run_wrong_only_for_settings_the_idea_did_not_ask_for_is_used_without_them():
    from scientist.nodes.plan import usable_runs

    idea = "Does AdaGrad solve more starts than Adam at the same learning rate?"
    assert not unrequested_setting("OPTIMIZER", "'adagrad'", idea), "the value is the idea's method"
    plan = ExperimentPlan(idea="adagrad", measure="success", runs=[
        PlannedRun(name="extra", change="set OPTIMIZER to 'adagrad' and change TOLERANCE to 1e-4"),
        PlannedRun(name="only_extra", change="change TOLERANCE to 1e-4"),
        PlannedRun(name="same", change="set OPTIMIZER to 'adam' and change TOLERANCE to 1e-4")])
    assert runs_to_replan(plan, OPTIM, idea)["extra"] == (
        "the idea does not ask to change TOLERANCE: change only what it asks")
    assert [(r.name, r.change) for r in usable_runs(plan, OPTIM, idea)] == [("extra", "set OPTIMIZER to 'adagrad'")], \
        "nothing is left of the second, and the third's remaining clause is the baseline's own setting"
