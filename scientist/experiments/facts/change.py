"""What a planned run's change text asks of the code.

A plan's change often carries more than one run can do: the measurement ("..., and compare test
accuracy with the baseline"), which the loop does on its own, and sweeps ("k in {1, 2, 4, 8}"),
which are several runs. A small model reads "compare test accuracy" as a request to edit
``def accuracy``, and tries to fold a sweep into one file.
"""

from __future__ import annotations

import re

MEASUREMENT = re.compile(r"[,;]?\s*\b(?:and\s+|then\s+)?(?:compare|measure|report|relate|fit|show|check)\b.*$",
                         re.I | re.S)
SWEEP = re.compile(r"\b(?P<name>[A-Za-z_][\w-]*)\s+(?:in|over|∈)\s*\{(?P<values>[^{}]+)\}")
MIN_WORDS = 4  # a change cut shorter than this (it began with "Compare ...") is kept whole
# A change that begins with one of these adds computation: setting constants alone does not make it.
NEW_COMPUTATION = {"add", "implement", "append", "augment", "inject", "introduce", "mix", "split", "replace",
                   "apply", "anneal", "clip", "normalise", "normalize", "regularise", "regularize", "combine"}
CLAUSES = re.compile(r";|,?\s+and\s+(?=(?:set|change)\b)", re.I)  # "set A to 1 and change B to 2" is two changes
# "set RIDGE to 1e-6 and run the experiment again": the value ends before "in ...", "and ...", "then ..."
SET_VALUE = re.compile(r"\b(?:set|change)\s+([A-Z][A-Z0-9_]*)\s+to\s+(.+?)(?:,?\s+(?:in|and|then)\s+.*)?[.;]?\s*$",
                       re.I)


# A change put as the idea's yes/no question ("Does X improve test accuracy?") names its method before
# the verb of its outcome and the measurement after it.
QUESTION = re.compile(r"^\s*(?:does|do|did|can|could|will|would|is|are)\s+(?P<rest>.+?)\?\s*$", re.I | re.S)
OUTCOME_VERBS = {"change", "improve", "keep", "match", "raise", "lower", "increase", "decrease", "reduce", "extend",
                 "shorten", "help", "hurt", "harm", "beat", "outperform", "fail", "converge", "solve", "speed",
                 "slow", "affect", "alter", "let", "give", "yield", "preserve", "maintain", "stabilise", "stabilize",
                 "accelerate", "boost", "reach", "achieve", "lead", "cause", "matter", "generalise", "generalize"}


def method_of_question(change: str) -> str | None:
    """'Use X' for a change put as a question 'Does X <outcome verb> ...?' (the words before the first
    verb of an outcome are the method; what follows is measured, not made), else ``None``."""
    match = QUESTION.match(change)
    if match is None:
        return None
    words = match["rest"].split()
    cut = next((k for k, word in enumerate(words) if k and word.lower() in OUTCOME_VERBS), None)
    if cut is None:
        return None
    return "Use " + " ".join(words[:cut]).rstrip(",;:")


def code_change(change: str) -> str:
    """The change without its measurement clause: what the code must do differently ("Does X improve
    test accuracy?" is "Use X": a small model takes "test accuracy" for the part to edit)."""
    method = method_of_question(change)
    if method is not None:
        return method
    cut = MEASUREMENT.sub("", change).strip().rstrip(",;:")
    return cut if len(cut.split()) >= MIN_WORDS or re.match(r"set \w+ to ", cut, re.I) else change.strip()


def one_setting(change: str, run_index: int = 0) -> str:
    """The change with each sweep 'NAME in {a, b, c}' narrowed to one value, 'NAME = b': the middle
    one for a plan's first run (the ends are often the baseline's own value), the next ones for the
    runs after it, so runs that copy the same sweep still differ."""
    def pick(match: re.Match[str]) -> str:
        values = [v.strip() for v in match["values"].split(",") if v.strip()]
        chosen = values[(len(values) // 2 + run_index) % len(values)] if values else None
        return f"{match['name']} = {chosen}" if chosen else match[0]

    return SWEEP.sub(pick, change)


def clauses(change: str) -> list[str]:
    """The change cut into its clauses ("set A to 1 and change B to 2" is two)."""
    return [clause.strip() for clause in CLAUSES.split(change) if clause.strip()]


def only_settings(change: str) -> bool:
    """Whether every clause of the change is "set NAME to VALUE" (or "change NAME to VALUE")."""
    parts = clauses(change)
    return bool(parts) and all(SET_VALUE.search(part) for part in parts)


def adds_computation(change: str) -> str | None:
    """The change's first word when it is a verb that adds computation ('Add', 'Implement', ...)."""
    words = change.split(maxsplit=1)
    return words[0] if words and words[0].lower().strip(",.:") in NEW_COMPUTATION else None


WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}|\b[A-Za-z]+\d[A-Za-z\d]*\b")  # 'layer', 'two-step'; 'x2', 'f3'
NUMBER = re.compile(r"(?<![\w.])-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
# Words of a question or a comparison, not of a method: an idea's method words are the rest.
PLAIN = {"does", "do", "will", "would", "could", "should", "change", "changes", "improve", "improves", "help",
         "helps", "raise", "raises", "lower", "lowers", "match", "matches", "keep", "keeps", "make", "makes",
         "making", "while", "instead", "than", "more", "less", "fewer", "only", "used", "using", "uses", "when",
         "compare", "compared", "versus", "with", "from", "into", "each", "every", "over", "that", "this",
         "those", "these", "same", "their", "other", "what", "which", "where", "after", "before", "between",
         "against", "without", "then", "whether", "test", "tests", "tiny", "small", "large", "better", "worse",
         "final", "baseline", "experiment", "value", "values", "setting", "settings", "also",
         "per", "run", "runs", "case", "cases", "here", "there", "they", "them", "have", "has",
         "extend", "extends", "fail", "fails", "often", "converge", "faster", "slower", "solve", "solves", "hold",
         "around", "about", "like", "such", "sweep", "sweeps", "vary", "varying", "range", "study", "effect",
         "effects", "impact", "measure", "report", "relate", "show", "check", "train", "trained", "training"}


def all_numbers(text: str) -> set[float]:
    """Every number written in ``text``."""
    return {float(token) for token in NUMBER.findall(text)}


def numbers_in(text: str) -> set[float]:
    """The numbers written in ``text`` (small counts up to 3 aside: "two runs", "k = 1")."""
    return {value for value in all_numbers(text) if not (value.is_integer() and abs(value) <= 3)}


def _stem(word: str) -> str:
    word = word.lower().strip("-")
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def _alike(a: str, b: str) -> bool:
    """The same word, or one a form of the other ('append' and 'appending', 'halve' and 'halving'):
    they share all but a short ending, four letters at least."""
    if a == b:
        return True
    common = len(next((a[:k] for k in range(min(len(a), len(b)), 0, -1) if a[:k] == b[:k]), ""))
    return common >= 4 and max(len(a), len(b)) - common <= 3


PARAMETER = re.compile(r"([A-Za-z][\w-]*)\s*[=:]\s*-?[\d.]")  # 'alpha = 0.2': a parameter's name


def method_words(idea: str, code: str) -> set[str]:
    """The idea's words that name its method: its content words (four letters or more) that are neither
    question or comparison words, nor a parameter's name ('alpha' in 'alpha = 0.2'), nor already in the
    code (for "Does a <name> loss ... change test accuracy?" on code that has a loss, the name)."""
    in_code = {_stem(w) for w in WORD.findall(code)}
    parameters = {_stem(w) for w in PARAMETER.findall(idea)}
    return {_stem(w) for w in WORD.findall(idea)} - {_stem(w) for w in PLAIN} - in_code - parameters


def drops_the_idea(change: str, idea: str, code: str) -> str | None:
    """Why a planned run's change is not the idea's experiment, or ``None``: it names none of the idea's
    method words, or none of the numbers the idea gives."""
    words = method_words(idea, code)
    said = {_stem(w) for w in WORD.findall(change)}
    stated = {w for w in words if any(_alike(w, s) for s in said)}
    if words and len(stated) < max(1, len(words) // 2):
        return (f"the change does not state the idea's method ({', '.join(sorted(words))}): say it in the "
                "idea's own words")
    numbers = numbers_in(idea)
    if numbers and not numbers & numbers_in(change):
        return f"the change leaves out the idea's value ({', '.join(f'{n:g}' for n in sorted(numbers))})"
    return None


def unrequested_setting(name: str, value: str, idea: str) -> bool:
    """Whether "set NAME to VALUE" is a setting the idea did not ask for: some word of NAME is not in the
    idea (HIDDEN_SIZES for an idea about dropout in the hidden layer; a word counts when one is a
    prefix of the other, 'grad' and 'gradient'), the idea gives none of VALUE's numbers, and VALUE has
    no word the idea says (MODE set to 'foo' is asked for by an idea that names foo)."""
    said = {_stem(w) for w in re.findall(r"[A-Za-z]+", idea) if len(w) > 2}
    parts = {_stem(w) for w in name.lower().split("_") if len(w) > 1}
    named = all(any(p.startswith(w) or w.startswith(p) for w in said) for p in parts)
    value_words = {_stem(w) for w in re.findall(r"[A-Za-z]+", value) if len(w) > 2}
    return not named and not numbers_in(value) & numbers_in(idea) and not value_words & said
