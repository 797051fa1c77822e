"""Turn model-written text into safe LaTeX: the code escapes, not the model.

Inline math between single ``$`` signs is kept when balanced and free of dangerous commands;
everything else is escaped. Unicode punctuation and Greek letters become LaTeX; other
non-ASCII characters are dropped so pdflatex never meets a character it cannot set.
"""

from __future__ import annotations

import re
import unicodedata

SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
           "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
           "<": r"\textless{}", ">": r"\textgreater{}"}
UNICODE_TEXT = {"\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``", "\u201d": "''",
                "\u2026": "...", "\u00a0": " ", "\u2022": "-", "\u2212": "-"}
UNICODE_MATH = {"\u00d7": r"\times", "\u00b1": r"\pm", "\u2248": r"\approx", "\u2264": r"\leq", "\u2265": r"\geq",
                "\u2192": r"\rightarrow", "\u2190": r"\leftarrow", "\u221e": r"\infty", "\u00b0": r"^\circ",
                "\u2260": r"\neq", "\u2208": r"\in", "\u2211": r"\sum", "\u221a": r"\sqrt{}",
                "\u03b1": r"\alpha", "\u03b2": r"\beta", "\u03b3": r"\gamma", "\u03b4": r"\delta",
                "\u03b5": r"\epsilon", "\u03b7": r"\eta", "\u03b8": r"\theta", "\u03bb": r"\lambda",
                "\u03bc": r"\mu", "\u03c0": r"\pi", "\u03c1": r"\rho", "\u03c3": r"\sigma", "\u03c4": r"\tau",
                "\u03c6": r"\phi", "\u03c9": r"\omega", "\u0394": r"\Delta", "\u03a3": r"\Sigma"}
MATH = re.compile(r"\$([^$\n]{1,200})\$")
SAFE_MATH = re.compile(r"^[\w\s.,;:+\-*/=<>()\[\]|^_'!{}\\]*$")
ALLOWED_MATH_COMMANDS = {"alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "pi",
                         "rho", "sigma", "tau", "phi", "omega", "Delta", "Sigma", "times", "pm", "approx",
                         "leq", "geq", "le", "ge", "neq", "in", "sum", "sqrt", "frac", "log", "exp", "cdot",
                         "infty", "mathrm", "mathbf", "text", "rightarrow", "left", "right", "ell", "nabla",
                         "partial", "hat", "bar", "tilde", "min", "max", "arg", "mathcal", "circ", "ldots"}


def _escape_char(ch: str) -> str:
    if ch in SPECIAL:
        return SPECIAL[ch]
    if ch in UNICODE_TEXT:
        return UNICODE_TEXT[ch]
    if ch in UNICODE_MATH:
        return f"\\ensuremath{{{UNICODE_MATH[ch]}}}"
    if ord(ch) < 128:
        return ch
    base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return base


def escape_text(text: str) -> str:
    """Escape plain text for LaTeX."""
    return "".join(_escape_char(ch) for ch in text)


def _math_ok(body: str) -> bool:
    if not SAFE_MATH.match(body) or body.count("{") != body.count("}"):
        return False
    commands = re.findall(r"\\([A-Za-z]+)", body)
    return all(c in ALLOWED_MATH_COMMANDS for c in commands)


def sanitize(text: str) -> str:
    """Model text -> LaTeX: safe inline math kept, everything else escaped; paragraphs kept."""
    out: list[str] = []
    pos = 0
    for match in MATH.finditer(text):
        out.append(escape_text(text[pos:match.start()]))
        body = match.group(1)
        out.append(f"${body}$" if _math_ok(body) else escape_text(match.group(0)))
        pos = match.end()
    out.append(escape_text(text[pos:]))
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip()
