"""Read a paper as plain text: PDF (pdftotext), LaTeX source, or text."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from scientist.errors import UsageError

TEX_COMMAND = re.compile(r"\\(?:cite|citep|citet|ref|label|eqref|includegraphics|bibliography|bibliographystyle|"
                         r"usepackage|documentclass|input|include)\*?(?:\[[^\]]*\])*\{[^}]*\}")
TEX_SECTION = re.compile(r"\\(section|subsection|subsubsection|paragraph)\*?\{([^}]*)\}")


def tex_to_text(tex: str) -> str:
    """LaTeX source to readable text: preamble, comments and reference commands dropped, headings kept."""
    body = tex.split("\\begin{document}", 1)[-1].split("\\end{document}", 1)[0]
    body = re.sub(r"(?<!\\)%.*", "", body)
    body = TEX_SECTION.sub(lambda m: f"\n\n{m.group(2).upper()}\n\n", body)
    body = TEX_COMMAND.sub("", body)
    body = re.sub(r"\\begin\{abstract\}", "\nABSTRACT\n", body)
    body = re.sub(r"\\(begin|end)\{[^}]*\}", "", body)
    body = re.sub(r"\\[a-zA-Z]+\*?(\[[^\]]*\])?\{([^}]*)\}", r"\2", body)
    body = re.sub(r"\\[a-zA-Z]+", "", body)
    return re.sub(r"\n{3,}", "\n\n", body.replace("{", "").replace("}", "")).strip()


def read_paper(path: Path) -> str:
    """The paper's text; a clear error for a missing, empty or unsupported file."""
    if not path.is_file():
        raise UsageError(f"paper not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        if shutil.which("pdftotext") is None:
            raise UsageError("reading a PDF needs pdftotext", hint="apt-get install poppler-utils")
        done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, timeout=120)
        if done.returncode != 0:
            raise UsageError(f"{path}: pdftotext could not read it ({done.stderr.decode(errors='replace')[:200]})")
        text = done.stdout.decode("utf-8", errors="replace")
    elif suffix == ".tex":
        text = tex_to_text(path.read_text(encoding="utf-8", errors="replace"))
    elif suffix in (".txt", ".md"):
        text = path.read_text(encoding="utf-8", errors="replace")
    else:
        raise UsageError(f"{path}: give a .pdf, .tex or .txt paper")
    if len(text.split()) < 50:
        raise UsageError(f"{path}: no readable text in it (scanned PDF?)")
    return text
