"""A method card in the code's own names: by name where the code has one, else one schema-constrained
call whose answers are checked against the code."""

from __future__ import annotations

import json
from pathlib import Path

from scientist.experiments.card_binding import bind, known_names, numeric, same_word, usable
from scientist.experiments.methods import cards
from tests.fakes.openai_server import Step

TEMPLATES = Path(__file__).parents[2] / "templates"
OPTIM = (TEMPLATES / "optim_landscapes" / "experiment.py").read_text()
LORENZ = (TEMPLATES / "lorenz_esn" / "experiment.py").read_text()


def card(name: str):
    return next(c for c in cards() if c.name == name)


def test_the_names_an_expression_may_read_are_the_module_s_and_the_part_s_own():
    known = known_names(OPTIM, "def optimise")
    assert {"LEARNING_RATE", "STEPS", "np", "rosen", "optimise", "steps", "t", "x", "g", "velocity"} <= known
    assert "solved" not in known and "name" not in known, "main's locals are not optimise's"


def test_an_answer_is_usable_only_when_it_reads_what_exists_there_and_calls_only_numpy():
    known = known_names(OPTIM, "def optimise")
    assert usable("0.01 * LEARNING_RATE", known) and usable("steps", known) and usable("np.sqrt(STEPS)", known)
    assert not usable("lr_min", known), "a name the part does not have"
    assert not usable("schedule(t)", known), "a call of something that is not numpy"
    assert not usable("LEARNING_RATE *", known) and not usable("", known) and not usable("1" * 61, known)
    assert numeric("0.5 * LEARNING_RATE", {"LEARNING_RATE": 0.01}) and numeric("steps", {})
    assert not numeric("BETAS", {"BETAS": (0.9, 0.999)}), "RMSProp's decay rate given as Adam's tuple"


def test_a_placeholder_the_code_has_by_name_last_word_or_initials_needs_no_call():
    known = known_names(OPTIM, "def optimise")
    own = known - known_names(OPTIM, "")
    assert same_word("total_steps", known, own) == "steps", "the part's own name before STEPS"
    assert same_word("total_steps", known_names(OPTIM, "def step_budget"), set()) == "STEPS"
    assert same_word("lr", known, own) == "LEARNING_RATE"
    assert same_word("sigma", known, own) is None


def test_the_card_is_shown_in_the_code_s_names(make_gateway, fake_llm):
    gateway, ledger = make_gateway()
    bound = bind(gateway, card("cosine learning-rate decay"), OPTIM, "def optimise", "Add a cosine decay", "s")
    assert "lr_t = LEARNING_RATE * (final_fraction + (1 - final_fraction) * 0.5 * (1 + np.cos(np.pi * t / steps)))" \
        in bound.how
    assert "# lr_t goes from lr at t = 0" in bound.how, "comments are left alone"
    assert fake_llm.requests == [], "every placeholder is a name optimise has: no call"
    fake_llm.push(Step(json.dumps({"x": "states"})))
    features = bind(gateway, card("polynomial features"), LORENZ, "def readout_features", "Use squared states", "s")
    assert features.how.startswith("features = np.concatenate([states, states**2], axis=-1)")
    schema = fake_llm.requests[-1]["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["x"] and "def readout_features(states):" in fake_llm.requests[-1]["messages"][0]["content"]


def test_answers_that_are_numbers_unknown_names_or_shared_are_dropped(make_gateway, fake_llm):
    gateway, _ = make_gateway()
    fake_llm.push(Step(json.dumps({"X": "states", "Y": "states"})))
    ridge = bind(gateway, card("ridge regression"), LORENZ, "def readout_features", "Use ridge regression", "s")
    assert "X.T @ X" in ridge.how and "X.T @ Y" in ridge.how, "one answer for two placeholders: neither is kept"
    fake_llm.push(Step(json.dumps({"x": "0.5"})))
    assert bind(gateway, card("polynomial features"), LORENZ, "def readout_features", "c", "s") == \
        card("polynomial features"), "a bare number is a guess"


def test_a_reply_that_never_fits_the_schema_leaves_the_card_as_it_was(make_gateway, fake_llm):
    fake_llm.push(Step("not json"), Step("still not json"), Step("no"))
    gateway, _ = make_gateway(max_reasks=1)
    features = card("polynomial features")
    assert bind(gateway, features, LORENZ, "def readout_features", "Use squared states", "s") == features
    assert bind(gateway, features, LORENZ, "constants", "Use squared states", "s") == features, "not a function"
