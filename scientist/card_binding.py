"""A method card in the code's own names, before the coding model sees it.

A card is written in generic names (``lr``, ``lr_min``, ``total_steps``); the 1.5B model copied them
as they were, so its cosine decay read three names nothing defined, two attempts running (v34). One
short schema-constrained call asks, for each of the card's placeholders (``methods.free_names``),
the expression of the code that plays its role in the part the change goes in; an answer is kept
only when it parses and every name it reads exists there (a module name, or a parameter or local of
that part) and it calls nothing but numpy. Others stay placeholders. A model that fails the schema
leaves the card as it was.
"""

from __future__ import annotations

import ast
import logging

from pydantic import BaseModel, Field, create_model

from scientist.code_check import names_local_to
from scientist.errors import LLMOutputInvalid
from scientist.llm.gateway import Gateway
from scientist.methods import MethodCard, free_names, with_names
from scientist.prompts import render
from scientist.units import unit_text

log = logging.getLogger(__name__)

MAX_EXPRESSION = 60


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


def bind(gateway: Gateway, card: MethodCard, code: str, part: str, change: str, stage: str) -> MethodCard:
    """``card`` with each placeholder the model maps to a usable expression of ``part`` replaced."""
    placeholders = free_names(card)
    if not placeholders or not part.startswith("def "):
        return card
    fields = {name: (str, Field(description=f"the expression of this code for the card's {name}"))
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
    known = known_names(code, part)
    mapped = {name: text for name in placeholders
              if (text := str(getattr(reply, name)).strip()) != name and usable(text, known)}
    return with_names(card, mapped)
