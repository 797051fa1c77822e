"""Compile a LaTeX document with latexmk under a timeout, and parse its errors into (file, line, message).

Shell escape is off, the interaction is non-stop and the first error halts the run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from pydantic import BaseModel

from scientist.config import default_cache_dir
from scientist.errors import ScientistError

LATEX_FIX = "apt-get install latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended"
FILE_LINE_ERROR = re.compile(r"^(?P<file>[^\s:][^:]*\.(?:tex|sty|cls|bbl)):(?P<line>\d+): (?P<message>.+)$")
BANG_ERROR = re.compile(r"^! (?P<message>.+)$")
LINE_REF = re.compile(r"^l\.(?P<line>\d+)")


class LatexUnavailable(ScientistError):
    """latexmk or pdflatex is missing."""

    code = "latex_unavailable"
    exit_code = 2


class LatexError(BaseModel):
    """One compile error, as a person (or a model) needs it to fix the source."""

    file: str
    line: int | None
    message: str


class CompileResult(BaseModel):
    """How a compile ended."""

    ok: bool
    pdf: Path | None
    seconds: float
    errors: list[LatexError]
    log_tail: str
    timed_out: bool = False


def require_latex() -> None:
    """Raise ``LatexUnavailable`` with the install line when the toolchain is missing."""
    missing = [tool for tool in ("latexmk", "pdflatex", "bibtex") if shutil.which(tool) is None]
    if missing:
        raise LatexUnavailable(f"LaTeX is not installed (missing {', '.join(missing)})", hint=LATEX_FIX)


# Which Debian package provides a LaTeX package commonly loaded by paper templates (TeX Live's split).
DEBIAN_TEX_PACKAGE = {
    **dict.fromkeys(("algorithm", "algorithmic", "algorithmicx", "algpseudocode", "algorithm2e", "siunitx",
                     "mathdots", "nicefrac"), "texlive-science"),
    **dict.fromkeys(("titletoc", "cleveref", "subcaption", "multirow", "colortbl", "microtype", "enumitem",
                     "wrapfig", "xcolor", "natbib", "fancyhdr", "caption", "booktabs", "float", "soul",
                     "tcolorbox", "pifont", "bbm", "todonotes", "placeins", "tabularx", "makecell",
                     "threeparttable", "adjustbox"), "texlive-latex-extra"),
    **dict.fromkeys(("times", "helvet", "courier", "mathptmx", "txfonts", "pxfonts"), "texlive-fonts-recommended"),
    **dict.fromkeys(("amsmath", "amsfonts", "amssymb", "amsthm", "hyperref", "url", "graphicx", "color",
                     "geometry", "inputenc", "fontenc"), "texlive-latex-recommended"),
    **dict.fromkeys(("bm", "mathtools"), "texlive-latex-extra"),
}
MISSING_FILE = re.compile(r"File [`']([\w.-]+)\.(sty|cls)' not found")


def missing_package_hint(message: str) -> str:
    """For a 'File `x.sty' not found' error, the Debian package to install ('' otherwise)."""
    match = MISSING_FILE.search(message)
    if match is None:
        return ""
    package = DEBIAN_TEX_PACKAGE.get(match.group(1))
    if package:
        return f" (install the Debian package {package}: apt-get install {package})"
    return f" (find the Debian package that provides it with: apt-file search {match.group(1)}.{match.group(2)})"


def parse_log(log: str, main_file: str) -> list[LatexError]:
    """Errors from a pdflatex log (``-file-line-error`` style first, then ``! ...`` with ``l.N``)."""
    errors: list[LatexError] = []
    lines = log.splitlines()
    for i, text in enumerate(lines):
        match = FILE_LINE_ERROR.match(text)
        if match:
            errors.append(LatexError(file=os.path.basename(match["file"]), line=int(match["line"]),
                                     message=match["message"].strip()))
            continue
        bang = BANG_ERROR.match(text)
        if bang:
            line_no = next((int(m["line"]) for t in lines[i + 1:i + 12] if (m := LINE_REF.match(t))), None)
            errors.append(LatexError(file=main_file, line=line_no, message=bang["message"].strip()))
    unique: dict[tuple[str, int | None, str], LatexError] = {}
    for err in errors:
        unique.setdefault((err.file, err.line, err.message), err)
    return list(unique.values())


def compile_pdf(tex: Path, *, timeout_s: float = 120.0, cache_dir: Path | None = None) -> CompileResult:
    """Run latexmk on ``tex`` in its own folder; never raises for a broken document.

    Fonts that TeX generates on the fly go to scientist's cache (``TEXMFVAR``), not the user's home.
    """
    require_latex()
    env = {**os.environ, "TEXMFVAR": str((cache_dir or default_cache_dir()) / "texmf-var")}
    pdflatex = "pdflatex -no-shell-escape -file-line-error -interaction=nonstopmode -halt-on-error %O %S"
    argv = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"-pdflatex={pdflatex}",
            tex.name]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=tex.parent, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, env=env)
    timed_out = False
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        timed_out = True
    seconds = time.perf_counter() - started
    log_path = tex.with_suffix(".log")
    log = log_path.read_text(errors="replace") if log_path.is_file() else output.decode(errors="replace")
    pdf = tex.with_suffix(".pdf")
    ok = proc.returncode == 0 and not timed_out and pdf.is_file() and pdf.stat().st_size > 0
    errors = [] if ok else parse_log(log, tex.name)
    if not ok and not errors:
        message = "timed out" if timed_out else f"latexmk exited {proc.returncode}"
        errors = [LatexError(file=tex.name, line=None, message=message)]
    tail = "\n".join(log.splitlines()[-40:])
    return CompileResult(ok=ok, pdf=pdf if ok else None, seconds=seconds, errors=errors, log_tail=tail,
                         timed_out=timed_out)
