"""A method card in the code's own names, before the coding model sees it.

A card's free names (``methods.free_names``) stand for the code's own values (``lr``, ``x``,
``total_steps``); the 1.5B model copied them as they were, so its cosine decay read names nothing
defined, two attempts running (v34). A placeholder the part the change goes in already has stays;
one that is a name of the code but for case, its last word or its initials is taken by name
(``same_word``); only the rest are asked of the model, in one short schema-constrained call for the
expression that plays each one's role there. An answer is kept only when it parses, reads at least
one name and only names that exist there (a module name, or a parameter or local of that part),
calls nothing but numpy, and is a number when it reads only module constants. Others stay
placeholders. A model that fails the schema leaves the card as it was."""

from __future__ import annotations

import ast
import logging

from pydantic import BaseModel, Field, create_model

from scientist.errors import LLMOutputInvalid
from scientist.experiments.checks.names import module_constants, names_local_to
from scientist.experiments.facts.units import unit_text
from scientist.experiments.methods import MethodCard, free_names, with_names
from scientist.llm.gateway import Gateway
from scientist.prompts import render

log = logging.getLogger(__name__)

MAX_EXPRESSION = 60
# An expression without spaces: under schema-constrained decoding the 1.5B model cannot answer in
# words ("a constant value that represents the minimum learning rate", as it did without it).
EXPRESSION = r"^[A-Za-z0-9_.*/+()\-]+$"


def known_names(code: str, part: str) -> set[str]:
    """The names an expression in ``part`` may read: the module's top-level names and, for a
    function, its parameters and locals."""
    tree = ast.parse(code)
    known = {"np"}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            known.add(node.name)
            if f"def {node.name}" == part and isinstance(node, ast.FunctionDef):
                known |= names_local_to(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            known |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign):
            known |= {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return known


def usable(expression: str, known: set[str]) -> bool:
    """Whether ``expression`` can stand for a placeholder in that part: one short expression whose
    names all exist there, calling numpy or ``len`` only."""
    if not expression or len(expression) > MAX_EXPRESSION:
        return False
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in known:
            return False
        if isinstance(node, ast.Call) and not (
                (isinstance(node.func, ast.Name) and node.func.id == "len")
                or (isinstance(node.func, ast.Attribute) and ast.unparse(node.func).startswith("np."))):
            return False
    return True


def initials(name: str) -> str:
    """'lr' for LEARNING_RATE; '' for a one-word name."""
    words = [w for w in name.lower().split("_") if w]
    return "".join(w[0] for w in words) if len(words) > 1 else ""


def same_word(placeholder: str, known: set[str], own: set[str]) -> str | None:
    """The one name of the code that is the placeholder, its last word or its initials but for case
    (``total_steps`` is ``steps`` in ``optimise``, ``STEPS`` elsewhere; ``lr`` is ``LEARNING_RATE``):
    the part's own name first; ``None`` when there is none or several. The 1.5B model gave
    ``n_restarts`` for ``total_steps`` in ``step_budget``, and ``lr_t`` for ``lr``."""
    words = {placeholder.lower(), placeholder.split("_")[-1].lower()}
    found = sorted(name for name in known if name.lower() in words or initials(name) == placeholder.lower())
    local = [name for name in found if name in own]
    chosen = local or found
    return chosen[0] if len(chosen) == 1 else None


def reads_a_name(expression: str) -> bool:
    """Whether ``expression`` reads one of the code's names: a bare number is the model's guess at a
    value, and a card's parameters already carry their usual values (the model gave 1.0 for a cosine
    decay's final fraction, a schedule that changes nothing)."""
    return any(isinstance(n, ast.Name) for n in ast.walk(ast.parse(expression, mode="eval")))


def numeric(expression: str, constants: dict[str, object]) -> bool:
    """False when ``expression`` reads only module constants and numbers and is not a number (the
    1.5B model gave ``BETAS``, a tuple, for RMSProp's decay rate); True otherwise."""
    tree = ast.parse(expression, mode="eval")
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if not names <= set(constants) or any(isinstance(n, ast.Call) for n in ast.walk(tree)):
        return True
    try:
        value = eval(compile(tree, "<card>", "eval"), {"__builtins__": {}}, dict(constants))  # noqa: S307 - names and numbers only, checked above
    except Exception:  # noqa: BLE001 - an expression that fails on the constants' values is no number
        return False
    return isinstance(value, int | float) and not isinstance(value, bool)


def bind(gateway: Gateway, card: MethodCard, code: str, part: str, change: str, stage: str) -> MethodCard:
    """``card`` with each placeholder the model maps to a usable expression of ``part`` replaced.
    Placeholders the part already has (``x``, ``g``, ``t`` in ``optimise``) are not asked about (the
    model mapped ``g`` to the gradient function); an answer two placeholders share is dropped for
    both (``lr_min`` and ``lr`` both became ``LEARNING_RATE``, a schedule that changes nothing)."""
    if not part.startswith("def "):
        return card
    known = known_names(code, part)
    own = known - known_names(code, "")
    named = {name: found for name in free_names(card) if name not in known
             and (found := same_word(name, known, own)) is not None}
    placeholders = [name for name in free_names(card) if name not in known and name not in named]
    if not placeholders:
        return with_names(card, named)
    fields = {name: (str, Field(description=f"the Python expression of this code for {name}, no spaces",
                                pattern=EXPRESSION, min_length=1, max_length=MAX_EXPRESSION))
              for name in placeholders}
    names: type[BaseModel] = create_model("CardNames", **fields)  # type: ignore[call-overload]
    prompt = render("experiments", "bind_card", card=card.shown(), change=change, part=part,
                    part_text=unit_text(code, part), placeholders=", ".join(placeholders))
    try:
        reply = gateway.structured([{"role": "user", "content": prompt}], names, role="coding", stage=stage,
                                   max_tokens=40 * len(placeholders), temperature=0.0)
    except LLMOutputInvalid as exc:
        log.info("%s: the card for %s stays in its own names (%s)", stage, card.name, exc.message)
        return card
    constants = module_constants(code)
    answers = {name: str(getattr(reply, name)).strip() for name in placeholders}
    shared = {text for text in answers.values() if list(answers.values()).count(text) > 1}
    mapped = {name: text for name, text in answers.items()
              if text not in shared and usable(text, known) and reads_a_name(text) and numeric(text, constants)}
    return with_names(card, {**named, **mapped})
