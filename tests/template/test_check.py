"""Templates: the shipped ones pass their check; broken ones fail with one clear error naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scientist.latex.compile import parse_log
from scientist.sandbox.probe import bwrap_status
from scientist.template.check import check_template
from scientist.template.manifest import TemplateError, load_template

REPO = Path(__file__).resolve().parents[2]
MINIMAL = Path(__file__).parent / "ai_scientist_minimal"
SHIPPED = sorted(p for p in (REPO / "templates").iterdir() if (p / "experiment.py").is_file())
needs_sandbox = pytest.mark.skipif(not bwrap_status().ok, reason="bwrap sandbox unavailable")


@pytest.fixture
def sandbox():
    from scientist.sandbox.bwrap import BwrapSandbox

    return BwrapSandbox()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    folder = tmp_path / "broken_template"
    shutil.copytree(MINIMAL, folder)
    return folder


def failed_step(report):
    return next(step for step in report.steps if not step.ok)


def test_at_least_three_templates_ship():
    assert len(SHIPPED) >= 3


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_templates_load_with_manifest_and_seed_ideas(folder):
    template = load_template(folder)
    assert template.has_manifest and template.manifest.metrics
    assert len(template.seed_ideas) >= 5
    assert template.manifest.limits.timeout_s <= 180


@pytest.mark.slow
@needs_sandbox
@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_templates_pass_their_check(folder, sandbox):
    report = check_template(folder, sandbox)
    assert report.ok, report.model_dump_json(indent=2)
    assert [s.name for s in report.steps] == ["manifest and files", "baseline run", "plot", "latex"]


@needs_sandbox
def test_an_ai_scientist_template_without_manifest_loads_and_checks(sandbox):
    template = load_template(MINIMAL)
    assert not template.has_manifest and template.manifest.name == "ai_scientist_minimal"
    report = check_template(MINIMAL, sandbox)
    assert report.ok, report.model_dump_json(indent=2)
    assert "The AI Scientist" in report.steps[0].detail
    assert "placeholder: example_plot_run_0.png" in report.steps[-1].detail, "the skeleton's example figure"
    assert not (MINIMAL / "latex" / "example_plot_run_0.png").exists(), "the check works on a copy"


def test_missing_experiment_py_is_named(broken):
    (broken / "experiment.py").unlink()
    with pytest.raises(TemplateError, match=r"experiment\.py: required template file is missing"):
        load_template(broken)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"Name": "x"}', "non-empty JSON list"),
    ('[{"Name": "x", "Title": "t"}]', "idea 0: Experiment"),
])
def test_malformed_seed_ideas_are_named(broken, content, message):
    (broken / "seed_ideas.json").write_text(content)
    with pytest.raises(TemplateError, match=message) as info:
        load_template(broken)
    assert "seed_ideas.json" in str(info.value)


@needs_sandbox
def test_a_crashing_baseline_is_named(broken, sandbox):
    (broken / "experiment.py").write_text("raise RuntimeError('boom at import')\n")
    step = failed_step(check_template(broken, sandbox))
    assert step.name == "baseline run"
    assert "experiment.py: the baseline failed" in step.detail and "boom at import" in step.detail


@needs_sandbox
def test_final_info_without_metrics_is_named(broken, sandbox):
    (broken / "experiment.py").write_text(
        "import json, os, sys\nos.makedirs(sys.argv[2], exist_ok=True)\n"
        "json.dump({'toy': {'stderrs': {}}}, open(os.path.join(sys.argv[2], 'final_info.json'), 'w'))\n")
    step = failed_step(check_template(broken, sandbox))
    assert "final_info.json" in step.detail and "no 'means'" in step.detail


@needs_sandbox
def test_a_nan_metric_is_named(broken, sandbox):
    (broken / "experiment.py").write_text(
        "import json, os, sys\nos.makedirs(sys.argv[2], exist_ok=True)\n"
        "open(os.path.join(sys.argv[2], 'final_info.json'), 'w').write('{\"toy\": {\"means\": {\"m\": NaN}}}')\n")
    step = failed_step(check_template(broken, sandbox))
    assert "toy.means.m' is not finite" in step.detail


@needs_sandbox
def test_latex_that_does_not_compile_is_named(broken, sandbox):
    tex = broken / "latex" / "template.tex"
    tex.write_text(tex.read_text().replace("A toy template.", "A toy \\undefinedcommand template."))
    step = failed_step(check_template(broken, sandbox))
    assert step.name == "latex"
    assert "template.tex:26" in step.detail and "Undefined control sequence" in step.detail


@needs_sandbox
def test_a_missing_latex_package_names_what_to_install(broken, sandbox):
    tex = broken / "latex" / "template.tex"
    tex.write_text(tex.read_text().replace("\\begin{document}", "\\usepackage{nosuchpackagexyz}\n\\begin{document}"))
    step = failed_step(check_template(broken, sandbox))
    assert step.name == "latex" and "nosuchpackagexyz.sty' not found" in step.detail
    assert "apt-file search nosuchpackagexyz.sty" in step.detail


def test_a_missing_sty_names_its_debian_package():
    from scientist.latex.compile import missing_package_hint

    assert "texlive-science" in missing_package_hint("LaTeX Error: File `algorithm.sty' not found.")
    assert missing_package_hint("Undefined control sequence.") == ""


def test_parse_log_reads_file_line_errors():
    log = "\n".join([
        "(./paper.tex",
        "./paper.tex:12: Undefined control sequence.",
        "l.12 \\foo",
        "! Missing $ inserted.",
        "<inserted text>",
        "l.40 x_1",
    ])
    errors = parse_log(log, "paper.tex")
    assert [(e.file, e.line, e.message) for e in errors] == [
        ("paper.tex", 12, "Undefined control sequence."), ("paper.tex", 40, "Missing $ inserted.")]


def test_template_check_cli_exit_codes(tmp_path, broken):
    import subprocess
    import sys

    (broken / "experiment.py").unlink()
    done = subprocess.run([sys.executable, "-c", "from scientist.cli import main; main()", "template", "check",
                           str(broken), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, "a template that does not load is bad input, as `scientist run` says"
    report = json.loads(done.stdout)
    assert report["steps"][0]["ok"] is False and "experiment.py" in done.stderr


def test_an_unknown_key_in_a_metric_is_refused(tmp_path):
    folder = tmp_path / "t"
    shutil.copytree(MINIMAL, folder)
    (folder / "template.toml").write_text('name = "t"\n[[metrics]]\nname = "acc"\ndirektion = "max"\n')
    with pytest.raises(TemplateError, match="direktion"):
        load_template(folder)
