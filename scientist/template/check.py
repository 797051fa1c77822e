"""``scientist template check``: validate a template and run its baseline, plot and LaTeX for real."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from scientist.errors import ScientistError
from scientist.experiments.facts.results import read_final_info
from scientist.latex.compile import compile_pdf, missing_package_hint
from scientist.sandbox.base import ExecResult, Limits, Sandbox
from scientist.template.manifest import Template, infer_metrics, load_template

FIGURE_SUFFIXES = (".png", ".pdf")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class CheckStep(BaseModel):
    """One row of the check table."""

    name: str
    ok: bool
    seconds: float
    detail: str


class CheckReport(BaseModel):
    """Every step, in order; the check passes when all ran and passed."""

    template: str
    steps: list[CheckStep]

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)


def valid_figure(path: Path) -> bool:
    """A non-empty PNG or PDF whose first bytes say so."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    head = path.read_bytes()[:8]
    return head.startswith(PNG_MAGIC) if path.suffix == ".png" else head.startswith(b"%PDF")


def _tail(result: ExecResult, lines: int = 6) -> str:
    text = (result.stderr or result.stdout).strip().splitlines()
    return " | ".join(text[-lines:]) if text else f"exit {result.returncode}"


class TemplateChecker:
    """Runs the steps of a template check, stopping at the first failure."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.steps: list[CheckStep] = []

    def _step(self, name: str, action: Callable[[], str]) -> bool:
        started = time.perf_counter()
        try:
            detail, ok = action(), True
        except ScientistError as exc:
            detail, ok = exc.one_line(), False
        self.steps.append(CheckStep(name=name, ok=ok, seconds=time.perf_counter() - started, detail=detail))
        return ok

    def check(self, folder: Path) -> CheckReport:
        holder: dict[str, Template] = {}

        def load() -> str:
            holder["t"] = template = load_template(folder)
            notes = f"; {template.notes[0]}" if template.notes else ""
            return f"{len(template.seed_ideas)} seed ideas{notes}"

        if self._step("manifest and files", load):
            template = holder["t"]
            with tempfile.TemporaryDirectory(prefix="scientist-template-") as tmp:
                work = Path(tmp) / "work"
                shutil.copytree(template.path, work, ignore=shutil.ignore_patterns("run_*", "__pycache__"))
                (self._step("baseline run", lambda: self._baseline(template, work))
                 and self._step("plot", lambda: self._plot(template, work))
                 and self._step("latex", lambda: self._latex(work)))
        return CheckReport(template=str(folder), steps=self.steps)

    def _limits(self, template: Template) -> Limits:
        lim = template.manifest.limits
        return Limits(timeout_s=lim.timeout_s, memory_mb=lim.memory_mb, cpus=lim.cpus)

    def _baseline(self, template: Template, work: Path) -> str:
        result = self.sandbox.run(["python", "experiment.py", "--out_dir", "run_0"], work, self._limits(template))
        if not result.ok:
            raise TemplateCheckFailed(f"{template.path / 'experiment.py'}: the baseline failed "
                                      f"({result.one_line()}): {_tail(result)}")
        means = read_final_info(work / "run_0" / "final_info.json", template.metric_names or None)
        infer_metrics(template, means)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in list(next(iter(means.values())).items())[:3])
        return f"{result.one_line()}; {len(means)} setting(s); {shown}"

    def _plot(self, template: Template, work: Path) -> str:
        before = {p for p in work.iterdir() if p.suffix in FIGURE_SUFFIXES}
        result = self.sandbox.run(["python", "plot.py"], work, self._limits(template))
        if not result.ok:
            raise TemplateCheckFailed(f"{template.path / 'plot.py'}: failed ({result.one_line()}): {_tail(result)}")
        made = sorted(p for p in work.iterdir() if p.suffix in FIGURE_SUFFIXES and p not in before)
        bad = [p.name for p in made if not valid_figure(p)]
        if not made or bad:
            raise TemplateCheckFailed(f"{template.path / 'plot.py'}: "
                                      + (f"invalid figure(s) {bad}" if bad else "wrote no PNG or PDF figure"))
        return f"{len(made)} figure(s): {', '.join(p.name for p in made)}"

    def _latex(self, work: Path) -> str:
        latex = work / "latex"
        for figure in work.iterdir():
            if figure.suffix in FIGURE_SUFFIXES:
                shutil.copy2(figure, latex / figure.name)
        placeholders = placeholder_figures(latex / "template.tex")
        result = compile_pdf(latex / "template.tex")
        if not result.ok:
            first = result.errors[0]
            where = f"{first.file}:{first.line}" if first.line else first.file
            raise TemplateCheckFailed(f"latex/{where}: does not compile: {first.message}"
                                      f"{missing_package_hint(first.message)}")
        note = (f"; example figure(s) plot.py does not make, compiled with a placeholder: {', '.join(placeholders)} "
                "(scientist's papers use the template's preamble only)" if placeholders else "")
        return f"compiled in {result.seconds:.1f}s{note}"


INCLUDED = re.compile(r"\\includegraphics\s*(?:\[[^\]]*\])?\s*\{([^}]+)\}")
# a 1x1 white PNG: what a skeleton's example figure is compiled with when the template's plot.py does not make it
PLACEHOLDER_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c63f80f040009fb03fdfb5e6b2b0000000049454e44ae426082")


def placeholder_figures(tex: Path) -> list[str]:
    """Write a placeholder for each figure ``tex`` includes that is not beside it (The AI Scientist's
    skeletons show an example figure whose file name their plot.py does not always make); their names."""
    made = []
    for name in INCLUDED.findall(tex.read_text(encoding="utf-8", errors="replace")):
        target = tex.parent / name.strip()
        candidates = [target] if target.suffix else [target.with_suffix(s) for s in (".png", ".pdf", ".jpg")]
        if any(c.is_file() for c in candidates) or ".." in Path(name).parts or Path(name).is_absolute():
            continue
        path = target if target.suffix else target.with_suffix(".png")
        if path.suffix.lower() == ".png":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(PLACEHOLDER_PNG)
            made.append(name.strip())
    return made


class TemplateCheckFailed(ScientistError):
    """A step of the template check failed."""

    code = "template_check_failed"


def run_baseline(template: Template, sandbox: Sandbox, into: Path) -> tuple[str, float]:
    """Run the template's baseline once in a copy of it at ``into`` (the pre-flight of ``scientist run``):
    ``into/run_0`` holds its results. A failing baseline raises ``TemplateCheckFailed`` naming the file."""
    shutil.copytree(template.path, into, ignore=shutil.ignore_patterns("run_*", "__pycache__"))
    started = time.perf_counter()
    detail = TemplateChecker(sandbox)._baseline(template, into)
    return detail, time.perf_counter() - started


def check_template(folder: Path, sandbox: Sandbox) -> CheckReport:
    """Validate ``folder`` and run its baseline, plot and LaTeX."""
    return TemplateChecker(sandbox).check(folder)
