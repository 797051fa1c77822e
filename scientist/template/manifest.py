"""Load a template folder into a validated ``Template``.

Our templates carry ``template.toml``. A folder written for The AI Scientist (no manifest)
loads unchanged: its name is the folder's, its limits the defaults, and its metrics are
inferred from the baseline's ``final_info.json`` by ``template check`` or the first run.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scientist.errors import UsageError

REQUIRED_FILES = ("experiment.py", "plot.py", "prompt.json", "seed_ideas.json", "latex/template.tex")


class TemplateError(UsageError):
    """A template folder is broken: the message names the file and the problem."""

    code = "template_invalid"


class MetricSpec(BaseModel):
    """A metric the template reports, and which way is better."""

    model_config = ConfigDict(extra="forbid")

    name: str
    direction: Literal["max", "min", "unknown"] = "unknown"


class TemplateLimits(BaseModel):
    """Resources one experiment run may use."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(600.0, gt=0)
    memory_mb: int = Field(4096, ge=64)
    cpus: float = Field(2.0, gt=0)


class TemplateManifest(BaseModel):
    """``template.toml``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    dependencies: list[str] = Field(default_factory=list)
    limits: TemplateLimits = TemplateLimits()
    metrics: list[MetricSpec] = Field(default_factory=list)


class PromptSpec(BaseModel):
    """``prompt.json``."""

    system: str
    task_description: str


class SeedIdea(BaseModel):
    """One entry of ``seed_ideas.json`` (The AI Scientist's keys; extra keys kept)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str = Field(alias="Name", min_length=1)
    title: str = Field(alias="Title", min_length=1)
    experiment: str = Field(alias="Experiment", min_length=1)


@dataclass
class Template:
    """A loaded template folder."""

    path: Path
    manifest: TemplateManifest
    prompt: PromptSpec
    seed_ideas: list[SeedIdea]
    has_manifest: bool
    notes: list[str] = field(default_factory=list)

    @property
    def metric_names(self) -> list[str]:
        return [m.name for m in self.manifest.metrics]


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"{where}: {err['msg']}"


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: not valid JSON ({exc})") from exc


def _load_manifest(folder: Path) -> tuple[TemplateManifest, bool]:
    path = folder / "template.toml"
    if not path.is_file():
        return TemplateManifest(name=folder.name), False
    try:
        return TemplateManifest.model_validate(tomllib.loads(path.read_text(encoding="utf-8"))), True
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: not valid TOML ({exc})") from exc
    except ValidationError as exc:
        raise TemplateError(f"{path}: {_first_error(exc)}") from exc


def _load_seed_ideas(path: Path) -> list[SeedIdea]:
    data = _read_json(path)
    if not isinstance(data, list) or not data:
        raise TemplateError(f"{path}: must be a non-empty JSON list of ideas")
    ideas = []
    for i, item in enumerate(data):
        try:
            ideas.append(SeedIdea.model_validate(item))
        except ValidationError as exc:
            raise TemplateError(f"{path}: idea {i}: {_first_error(exc)}") from exc
    return ideas


def load_template(folder: Path) -> Template:
    """Load and validate a template; a broken one raises ``TemplateError`` naming the file."""
    if not folder.is_dir():
        raise TemplateError(f"{folder}: template folder not found")
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise TemplateError(f"{folder / name}: required template file is missing")
    manifest, has_manifest = _load_manifest(folder)
    try:
        prompt = PromptSpec.model_validate(_read_json(folder / "prompt.json"))
    except ValidationError as exc:
        raise TemplateError(f"{folder / 'prompt.json'}: {_first_error(exc)}") from exc
    template = Template(path=folder.resolve(), manifest=manifest, prompt=prompt,
                        seed_ideas=_load_seed_ideas(folder / "seed_ideas.json"), has_manifest=has_manifest)
    if not has_manifest:
        template.notes.append("no template.toml: The AI Scientist's contract; metrics come from the baseline, "
                              "limits are the defaults")
    return template


def infer_metrics(template: Template, means: dict[str, dict[str, float]]) -> None:
    """Give a manifest-less template the metrics its baseline reported (direction unknown)."""
    if template.manifest.metrics:
        return
    names = sorted({metric for values in means.values() for metric in values})
    template.manifest.metrics = [MetricSpec(name=n) for n in names]
