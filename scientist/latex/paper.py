"""Assemble the paper: the template's preamble, sections built with pylatex, a results table and
figures made by code from the runs (so no number in them is the model's), and the bibliography."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pylatex import Figure, NoEscape, Section, Tabular
from pylatex.utils import escape_latex

from scientist.analysis.ledger import VERDICT_WORDS, IdeaAnalysis, fmt_p
from scientist.latex.sanitize import sanitize
from scientist.schemas import PaperSections

SECTION_TITLES = (("introduction", "Introduction"), ("related_work", "Related Work"), ("method", "Method"),
                  ("experimental_setup", "Experimental Setup"), ("results", "Results"),
                  ("discussion", "Discussion and Limitations"), ("conclusion", "Conclusion"))
DROP_FROM_PREAMBLE = re.compile(r"^\s*\\(title|author|date)\b.*$", re.MULTILINE)
NEEDED_PACKAGES = ("graphicx", "booktabs")


def preamble_of(template_tex: str) -> str:
    """The template's preamble without its title, author and date; with the packages the paper needs."""
    head = template_tex.split("\\begin{document}", 1)[0]
    head = DROP_FROM_PREAMBLE.sub("", head)
    for package in NEEDED_PACKAGES:
        if not re.search(r"\\usepackage(\[[^\]]*\])?\{[^}]*\b" + package + r"\b", head):
            head += f"\\usepackage{{{package}}}\n"
    return head.rstrip() + "\n"


def fmt(value: float) -> str:
    """Four significant digits, as the table and the numbers check both print them."""
    return f"{value:.4g}"


def results_table(rows: list[tuple[str, dict[str, float], dict[str, float]]], metrics: list[str]) -> str:
    """A booktabs table: one row per run, mean (± stderr) per metric."""
    table = Tabular("l" + "r" * len(metrics), booktabs=True)
    table.add_row(["run", *[NoEscape(escape_latex(m)) for m in metrics]])
    table.add_hline()
    for label, means, stderrs in rows:
        cells = []
        for metric in metrics:
            if metric not in means:
                cells.append("--")
            elif metric in stderrs:
                cells.append(NoEscape(f"{fmt(means[metric])} $\\pm$ {fmt(stderrs[metric])}"))
            else:
                cells.append(fmt(means[metric]))
        table.add_row([label, *cells])
    return ("\\begin{table}[h]\n\\centering\n\\small\n" + table.dumps() +
            "\n\\caption{Means ($\\pm$ standard error) from the runs' final\\_info.json files.}\n\\end{table}\n")


def comparison_table(analysis: IdeaAnalysis) -> str:
    """The pre-registered comparisons of one idea on its primary metric, rendered from the ledger."""
    used = analysis.used
    table = Tabular("llrrrl", booktabs=True)
    table.add_row(["run", "setting", "mean (run vs baseline)", "difference (95% CI)", "p (Holm)", "verdict"])
    table.add_hline()
    for c in analysis.primary():
        interval = f" [{fmt(c.ci_low)}, {fmt(c.ci_high)}]" if c.ci_low is not None else ""
        table.add_row([c.run, c.setting, f"{fmt(c.run_mean)} vs {fmt(c.baseline_mean)}",
                       f"{c.difference:+.4g}{interval}", fmt_p(c.p_adjusted),
                       "no test" if c.verdict == "untested" else VERDICT_WORDS[c.verdict]])
    direction = {"max": "higher is better", "min": "lower is better"}.get(used.direction, "direction unknown")
    tests = sorted({c.test for c in analysis.primary() if c.test})
    caption = (f"Pre-registered comparisons with the baseline on {used.primary_metric} ({direction}), computed "
               f"from per-seed results: {', '.join(tests) or 'no test (per-seed values not reported)'}, "
               f"Holm-corrected across runs, alpha {used.alpha:g}.")
    return ("\\begin{table}[h]\n\\centering\n\\small\n\\resizebox{\\linewidth}{!}{%\n" + table.dumps() +
            f"}}\n\\caption{{{escape_latex(caption)}}}\n\\end{{table}}\n")


def figure_block(path: Path, caption: str) -> str:
    fig = Figure(position="h")
    fig.add_image(path.name, width=NoEscape(r"0.75\linewidth"))
    fig.add_caption(NoEscape(escape_latex(caption)))
    return fig.dumps() + "\n"


CITE_MARK = re.compile(r"\[@([A-Za-z0-9_:\-]+)\]")


def with_citations(raw: str, known: set[str], escape: Callable[[str], str]) -> str:
    """Escape ``raw`` and turn its ``[@key]`` markers into ``\\cite{key}``; unknown keys are dropped."""
    keys: list[str] = []

    def hold(match: re.Match[str]) -> str:
        keys.append(match.group(1))
        return f"ZZCITE{len(keys) - 1}ZZ"

    latex = escape(CITE_MARK.sub(hold, raw))
    return re.sub(r"ZZCITE(\d+)ZZ", lambda m: (f"~\\cite{{{keys[int(m.group(1))]}}}"
                                                if keys[int(m.group(1))] in known else ""), latex)


def build_tex(template_tex: str, sections: PaperSections, tables: list[str], figures: list[tuple[Path, str]],
              has_bibliography: bool, clean: bool = True, citation_keys: set[str] | None = None) -> str:
    """The whole ``paper.tex``. ``clean=False`` escapes everything (no math), the fallback after a failed compile."""
    keys = citation_keys or set()

    def text(value: str) -> str:
        return with_citations(value, keys, sanitize if clean else escape_latex)

    preamble = preamble_of(template_tex)
    style = "plainnat" if "natbib" in preamble else "plain"
    parts = [preamble, f"\\title{{{text(sections.title)}}}\n",
             "\\author{scientist (automated research run)}\n\\date{}\n\\begin{document}\n\\maketitle\n",
             f"\\begin{{abstract}}\n{text(sections.abstract)}\n\\end{{abstract}}\n"]
    for key, title in SECTION_TITLES:
        section = Section(title)
        section.append(NoEscape(text(getattr(sections, key))))
        body = section.dumps() + "\n"
        if key == "results":
            body += "".join(tables) + "".join(figure_block(p, c) for p, c in figures)
        parts.append(body)
    if has_bibliography:
        parts.append(f"\\nocite{{*}}\n\\bibliographystyle{{{style}}}\n\\bibliography{{references}}\n")
    parts.append("\\end{document}\n")
    return "".join(parts)
