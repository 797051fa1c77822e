"""The experiment loop's layout holds: one package, a thin node, in-box programs apart from host code,
and nothing in the product keyed to the shipped seed ideas."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "scientist"
CROSS_CUTTING = {"__init__", "checkpoints", "claims", "cli", "cli_run", "config", "doctor", "errors", "failures",
                 "graph", "runner", "runstore", "schemas", "services", "state"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_the_package_top_level_keeps_only_cross_cutting_modules():
    assert {p.stem for p in PACKAGE.glob("*.py")} <= CROSS_CUTTING


def test_the_experiments_node_is_a_thin_adapter():
    node = PACKAGE / "nodes" / "experiments.py"
    assert len(node.read_text().splitlines()) < 120
    assert {m for m in _imports(node) if m.startswith("scientist.")} <= {
        "scientist.experiments.loop", "scientist.services", "scientist.state"}


def test_in_box_programs_are_not_importable_and_share_one_protocol():
    harness = PACKAGE / "sandbox" / "harness"
    programs = sorted(harness.glob("*.py"))
    assert programs and not (harness / "__init__.py").exists()
    for program in programs:
        text = program.read_text()
        assert 'if __name__ == "__main__":' in text, program.name
        assert not re.search(r"[\"']SCIENTIST_[A-Z_]+ [\"']", text), f"{program.name} defines its own mark"
        assert not {m for m in _imports(program) if m.startswith("scientist")}, program.name
    for module in PACKAGE.rglob("*.py"):
        if harness not in module.parents:
            assert not any("harness" in m for m in _imports(module)), module


def test_bench_scripts_import_no_test_module():
    for script in (ROOT / "bench").glob("*.py"):
        assert not any(m == "tests" or m.startswith("tests.") for m in _imports(script)), script.name


def test_no_seed_idea_is_named_in_the_product():
    phrases = set()
    for seeds in (ROOT / "templates").glob("*/seed_ideas.json"):
        for idea in json.loads(seeds.read_text()):
            phrases |= {idea["Title"].lower(), idea["Name"].lower(), idea["Name"].replace("_", " ").lower()}
    sources = [p for p in PACKAGE.rglob("*") if p.suffix in {".py", ".yaml", ".j2", ".html"}]
    hits = [(p.relative_to(ROOT), phrase) for p in sources for phrase in phrases
            if phrase in p.read_text(encoding="utf-8").lower()]
    assert hits == []


LAYERS = {  # the loop's layers run one way: a module imports only from its own layer or those below
    "facts": 0, "checks": 1, "reruns": 1, "repairs": 2, "failure": 2, "passes": 3, "fidelity": 3, "signals": 3,
    "grammar": 3, "journal": 4, "loop": 5,
}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[2]) if len(parts) > 2 and parts[:2] == ["scientist", "experiments"] else None


def test_the_loop_s_layers_import_one_way():
    folder = PACKAGE / "experiments"
    wrong = []
    for path in folder.rglob("*.py"):
        if path.name == "__init__.py":
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        own = _layer(module)
        assert own is not None, f"{module} is in no layer"
        for imported in _imports(path):
            if imported == "scientist.experiments":
                continue  # `from scientist.experiments import x`: x is checked as a module below
            layer = _layer(imported)
            if layer is not None and layer > own:
                wrong.append((module, imported))
    assert wrong == []
