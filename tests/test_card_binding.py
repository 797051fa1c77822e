"""A method card in the code's own names: one schema-constrained call, answers checked against the code."""

from __future__ import annotations

import json
from pathlib import Path

from scientist.card_binding import bind, known_names, usable
from scientist.methods import cards
from tests.fakes.openai_server import Step

OPTIM = (Path(__file__).parents[1] / "templates" / "optim_landscapes" / "experiment.py").read_text()
COSINE = next(card for card in cards() if card.name == "cosine learning-rate decay")


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


def test_the_card_is_shown_in_the_code_s_names_where_the_answers_are_usable(make_gateway, fake_llm):
    answer = {"lr_min": "0.01 * LEARNING_RATE", "lr": "LEARNING_RATE", "total_steps": "steps", "t": "lr_t"}
    fake_llm.push(Step(json.dumps(answer)))
    gateway, ledger = make_gateway()
    bound = bind(gateway, COSINE, OPTIM, "def optimise", "Add a cosine decay", "experiments/cosine/run_1/card")
    assert bound.how.startswith("lr_t = (0.01 * LEARNING_RATE) + 0.5 * (LEARNING_RATE - (0.01 * LEARNING_RATE)) "
                                "* (1 + np.cos(np.pi * t / steps))"), "t stays: lr_t is not optimise's"
    assert "# t = 0 .. total_steps" in bound.how, "comments are left alone"
    request = fake_llm.requests[-1]
    schema = request["response_format"]["json_schema"]["schema"]
    assert sorted(schema["required"]) == ["lr", "lr_min", "t", "total_steps"]
    assert "def optimise(f, grad, x0, steps=STEPS):" in request["messages"][0]["content"]


def test_a_reply_that_never_fits_the_schema_leaves_the_card_as_it_was(make_gateway, fake_llm):
    fake_llm.push(Step("not json"), Step("still not json"), Step("no"))
    gateway, _ = make_gateway(max_reasks=1)
    assert bind(gateway, COSINE, OPTIM, "def optimise", "Add a cosine decay", "s") == COSINE
    assert bind(gateway, COSINE, OPTIM, "constants", "Add a cosine decay", "s") == COSINE, "not a function: no call"
