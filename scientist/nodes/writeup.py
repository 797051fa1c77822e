"""Writeup: the model writes the sections; the code builds the LaTeX (table, figures, escaping) and compiles it."""

from __future__ import annotations

import ast
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bibtexparser
from langgraph.runtime import Runtime
from pydantic import BaseModel, create_model

from scientist.analysis.ledger import IdeaAnalysis, ledger_numbers, ledger_text, statement
from scientist.analysis.per_seed import read_stderrs
from scientist.analysis.record import limitations, run_changes
from scientist.claims import ClaimsCheck, check_claims, numbers_in
from scientist.failures import Attempt, Category
from scientist.latex.compile import CompileResult, compile_pdf
from scientist.latex.paper import build_tex, comparison_table, fmt, results_table
from scientist.literature.verdict import NoveltyVerdict
from scientist.prompts import render
from scientist.runstore import write_atomic
from scientist.schemas import FidelityVerdict, PaperSections
from scientist.services import Services
from scientist.state import RunState

MAX_CITED_PER_IDEA = 8


def result_rows(outcome: dict[str, Any], workdir: Path) -> list[tuple[str, dict[str, float], dict[str, float]]]:
    """(label, means, stderrs) per run of one idea and its first setting, baseline first, successes only."""
    baseline = outcome.get("baseline") or {}
    setting = next(iter(baseline), None)
    if setting is None:
        return []
    runs = [("run_0", "run_0 (baseline)", baseline[setting])]
    runs += [(run["run"], f"{run['run']} ({run['name']})" if run.get("name") else run["run"], run["means"][setting])
             for run in outcome.get("runs", [])
             if run.get("ok") and run.get("means") and setting in run["means"]]
    return [(label, means, read_stderrs(workdir / name / "final_info.json").get(setting, {}))
            for name, label, means in runs]


def stderr_values(services: Services) -> list[float]:
    """Standard errors of every run, read from the runs' final_info.json files."""
    return [float(v) for path in (services.folder.path / "experiments").glob("*/run_*/final_info.json")
            for stderrs in read_stderrs(path).values() for v in stderrs.values()]


def results_text(outcome: dict[str, Any]) -> str:
    """The runs' numbers as the model reads them."""
    lines = []
    baseline = outcome.get("baseline")
    if not baseline:
        return f"no results: {outcome.get('status', 'baseline failed')}"
    for setting, means in baseline.items():
        lines.append(f"run_0 baseline [{setting}]: " + ", ".join(f"{k}={fmt(v)}" for k, v in means.items()))
    for run in outcome.get("runs", []):
        if run.get("ok"):
            for setting, means in (run.get("means") or {}).items():
                lines.append(f"{run['run']} ({run['change']}) [{setting}]: "
                             + ", ".join(f"{k}={fmt(v)}" for k, v in means.items()))
            fidelity = FidelityVerdict.model_validate(run["fidelity"]) if run.get("fidelity") else None
            if fidelity is not None and fidelity.verdict != "faithful":
                lines.append(f"{run['run']} CAVEAT: a check of its code found the change implemented "
                             f"{'only in part' if fidelity.verdict == 'partial' else 'differently'}: "
                             f"{fidelity.missing}. Say so where its results are reported.")
            problems = (run.get("signals") or {}).get("problems") or []
            if problems:
                lines.append(f"{run['run']} CAVEAT: it executed, but checks of its code and results found: "
                             f"{'; '.join(problems)}. Say so where its results are reported.")
        else:
            lines.append(f"{run['run']} ({run['change']}): FAILED after {run['attempts']} attempts ({run['failure']})")
    return "\n  ".join(lines)


class Citation(BaseModel):
    """A work the paper may cite: the template's own references and the papers the novelty search found."""

    key: str
    title: str
    year: int | None = None
    bibtex: str


def citations_for(services: Services) -> list[Citation]:
    """Citable works, with unique keys."""
    found: list[Citation] = []
    bib = services.template.path / "latex" / "references.bib"
    if bib.is_file():
        for entry in bibtexparser.parse_string(bib.read_text(encoding="utf-8", errors="replace")).entries:
            fields = {k.lower(): str(v.value) for k, v in entry.fields_dict.items()}
            year = "".join(ch for ch in fields.get("year", "") if ch.isdigit())[:4]
            found.append(Citation(key=entry.key, title=fields.get("title", "").replace("{", "").replace("}", ""),
                                  year=int(year) if len(year) == 4 else None, bibtex=""))
    keys = {c.key for c in found}
    for path in sorted((services.folder.path / "ideas" / "novelty").glob("*.json")):
        for paper in NoveltyVerdict.model_validate_json(path.read_text()).papers[:MAX_CITED_PER_IDEA]:
            key, n = paper.key, 2
            while key in keys:
                key, n = f"{paper.key}{n}", n + 1
            keys.add(key)
            found.append(Citation(key=key, title=paper.title, year=paper.year, bibtex=paper.bibtex(key)))
    return found


def run_values(state: RunState, services: Services) -> list[float]:
    """Every mean and standard error the runs produced (the numbers a paper may state)."""
    values = stderr_values(services)
    for outcome in state.get("experiments", {}).values():
        for means in [outcome.get("baseline") or {}] + [r.get("means") or {} for r in outcome.get("runs", [])]:
            for metrics in means.values():
                values += list(metrics.values())
    return values


def analyses_of(state: RunState) -> list[IdeaAnalysis]:
    """The claims ledger: each idea's analysis (``analysis.json``), in the order of the ideas."""
    found = state.get("analysis", {})
    return [IdeaAnalysis.model_validate(found[i["name"]]) for i in state.get("ideas", []) if i["name"] in found]


def setting_numbers(state: RunState, services: Services) -> list[float]:
    """Numbers a paper may state as settings, not results: the template's module constants, its
    description, the ideas' texts and the plans' changes."""
    template = services.template
    texts = [template.manifest.description, template.prompt.task_description]
    code = template.path / "experiment.py"
    if code.is_file():
        try:
            tree = ast.parse(code.read_text(encoding="utf-8"))
        except SyntaxError:
            tree = None
        for node in tree.body if tree else []:
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                texts.append(ast.unparse(node.value))
    for idea in state.get("ideas", []):
        texts += [str(idea.get(k, "")) for k in ("title", "hypothesis", "experiment_plan")]
    for plan in state.get("plans", {}).values():
        texts += [str(run.get("change", "")) for run in plan.get("runs", [])]
    return [v for text in texts for v in numbers_in(text)]


@dataclass(frozen=True)
class ClaimsContext:
    """What a paper's sections are checked against: the ledger, the run values, the citable keys and
    the settings."""

    analyses: list[IdeaAnalysis]
    values: list[float]
    keys: set[str]
    settings: list[float]

    def check(self, sections: PaperSections) -> ClaimsCheck:
        return check_claims(sections.model_dump(), self.values, self.keys,
                            [c for a in self.analyses for c in a.comparisons], self.settings)


def claims_context(state: RunState, services: Services, citations: list[Citation]) -> ClaimsContext:
    analyses = analyses_of(state)
    return ClaimsContext(analyses=analyses, values=run_values(state, services) + ledger_numbers(analyses),
                         keys={c.key for c in citations}, settings=setting_numbers(state, services))


def ideas_for_writer(state: RunState) -> list[dict[str, Any]]:
    """Each idea as the writer reads it: title, hypothesis, novelty verdict and results."""
    ideas = []
    for idea in state.get("ideas", []):
        outcome = state.get("experiments", {}).get(idea["name"], {})
        verdict = state.get("novelty", {}).get(idea["name"], {}).get("verdict", "unchecked")
        ideas.append({"title": idea["title"], "name": idea["name"], "hypothesis": idea["hypothesis"],
                      "novelty": verdict, "results": results_text(outcome)})
    return ideas


def write_sections(state: RunState, services: Services, citations: list[Citation]) -> tuple[PaperSections, ClaimsCheck]:
    """The model's sections, written around the claims ledger, checked and rewritten at most
    ``claims_repairs`` times; what is still unsupported is returned in the check."""
    context = claims_context(state, services, citations)
    figures = ", ".join(Path(f).name for f in state.get("figures", [])) or "none"
    user = render("writeup", "write", task_description=services.template.prompt.task_description,
                  ideas=ideas_for_writer(state), figures=figures, feedback=state.get("feedback", {}).get("paper"),
                  citations=citations, ledger=ledger_text(context.analyses))
    messages = [{"role": "system", "content": render("writeup", "system")}, {"role": "user", "content": user}]
    sections = services.gateway.structured(messages, PaperSections, role="writing", stage="writeup", max_tokens=3000)
    return corrected(sections, messages, context, services, stage="writeup")


def corrected(sections: PaperSections, messages: list[dict[str, str]], context: ClaimsContext, services: Services,
              stage: str) -> tuple[PaperSections, ClaimsCheck]:
    """``sections`` checked against the claims context and, while something is wrong, the sections with
    a problem asked for again (at most ``claims_repairs`` times) after ``messages``."""
    report = context.check(sections)
    for rewrite in range(1, services.settings.claims_repairs + 1):
        if report.clean:
            break
        services.progress(stage, "rewriting numbers, claims or citations the analysis does not support")
        wrong = sorted(problem_sections(report, sections))
        if not wrong:
            break
        fix = render("writeup", "correct", numbers=report.unmatched_sentences, claims=report.unsupported_claims,
                     citations=", ".join(report.unknown_citations), ledger=ledger_text(context.analyses),
                     sections=wrong)
        messages = [*messages, {"role": "assistant", "content": sections.model_dump_json()},
                    {"role": "user", "content": fix}]
        # only the sections with a problem are asked for again, so the rewrite costs a fraction of the
        # draft, and sections that were fine stay as they were (a small model's full rewrite often
        # repeated one paragraph in every section)
        rewritten = services.gateway.structured(messages, sections_model(wrong), role="writing",
                                                stage=f"{stage}/correct", max_tokens=700 * len(wrong) + 200)
        sections = sections.model_copy(update={name: getattr(rewritten, name) for name in wrong})
        report = context.check(sections)
        report.rewrites = rewrite
    return sections, report


def sections_model(names: list[str]) -> type[BaseModel]:
    """A ``PaperSections`` with only the sections ``names``, for asking for a few again."""
    return create_model("PaperSections", __doc__=PaperSections.__doc__,
                        **{name: (str, PaperSections.model_fields[name]) for name in names})


def problem_sections(report: ClaimsCheck, sections: PaperSections) -> set[str]:
    """The sections a claims check found something wrong in."""
    names = set(report.unmatched_numbers) | {c.section for c in report.unsupported_claims}
    names |= {name for name, text in sections.model_dump().items()
              if any(f"[@{key}]" in text for key in report.unknown_citations)}
    return names


def flag_unsupported(sections: PaperSections, report: ClaimsCheck) -> PaperSections:
    """The sections with each sentence still unsupported after the rewrite marked where it stands, so a
    reader of the PDF sees it too."""
    texts = sections.model_dump()
    marks = [(c.section, c.sentence, "a claim the analysis does not support") for c in report.unsupported_claims]
    marks += [(u.section, u.sentence, "a number no run produced") for u in report.unmatched_sentences]
    for section, sentence, why in marks:
        if sentence in texts.get(section, "") and f"{sentence} [FLAGGED" not in texts[section]:
            texts[section] = texts[section].replace(sentence, f"{sentence} [FLAGGED: {why}; see claims_check.json]", 1)
    return PaperSections.model_construct(**texts)


def with_record_text(sections: PaperSections, state: RunState, services: Services) -> PaperSections:
    """The sections with what code states from the record: the idea's title, each run's change, the
    comparison statements of the ledger and the limitations."""
    analyses = analyses_of(state)
    texts = sections.model_dump()
    ideas = state.get("ideas", [])
    if len(ideas) == 1:
        texts["title"] = ideas[0]["title"]
    runs, said, limits = [], [], []
    for analysis in analyses:
        workdir = services.folder.path / "experiments" / analysis.idea
        runs += run_changes(analysis, state.get("plans", {}).get(analysis.idea, {}), workdir)
        said += [statement(c, analysis.used.alpha) for c in analysis.comparisons if c.primary]
        novelty = state.get("novelty", {}).get(analysis.idea, {}).get("verdict", "unchecked")
        limits += limitations(analysis, novelty)
    if runs:
        texts["method"] += "\n\nThe runs, each against the unchanged baseline run_0: " + "; ".join(runs) + "."
    if said:
        primary = analyses[0].used
        texts["results"] += (f"\n\nPre-registered comparisons on the primary metric ({primary.primary_metric}), "
                             "computed by code from the per-seed results: " + " ".join(said))
    if limits:
        texts["discussion"] += "\n\nLimitations (from the run's record): " + " ".join(dict.fromkeys(limits))
    return PaperSections.model_construct(**texts)


def assemble(state: RunState, services: Services, sections: PaperSections, clean: bool,
             citations: list[Citation], out: Path) -> Path:
    """Write ``out/paper.tex`` with its figures and bibliography next to it."""
    template_latex = services.template.path / "latex"
    bib = template_latex / "references.bib"
    own = bib.read_text(encoding="utf-8", errors="replace") if bib.is_file() else ""
    write_atomic(out / "references.bib", own + "\n" + "\n".join(c.bibtex for c in citations if c.bibtex))
    figures = []
    for rel in state.get("figures", []):
        src = services.folder.path / rel
        shutil.copy2(src, out / src.name)
        idea, _, name = src.name.partition("__")
        figures.append((out / src.name, f"{name} for idea {idea}."))
    metrics = services.template.metric_names
    tables = []
    for name, outcome in state.get("experiments", {}).items():
        rows = result_rows(outcome, services.folder.path / "experiments" / name)
        if rows:
            tables.append(results_table(rows, metrics or sorted(rows[0][1])))
    for analysis in analyses_of(state):
        if analysis.primary():
            tables.append(comparison_table(analysis))
    tex = build_tex((template_latex / "template.tex").read_text(encoding="utf-8"), sections, tables, figures,
                    has_bibliography=bool(citations), clean=clean, citation_keys={c.key for c in citations})
    path = out / "paper.tex"
    write_atomic(path, tex)
    return path


def _log_latex(services: Services, attempt: int, result: CompileResult, idea: str, out: Path) -> None:
    first = result.errors[0] if result.errors else None
    services.failures.record(Attempt(
        run_id=services.folder.run_id, idea=idea, stage="latex", attempt=attempt,
        model=services.settings.model_for("writing"), template=services.template.manifest.name,
        category=None if result.ok else Category.LATEX_ERROR,
        message=None if result.ok or first is None else f"{first.file}:{first.line}: {first.message}",
        wall_s=result.seconds, run_dir=str(out)))


def flagged_note(stage: str, claims: ClaimsCheck, where: str) -> str:
    """The run note for a draft whose claims check still found something after its rewrites."""
    flagged = [n for ns in claims.unmatched_numbers.values() for n in ns]
    return (f"{stage}: FLAGGED after {claims.rewrites} rewrite(s): {len(claims.unsupported_claims)} claim(s) "
            f"the analysis does not support, {len(flagged)} number(s) no run produced "
            f"({', '.join(flagged) or 'none'}) and {len(claims.unknown_citations)} unknown citation key(s); "
            f"see {where}/claims_check.json")


def publish(state: RunState, services: Services, sections: PaperSections, claims: ClaimsCheck,
            citations: list[Citation], out: Path, stage: str) -> tuple[dict[str, Any], list[str]]:
    """Write ``sections.json`` and ``claims_check.json`` into ``out``, then the LaTeX with the record's
    text and the flags, compiled; a failed compile is retried once fully escaped. Returns the
    paper's state entry and the run notes."""
    where = out.relative_to(services.folder.path).as_posix()
    idea = "paper" if stage == "writeup" else stage  # the failure log's name for this paper's compiles
    write_atomic(out / "sections.json", sections.model_dump_json(indent=2) + "\n")
    write_atomic(out / "claims_check.json", claims.model_dump_json(indent=2) + "\n")
    notes = [] if claims.clean else [flagged_note(stage, claims, where)]
    sections = with_record_text(flag_unsupported(sections, claims), state, services)
    result = None
    for attempt, clean in enumerate((True, False), start=1):
        services.progress(stage, f"compiling LaTeX (attempt {attempt})")
        started = time.perf_counter()
        tex = assemble(state, services, sections, clean, citations, out)
        result = compile_pdf(tex, cache_dir=services.settings.cache_dir)
        result.seconds = time.perf_counter() - started
        _log_latex(services, attempt, result, idea, out)
        (out / "compile.log").write_text(result.log_tail, encoding="utf-8")
        if result.ok:
            if attempt > 1:
                services.failures.mark_repaired(services.folder.run_id, idea, "latex")
            break
    pdf = out / "paper.pdf"
    if result is None or not result.ok:
        notes.append(f"{stage}: the paper did not compile; {where}/paper.tex and {where}/compile.log are kept")
    entry = {"title": sections.title, "tex": f"{where}/paper.tex",
             "pdf": f"{where}/paper.pdf" if pdf.is_file() else None, "compiled": bool(result and result.ok)}
    return entry, notes


def writeup(state: RunState, runtime: Runtime[Services]) -> dict[str, Any]:
    """Write, assemble and compile the paper; fall back to fully escaped text if the first compile fails."""
    services = runtime.context
    services.progress("writeup", "writing the paper")
    citations = citations_for(services)
    sections, claims = write_sections(state, services, citations)
    paper, notes = publish(state, services, sections, claims, citations, services.folder.path / "paper", "writeup")
    return {"paper": paper, "notes": notes}
