"""A grammar for the reply that rewrites one function of experiment.py (llama.cpp GBNF).

Asked for one function's new text, a small model often writes the whole file from its imports
down, or writes the function and then writes it again until its token limit: minutes of decoding
that add nothing. Where the model server can constrain decoding (the embedded llama.cpp server),
the reply is held to what was asked: one fenced Python block of new helper functions (names the
file does not define yet), then the function itself (its ``def`` line as written, any signature),
then the closing fence. Its body lines are indented as the file indents them (one unit, spaces or a
tab, so a reply cannot mix the two); nothing at the top level comes after it.
"""

from __future__ import annotations

import string

ID_START = string.ascii_letters + "_"
ID_CHARS = ID_START + string.digits


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _class(chars: str) -> str:
    return "[" + "".join(sorted(set(chars))) + "]"


def _name_not_in(names: set[str]) -> list[str]:
    """GBNF rules ``name0 ::= ...``: an identifier that is none of ``names`` (a trie of them, where at
    each node a name may leave the trie by a character no name takes, or end where no name ends)."""
    trie: dict = {}
    for name in sorted(names):
        node = trie
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}
    rules: list[str] = []

    def rule(node: dict, depth: int) -> str:
        number = len(rules)
        rules.append("")
        children = sorted(c for c in node if c)
        allowed = "".join(c for c in (ID_START if depth == 0 else ID_CHARS) if c not in children)
        options = [f"{_class(allowed)} {_class(ID_CHARS)}*"] if allowed else []
        options += [f'"{c}" {rule(node[c], depth + 1)}' for c in children]
        if depth > 0 and "" not in node:
            options.append('""')
        rules[number] = f"name{number} ::= " + " | ".join(f"({o})" for o in options)
        return f"name{number}"

    rule(trie, 0)
    return rules


def function_reply(function: str, defined: set[str], decorators: tuple[str, ...] = (),
                   indent: str = "    ") -> str:
    """The grammar of a reply rewriting ``function``: a ``python`` fence, new helpers (``def`` of a
    name not in ``defined``), ``def function(`` (after its ``decorators`` lines, kept as they are) and
    its body, every body line starting with ``indent``, the closing fence."""
    kept = "".join(f'"{_quoted(line)}\\n" ' for line in decorators)
    unit = _quoted(indent).replace("\t", "\\t")
    other = " " if "\t" in indent else "\\t"  # the whitespace that may not follow the indent unit
    return "\n".join([
        'root ::= "```python\\n" blank* helper* target "```"',
        'helper ::= "def " name0 "(" line body',
        f'target ::= {kept}"def {function}(" line body',
        'line ::= [^\\n]* "\\n"',
        f'body ::= ("{unit}" ([^{other}\\n] line | blank) | blank)+',
        'blank ::= "\\n"',
        *_name_not_in(defined | {function}),
    ]) + "\n"
