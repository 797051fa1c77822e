"""Method cards: the textbook numpy form of a well-known method a run's change names.

The 1.5B model knows method names better than their formulas: its label smoothing mixed the one-hot
targets with random numbers ("the uniform distribution") in five bench runs, and its diagonal
preconditioner was ``g.g / g.I.g``, exactly 1, in four attempts of one run. A frontier model needs
no card, and one costs it a few lines of prompt. The cards are package data (``methods.yaml``): the
method's name, the phrases that name it, and a few lines of numpy in generic names; the coding
prompts show the cards whose phrases the change contains (at most ``MAX_CARDS``).
"""

from __future__ import annotations

import ast
import builtins
import io
import re
import tokenize
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, Field, TypeAdapter

MAX_CARDS = 2


class MethodCard(BaseModel):
    """One method: its name, what it changes, the phrases that name it, how it is usually written."""

    name: str
    changes: str  # what the method changes, in words: a template's seam named so is where it goes
    match: list[str] = Field(min_length=1)
    how: str

    def names_in(self, text: str) -> int | None:
        """Where the first of the card's phrases appears in ``text`` as whole words, or ``None``."""
        places = [m.start() for phrase in self.match if (m := _pattern(phrase).search(text))]
        return min(places) if places else None

    def shown(self) -> str:
        return f"# {self.name}\n{self.how.rstrip()}"


@cache
def _pattern(phrase: str) -> re.Pattern[str]:
    """A phrase as a pattern: whole words, any run of spaces or hyphens between them, and ``...`` for
    up to 60 characters of the same sentence ("noise ... to each gradient")."""
    parts = [r"[\s-]+".join(re.escape(word) for word in piece.split()) for piece in phrase.split("...")]
    return re.compile(r"(?<![\w-])" + r"\b(?:(?!\.\s)[^;]){0,60}?\b".join(parts) + r"(?![\w-])", re.IGNORECASE)


@cache
def cards() -> tuple[MethodCard, ...]:
    text = resources.files(__package__).joinpath("methods.yaml").read_text(encoding="utf-8")
    return tuple(TypeAdapter(list[MethodCard]).validate_python(yaml.safe_load(text)))


def cards_for(change: str) -> list[MethodCard]:
    """The cards of the methods ``change`` names, in the order it names them (at most MAX_CARDS)."""
    found = [(place, card) for card in cards() if (place := card.names_in(change)) is not None]
    return [card for _, card in sorted(found, key=lambda pair: pair[0])][:MAX_CARDS]


def method_notes(change: str) -> str:
    """The cards for ``change`` as prompt text ('' when it names no known method)."""
    return "\n\n".join(card.shown() for card in cards_for(change))


def free_names(card: MethodCard) -> list[str]:
    """The names a card reads before it gives them a value (numpy, ``copy`` and builtins aside): its
    placeholders for the code's own names and values (``lr``, ``total_steps``, ``x``), in order."""
    skip = set(dir(builtins)) | {"np", "copy"}
    free: list[str] = []
    stored: set[str] = set()
    for statement in ast.walk(ast.parse(card.how)):
        if not isinstance(statement, ast.stmt) or isinstance(statement, ast.Module):
            continue
        if isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign):
            parts = [statement.value] if statement.value is not None else []
        elif isinstance(statement, ast.For):
            parts = [statement.iter]
        else:
            parts = [c for c in ast.iter_child_nodes(statement) if isinstance(c, ast.expr)]
        for part in parts:
            for node in ast.walk(part):
                if isinstance(node, ast.Name) and node.id not in stored | skip and node.id not in free:
                    free.append(node.id)
        if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            name = statement.target.id
            if name not in stored | skip and name not in free:
                free.append(name)
        for target in getattr(statement, "targets", None) or [getattr(statement, "target", None)]:
            if target is not None:
                stored |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return free


def with_names(card: MethodCard, names: dict[str, str]) -> MethodCard:
    """The card with each placeholder in ``names`` replaced by the code's expression for it (wrapped
    in parentheses unless it is one name or number); attribute names and comments are left alone."""
    tokens = list(tokenize.generate_tokens(io.StringIO(card.how).readline))
    lines = card.how.splitlines(keepends=True)
    edits = []
    for i, token in enumerate(tokens):
        previous = tokens[i - 1].string if i else ""
        if token.type == tokenize.NAME and token.string in names and previous != ".":
            new = names[token.string]
            simple = new.isidentifier() or re.fullmatch(r"[\d.e+-]+", new) is not None
            edits.append((token.start, token.end, new if simple else f"({new})"))
    for (row, start), (_, end), new in reversed(edits):
        text = lines[row - 1]
        lines[row - 1] = text[:start] + new + text[end:]
    return card.model_copy(update={"how": "".join(lines)})
