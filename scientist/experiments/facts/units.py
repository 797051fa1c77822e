"""Whole-unit rewrites of a Python file: the edit format made for a small model.

A file is cut into named units along its top-level statements: ``imports``, ``constants`` (a run
of UPPER_CASE assignments), one unit per ``def``/``class``, ``main guard`` and ``code at line N``
for any other run of statements. The model names the units it will change (a schema enum, so it cannot
name one that does not exist), then writes each one's complete new text as an ordinary code block,
not inside JSON (small models write far worse code in escaped JSON strings). Nothing has to be
copied exactly, indentation is the model's own (top level), and a syntax error is found in the
unit the model wrote, with its own line numbers, before the file is touched.
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from scientist.experiments.facts.change import adds_computation
from scientist.experiments.facts.code import binds
from scientist.experiments.facts.edits import EditNotApplied, NoEffectiveChange
from scientist.schemas import UnitRewrite

CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]*$")
FENCE = re.compile(r"```[a-zA-Z0-9_+-]*[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)


class RewriteSyntaxError(EditNotApplied):
    """A rewritten unit does not parse on its own."""

    code = "syntax_error"


@dataclass(frozen=True)
class Unit:
    """Lines ``start`` (0-based) to ``end`` (exclusive) of the file, under one name."""

    name: str
    kind: str
    start: int
    end: int
    defines: str | None = None
    names: tuple[str, ...] = ()  # constants: the names it sets; other units: the constants they read


def _kind(node: ast.stmt) -> str:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return "imports"
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return "def"
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test) and "__main__" in ast.unparse(node.test):
        return "main guard"
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    if targets and all(isinstance(t, ast.Name) and CONSTANT.match(t.id) for t in targets):
        return "constants"
    return "code"


def code_units(source: str) -> list[Unit]:
    """The file's units in order (the module docstring belongs to none). Raises ``SyntaxError``."""
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    groups: list[tuple[str, list[ast.stmt]]] = []
    for node in body:
        kind = _kind(node)
        if groups and groups[-1][0] == kind and kind not in ("def", "class"):
            groups[-1][1].append(node)
        else:
            groups.append((kind, [node]))
    constants = {t.id for kind, nodes in groups if kind == "constants" for n in nodes
                 for t in (n.targets if isinstance(n, ast.Assign) else [n.target])}  # type: ignore[attr-defined]
    units: list[Unit] = []
    seen: set[str] = set()
    for kind, nodes in groups:
        first = nodes[0]
        start = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))]) - 1
        end = nodes[-1].end_lineno or nodes[-1].lineno
        defines = getattr(first, "name", None) if kind in ("def", "class") else None
        name = f"{kind} {defines}" if defines else kind
        if kind == "code" or name in seen:
            name = f"{name} at line {start + 1}"
        seen.add(name)
        read = {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}
        names = tuple(sorted(read & constants))
        units.append(Unit(name=name, kind=kind, start=start, end=end, defines=defines, names=names))
    return units


def summary(node: ast.stmt, limit: int = 160) -> str | None:
    """The first sentence of a function's or class's docstring, cut at ``limit`` characters."""
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return None
    doc = " ".join((ast.get_docstring(node) or "").split())
    if not doc:
        return None
    sentence = re.split(r"(?<=[.!?])\s", doc, maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[:limit - 3].rstrip() + "..."


def outline(source: str) -> str:
    """One line per unit, for the prompt: its name, line range, the constants it sets or reads and
    the first sentence of its docstring (what a template's seams are for)."""
    nodes = {node.name: node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef | ast.ClassDef)}

    def line(u: Unit) -> str:
        verb = "sets" if u.kind == "constants" else "reads"
        text = f"- {u.name} (lines {u.start + 1}-{u.end})" + (f": {verb} {', '.join(u.names)}" if u.names else "")
        about = summary(nodes[u.defines]) if u.defines in nodes else None
        return f"{text}. {about}" if about else text
    return "\n".join(line(u) for u in code_units(source))


def with_helper(code: str, name: str, helper: str) -> str | None:
    """``code`` with ``helper`` (the text of one top-level ``def name``) put before the first top-level
    statement that reads ``name``; ``None`` when ``helper`` is not exactly such a def, or nothing reads
    ``name`` at the top of the file."""
    text = _clean(helper)
    try:
        body = ast.parse(text).body
        tree = ast.parse(code)
    except SyntaxError:
        return None
    if not body or not all(isinstance(node, ast.FunctionDef) for node in body) \
            or not any(node.name == name for node in body if isinstance(node, ast.FunctionDef)):
        return None
    readers = [node for node in tree.body
               if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(node))]
    if not readers:
        return None
    first = readers[0]
    start = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))]) - 1
    lines = code.splitlines(keepends=True)
    return "".join(lines[:start]) + text + "\n\n" + "".join(lines[start:])


def code_block(reply: str) -> str:
    """The code of a model's reply: its longest fenced block, else the whole reply."""
    blocks = FENCE.findall(reply)
    return max(blocks, key=len) if blocks else reply


def standalone_sketch(reply: str, max_lines: int) -> str:
    """A reply's code as a sketch to show beside a change: its longest fenced block without imports,
    docstrings and comments (rewritten from its syntax tree), when it parses, assigns or defines
    something, and has at most ``max_lines`` lines; else ""."""
    code = textwrap.dedent(code_block(reply).strip("\n"))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [stmt for stmt in body if not isinstance(stmt, ast.Import | ast.ImportFrom)
                    and not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                             and isinstance(stmt.value.value, str))]
            body[:] = kept or [ast.Pass()]
    kinds = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.FunctionDef, ast.Return)
    if not any(isinstance(node, kinds) for node in ast.walk(tree)):
        return ""
    text = ast.unparse(tree).strip()
    return text if len(text.splitlines()) <= max_lines else ""


def _clean(code: str) -> str:
    """The model's code without a fence or common indentation, ending in one newline; without diff
    markers when it does not parse with them and does without (shown the last attempt's diff, a
    model may write its new lines as ``+        if t > 0 ...``)."""
    code = textwrap.dedent(code_block(code).strip("\n")).strip("\n") + "\n"
    lines = code.splitlines(keepends=True)
    if not any(line.startswith(("+", "-")) for line in lines) or _parses(code):
        return code
    undiffed = textwrap.dedent("".join(line[1:] if line.startswith("+") else line for line in lines
                                       if not line.startswith("-")))
    return undiffed if _parses(undiffed) else code


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _parse(name: str, code: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError as exc:
        lines = code.splitlines()
        bad = lines[exc.lineno - 1].strip() if exc.lineno and 0 < exc.lineno <= len(lines) else ""
        raise RewriteSyntaxError(f"your new {name!r}, its line {exc.lineno}: {exc.msg}"
                                 + (f" (in: {bad[:120]})" if bad else "")) from exc


def _owner(node: ast.stmt, name: str, units: dict[str, Unit]) -> str:
    """The existing part a top-level statement of the model's text for part ``name`` belongs to."""
    kind = _kind(node)
    if kind in ("def", "class"):
        owner = f"{kind} {node.name}"  # type: ignore[attr-defined]
        return owner if owner in units else name
    if kind in ("main guard", "imports"):
        return kind if kind in units and units[kind].kind == kind else name
    if kind == "constants":
        targets = {t.id for t in (node.targets if isinstance(node, ast.Assign) else [node.target])}  # type: ignore[attr-defined]
        holders = [u.name for u in units.values() if u.kind == "constants" and targets <= set(u.names)]
        if holders:
            return name if name in holders else holders[0]
        return name if units[name].kind == "constants" or "constants" not in units else "constants"
    return name


def split_other_parts(name: str, code: str, units: dict[str, Unit]) -> tuple[str, dict[str, str]]:
    """The text meant for part ``name``, and the text of other existing parts written in the same block.

    A small model asked for one part often writes more: the constants and then the whole file, a
    new constant above its function, or a constant that lives further down the file (``FUNCTIONS =
    {...}`` after the functions it names) copied into the constants at the top. Each statement goes
    to the part it belongs to, and counts as that part's rewrite unless that part is rewritten on its
    own; new helpers stay where the model put them."""
    tree = ast.parse(code)
    body = tree.body[1:] if tree.body and isinstance(tree.body[0], ast.Expr) \
        and isinstance(tree.body[0].value, ast.Constant) else tree.body
    owners = [_owner(node, name, units) for node in body]
    if all(owner == name for owner in owners):
        return code, {}
    lines = code.splitlines(keepends=True)
    pieces: dict[str, list[str]] = {}
    for node, owner in zip(body, owners, strict=True):
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = "".join(lines[first - 1:node.end_lineno]).strip("\n")
        spaced = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.If)
        pieces.setdefault(owner, []).append(f"\n\n{text}\n\n" if spaced else text + "\n")
    texts = {owner: re.sub(r"\n{3,}", "\n\n\n", "".join(parts)).strip("\n") + "\n" for owner, parts in pieces.items()}
    return texts.pop(name, ""), texts


def apply_rewrites(source: str, rewrites: list[UnitRewrite]) -> str:
    """The file with each named unit replaced; raises before changing anything on any problem."""
    units = {u.name: u for u in code_units(source)}
    texts: dict[str, str] = {}
    extra: dict[str, str] = {}
    for rewrite in rewrites:
        if rewrite.unit not in units:
            raise EditNotApplied(f"there is no unit named {rewrite.unit!r}; the units are: {', '.join(units)}")
        if rewrite.unit in texts:
            raise EditNotApplied(f"{rewrite.unit!r} is rewritten twice; write it once, with every change")
        code = _clean(rewrite.code)
        _parse(rewrite.unit, code)
        texts[rewrite.unit], others = split_other_parts(rewrite.unit, code, units)
        for name, text in others.items():
            extra.setdefault(name, text)
    texts |= {name: text for name, text in extra.items() if name not in texts}
    chosen: dict[str, str] = {}
    for name, code in texts.items():
        unit, tree = units[name], _parse(name, code)
        if unit.defines and not any(getattr(n, "name", None) == unit.defines for n in tree.body):
            raise EditNotApplied(f"the new {name!r} no longer defines {unit.defines}, which the rest of the "
                                 f"file uses; keep the {unit.kind} {unit.defines} in it")
        chosen[name] = keep_left_out(source, unit, code, tree) if unit.kind in ("constants", "imports") else code
    lines = source.splitlines(keepends=True)
    for unit in sorted((units[n] for n in chosen), key=lambda u: u.start, reverse=True):
        lines[unit.start:unit.end] = [chosen[unit.name]]
    new = "".join(lines)
    if new == source:
        raise NoEffectiveChange(f"your new {', '.join(repr(n) for n in chosen)} is the same as the current text: "
                                "change the lines this run needs")
    return new


def keep_left_out(source: str, unit: Unit, code: str, tree: ast.Module) -> str:
    """A rewrite of ``constants`` or ``imports`` that leaves a statement out keeps it: the part is
    read as "these lines change", never as "delete the others" (a small model rewriting one constant
    often writes only that one, and every reader of the others would then fail with a NameError).
    Kept statements go first, except constants computed from a name the new text sets."""
    new_names = set().union(*(binds(n) for n in tree.body)) if tree.body else set()
    old = [n for n in ast.parse(source).body if unit.start < n.lineno <= unit.end]
    left_out = [n for n in old if binds(n) and not binds(n) <= new_names]
    if not left_out:
        return code
    before, after = [], []
    for node in left_out:
        reads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        (after if reads & new_names else before).append(ast.get_source_segment(source, node) or ast.unparse(node))
    return "".join(line + "\n" for line in before) + code + "".join(line + "\n" for line in after)


def unit_text(source: str, name: str) -> str:
    """The current text of the unit called ``name``."""
    unit = next(u for u in code_units(source) if u.name == name)
    return "".join(source.splitlines(keepends=True)[unit.start:unit.end])


def with_todo(text: str, change: str) -> str:
    """``text`` (one function, as ``unit_text`` gives it) with a line ``# TODO: <change>`` where such
    a change usually goes: first in the body of its outermost loop, else right before its last
    top-level ``return``, else after its last line. Shown when the model's reply, or the attempt
    before, changed nothing (a small model asked to rewrite a function often copies it word for
    word); code models are trained to fill in a TODO."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    function = next((n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)
    if function is None:
        return text
    loop = next((n for n in ast.walk(function) if isinstance(n, ast.For | ast.While)), None)
    returns = [s for s in function.body if isinstance(s, ast.Return)]
    anchor = loop.body[0] if loop is not None else returns[-1] if returns else None
    lines = text.splitlines(keepends=True)
    row = anchor.lineno - 1 if anchor is not None else function.end_lineno or len(lines)
    like = lines[anchor.lineno - 1] if anchor is not None else lines[function.body[-1].lineno - 1]
    return todo_before(text, row, indentation(like), change)


def indentation(line: str) -> str:
    """The whitespace ``line`` starts with."""
    return line[:len(line) - len(line.lstrip())]


def todo_before(text: str, row: int, indent: str, change: str) -> str:
    """``text`` with a line ``<indent># TODO: <change>`` (the change on one line, cut at 200
    characters) before its 0-based ``row``."""
    lines = text.splitlines(keepends=True)
    todo = " ".join(change.split())[:200]
    return "".join([*lines[:row], f"{indent}# TODO: {todo}\n", *lines[row:]])


def changed_parts(before: str, after: str) -> list[Unit]:
    """The units of ``after`` whose text differs from the unit of the same name in ``before`` (new
    units too). Top-level code is named by its line, so code that only moved down (a def added above
    it) is matched by its text. Raises ``SyntaxError``."""
    old = {unit.name: unit_text(before, unit.name) for unit in code_units(before)}
    moved = {text for name, text in old.items() if name.startswith("code")}
    return [unit for unit in code_units(after) if (text := unit_text(after, unit.name)) != old.get(unit.name)
            and not (unit.kind == "code" and text in moved)]


def outside_named_parts(before: str, after: str, change: str) -> tuple[str, list[str]] | None:
    """``after`` with the functions of ``before`` that it changed but the change's words do not point
    to (``mentioned_parts``) as ``before`` has them, and their names: the edit narrowed to where the
    change says it goes. ``None`` when the change points to no function, when ``after`` changes none of
    the functions it points to (then the words may point wrong), or when it changes nothing else. A
    small model often makes one change in two places (GELU in ``forward`` and in Adam's update; the
    initial weights halved, and the activations too). Raises ``SyntaxError``."""
    named = {part for part in mentioned_parts(before, change) if part.startswith("def ")}
    old = {unit.name for unit in code_units(before) if unit.kind == "def"}
    changed = [unit for unit in changed_parts(before, after) if unit.kind == "def" and unit.name in old]
    extra = [unit for unit in changed if unit.name not in named]
    if not named or not extra or len(extra) == len(changed):
        return None
    lines = after.splitlines(keepends=True)
    for unit in sorted(extra, key=lambda u: u.start, reverse=True):
        lines[unit.start:unit.end] = [unit_text(before, unit.name)]
    return "".join(lines), [unit.name for unit in extra]


def unit_at_line(source: str, lineno: int) -> Unit | None:
    """The unit holding 1-based line ``lineno``."""
    try:
        units = code_units(source)
    except SyntaxError:
        return None
    return next((u for u in units if u.start < lineno <= u.end), None)


COMMON = {"with", "from", "into", "each", "every", "over", "than", "that", "this", "those", "these", "instead",
          "implement", "baseline", "same", "using", "change", "their", "other", "only", "more", "less", "when",
          "then", "where", "which", "while", "after", "before", "between", "against", "without", "experiment",
          "value", "values", "code", "function", "make", "makes", "new", "used", "uses",
          # "in place of" says "instead of"; a docstring's "in place" says how an update is made
          "place"}


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def spelled_out(source: str, change: str) -> list[str]:
    """Functions whose name is two or more words that the change uses, as the name itself or each
    word of it (plurals aside): ``training_inputs`` for "add a transform to the training inputs".
    A template's seams are named so; a one-word name (``step``) is not taken from
    prose."""
    said = {_stem(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", change)}
    identifiers = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", change))
    found = []
    for unit in code_units(source):
        parts = [w for w in (unit.defines or "").split("_") if w]
        if unit.kind == "def" and len(parts) >= 2 and (unit.defines in identifiers
                                                       or all(_stem(w) in said for w in parts)):
            found.append(unit.name)
    return found


SEAM_LINES = 12  # a seam is a short function: the templates' are identities under a docstring


def named_seam(source: str, change: str) -> str | None:
    """The one short, documented function the change spells out by name (``spelled_out``), or
    ``None``: when none or several are, or the change names one of the file's constants (it is a
    setting, or needs one). The first attempt at a run makes the change there without a part choice,
    which a small model often gets wrong."""
    units = {u.name: u for u in code_units(source)}
    if named_constants(source, change):
        return None
    tree = {f"def {n.name}": n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    found = [name for name in spelled_out(source, change) if name in tree and ast.get_docstring(tree[name])
             and units[name].end - units[name].start <= SEAM_LINES]
    return found[0] if len(found) == 1 else None


def named_constants(source: str, change: str) -> set[str]:
    """The module constants the change names (``LEARNING_RATE``, ``STEPS``)."""
    constants = {n for u in code_units(source) if u.kind == "constants" for n in u.names}
    return constants & set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", change))


def constants_home(source: str, change: str) -> str | None:
    """For a change that adds computation and names module constants ("Add a ... that scales RATE
    over STEPS"), the one function that reads every one of them, or ``None``. The computation belongs
    where those values are used; left to choose, a small model often puts it in ``main`` or in the
    constants."""
    named = named_constants(source, change)
    if adds_computation(change) is None or not named:
        return None
    readers = [u.name for u in code_units(source) if u.kind == "def" and named <= set(u.names)]
    return readers[0] if len(readers) == 1 else None


@dataclass(frozen=True)
class Home:
    """The part an attempt must make the change in, and which rule chose it (the prompt's
    ``home_why`` says why, in words): the seam the change names, the one function reading the
    constants it names, the one function sharing most of its words, or the function that has the
    values the last attempt read where they do not exist. ``names``: the constants or words."""

    part: str
    rule: Literal["seam", "constants", "words", "values"]
    names: tuple[str, ...] = ()


def rule_home(source: str, change: str) -> Home | None:
    """Where a rule places the change at a first attempt or a fresh start: the seam the change names
    (``named_seam``), else the one function reading the constants it names (``constants_home``), else
    the one function sharing the most of its words (``words_home``)."""
    seam = named_seam(source, change)
    if seam is not None:
        return Home(seam, "seam")
    reader = constants_home(source, change)
    if reader is not None:
        return Home(reader, "constants", tuple(sorted(named_constants(source, change))))
    matched = words_home(source, change)
    if matched is not None:
        return Home(matched[0], "words", tuple(sorted(matched[1])))
    return None


def _unit_hits(source: str, change: str) -> list[tuple[str, int, set[str]]]:
    """Each function or class with the change's content words (four letters or more, common words aside)
    that its code or comments hold, none or some: (its name, its first line, the words)."""
    content = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9_-]{3,}", change)} - COMMON
    lines = source.lower().splitlines()
    found = []
    for unit in code_units(source):
        if unit.kind not in ("def", "class"):
            continue
        body = "\n".join(lines[unit.start:unit.end])
        found.append((unit.name, unit.start,
                      {w for w in content if re.search(rf"(?<![a-z0-9_]){re.escape(w)}(?![a-z0-9_])", body)}))
    return found


def shared_words(source: str, change: str) -> list[tuple[str, int, set[str]]]:
    """Each function or class whose code or comments share at least two of the change's content words
    (four letters or more, common words aside): (its name, its first line, the words)."""
    return [(name, start, hits) for name, start, hits in _unit_hits(source, change) if len(hits) >= 2]


def word_scores(source: str, change: str) -> list[tuple[float, str, int, set[str]]]:
    """``shared_words``, each function scored by how rare its shared words are in the file: a word
    found in k functions counts 1/k (the inverse document frequency of text retrieval), so a word
    every part of a model's code has ("layer", "sqrt") weighs less than one only this function has
    ("relu"). Best first: (score, name, first line, words)."""
    every = _unit_hits(source, change)
    spread = Counter(w for _, _, hits in every for w in hits)
    scored = [(sum(1 / spread[w] for w in hits), name, start, hits) for name, start, hits in every if len(hits) >= 2]
    return sorted(scored, key=lambda s: (-s[0], s[2]))


def words_home(source: str, change: str) -> tuple[str, set[str]] | None:
    """For a change that adds computation, the one function sharing the most of its words (in its code,
    comments or docstring, each weighted by its rarity, ``word_scores``), when no other scores as high:
    the function and the words it shares, or ``None``. Left to choose a part, a small model often
    changes only imports and constants."""
    if adds_computation(change) is None:
        return None
    scored = [s for s in word_scores(source, change) if s[1].startswith("def ")]
    if not scored or (len(scored) > 1 and math.isclose(scored[1][0], scored[0][0])):
        return None
    return scored[0][1], scored[0][3]


RUNNER_UP = 0.5  # a function sharing words is a hint only when it scores at least this share of the best


def mentioned_parts(source: str, change: str, limit: int = 2) -> list[str]:
    """Parts a change is about (a hint for the model): first the functions it spells out by name
    (``spelled_out``), then those whose function name, or a constant they set or read, the change
    names; then up to ``limit`` functions whose code or comments share at least two of the change's
    words, best first by ``word_scores`` and none scoring under ``RUNNER_UP`` of the best; a change
    that adds computation (``change_text.adds_computation``) lists the constants after the functions.
    Give it the change without its measurement clause (``code_change``)."""
    units = code_units(source)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", change))
    named = spelled_out(source, change)
    named += [u.name for u in units if u.name not in named and
              ((u.defines and u.defines in words) or (u.kind != "main guard" and words & set(u.names)))]
    scored = [(score, name) for score, name, _, _ in word_scores(source, change) if name not in named]
    found = named + [name for score, name in scored[:limit] if score >= RUNNER_UP * scored[0][0]]
    if adds_computation(change):  # a settings-only edit cannot make it: the functions come first
        found.sort(key=lambda name: name == "constants")
    return found
