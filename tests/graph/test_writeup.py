"""The paper step: nasty model text still compiles, unsupported numbers and citations are corrected or flagged,
and the PDF carries the runs' figure and numbers."""

from __future__ import annotations

import json
import subprocess

import pytest

from scientist.llm.scripted.research import PAPER
from tests.graph.conftest import TOY, only_run

pytestmark = pytest.mark.slow

NASTY = {**PAPER,
         "introduction": "We use \\undefinedcommand{x} and {unbalanced braces, 50% of cases & more_things; "
                         "naïve “quotes” — σ ≈ 1 → done \\input{/etc/passwd}.",
         "results": "The baseline has mean_value 2.25; run_1 reaches 4.5 and a magic 97.3 appears [@made_up_2099]."}


def test_nasty_latex_compiles_and_false_claims_are_flagged(scientist, research_model, tmp_path):
    research_model.overrides["PaperSections"] = lambda body: NASTY
    done = scientist("run", str(TOY), "--auto", "--num-ideas", "1")
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    assert (run / "paper" / "paper.pdf").is_file(), (run / "paper" / "compile.log").read_text()[-2000:]
    claims = json.loads((run / "paper" / "claims_check.json").read_text())
    assert claims["unmatched_numbers"] == {"results": ["97.3"]}
    assert claims["unknown_citations"] == ["made_up_2099"]
    assert research_model.calls["PaperSections"] == 2, "one correction was asked for"
    assert "FLAGGED" in (run / "summary.md").read_text()
    tex = (run / "paper" / "paper.tex").read_text()
    assert "\\undefinedcommand" not in tex and "\\input{/etc" not in tex and "made_up_2099" not in tex
    text = subprocess.run(["pdftotext", str(run / "paper" / "paper.pdf"), "-"], capture_output=True, text=True).stdout
    assert "50%" in text and "unbalanced braces" in text
    assert "run 1 (step 1)" in text, "the results table names each run by the plan's name"


def test_a_correction_that_fixes_the_claims_leaves_a_clean_check(scientist, research_model, tmp_path):
    answers = iter([NASTY, {**NASTY, "results": "The baseline has mean_value 2.25 and run_1 reaches 4.5."}])
    research_model.overrides["PaperSections"] = lambda body: next(answers)
    assert scientist("run", str(TOY), "--auto", "--num-ideas", "1").returncode == 0
    claims = json.loads((only_run(tmp_path) / "paper" / "claims_check.json").read_text())
    assert claims["unmatched_numbers"] == {} and claims["unknown_citations"] == []


def test_pdf_page_renders_with_the_figure_and_a_results_number(scientist, tmp_path):
    assert scientist("run", str(TOY), "--auto", "--num-ideas", "1").returncode == 0
    paper = only_run(tmp_path) / "paper" / "paper.pdf"
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(paper), str(tmp_path / "page")],
                   check=True)
    page = next(tmp_path.glob("page*.png"))
    assert page.read_bytes().startswith(b"\x89PNG") and page.stat().st_size > 2000
    images = subprocess.run(["pdfimages", "-list", str(paper)], capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) >= 3, "the run's figure is embedded"
    text = subprocess.run(["pdftotext", str(paper), "-"], capture_output=True, text=True).stdout
    assert "2.25" in text and "toy.png" in text
