"""The grammar a function's new text is decoded under: read as a regular expression here, and obeyed
by the real embedded model."""

from __future__ import annotations

import ast
import re

import pytest

from scientist.experiments.grammar import function_reply

CODE = '''import numpy as np

STEPS = 100


def load(n):
    return np.arange(n, dtype=float)


def train(x):
    total = 0.0
    for _ in range(STEPS):
        total += float(np.mean(x))
    return total


if __name__ == "__main__":
    print(train(load(10)))
'''


def name_pattern(grammar: str) -> re.Pattern[str]:
    """``name0`` of the grammar as a regular expression (its rules are a finite trie)."""
    rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines() if line.startswith("name"))

    def expand(rule: str) -> str:
        options = []
        for option in (o.strip()[1:-1] for o in rules[rule].split(" | ")):
            if option == '""':
                options.append("")
            elif option.startswith('"'):
                char, rest = option[1], option.split()[1]
                options.append(re.escape(char) + expand(rest))
            else:
                options.append(option.replace(" ", ""))
        return "(?:" + "|".join(options) + ")"

    return re.compile(expand("name0"))


def test_a_helper_may_take_any_name_the_file_does_not_define():
    grammar = function_reply("train", {"load", "train", "lo"})
    assert 'target ::= "def train(" line body' in grammar
    names = name_pattern(grammar)
    for taken in ("load", "train", "lo"):
        assert not names.fullmatch(taken), taken
    for free in ("l", "loa", "loads", "trai", "trains", "helper", "_smooth", "load2", "x"):
        assert names.fullmatch(free), free
    assert not names.fullmatch("2x"), "an identifier does not start with a digit"
    decorated = function_reply("train", {"train"}, ('@lru_cache(maxsize=None)', '@tag("a")'))
    assert 'target ::= "@lru_cache(maxsize=None)\\n" "@tag(\\"a\\")\\n" "def train(" line body' in decorated, \
        "the function's decorators are kept as they are"


def test_a_body_line_is_indented_by_the_file_s_unit_only():
    spaced = function_reply("train", {"train"})
    assert 'body ::= ("    " ([^\\t\\n] line | blank) | blank)+' in spaced, \
        "four spaces, and no tab after them: a tab-indented line in a space-indented function is a TabError"
    assert '"\\t" line' not in spaced
    tabbed = function_reply("train", {"train"}, indent="\t")
    assert 'body ::= ("\\t" ([^ \\n] line | blank) | blank)+' in tabbed


@pytest.mark.slow
def test_the_embedded_model_asked_for_the_whole_file_writes_only_the_function(tmp_path):
    from scientist.config import default_cache_dir, load_settings
    from scientist.experiments.facts.units import code_block
    from scientist.llm.gateway import Gateway
    from scientist.llm.ledger import Ledger

    gateway = Gateway(load_settings(cache_dir=default_cache_dir()), Ledger(tmp_path / "llm_calls.jsonl"))
    ask = (f"Here is a program:\n```python\n{CODE}```\nMake train return the mean over the steps instead of the "
           "sum. Write the complete new program, from its imports to its main guard.")
    # A fixed sample seed, and room for the helpers the model may write first (docstrings and all).
    reply = gateway.text([{"role": "user", "content": ask}], role="coding", stage="t", max_tokens=900,
                         sample=1, grammar=function_reply("train", {"load", "train"}))
    tree = ast.parse(code_block(reply))
    assert all(isinstance(node, ast.FunctionDef) for node in tree.body), "nothing but functions at the top level"
    assert [node.name for node in tree.body][-1] == "train", "the function comes last"
    assert "load" not in [node.name for node in tree.body], "no copy of another function"
