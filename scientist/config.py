"""Configuration: defaults < ``scientist.toml`` < ``SCIENTIST_*`` environment variables < flags.

The file is ``scientist.toml`` in the working directory (or the path given with ``--config``).
Nested keys use ``__`` in environment variables: ``SCIENTIST_MODELS__CODING=openai/gpt-4o``.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from scientist.errors import ConfigError

Role = Literal["ideation", "coding", "writing", "review"]
ROLES: tuple[Role, ...] = ("ideation", "coding", "writing", "review")
LOCAL_MODEL = "local"


def default_cache_dir() -> Path:
    """Where assembled model files and literature caches live (``$XDG_CACHE_HOME/scientist``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scientist"


class RoleModels(BaseModel):
    """Per-role model overrides; a role left empty uses ``Settings.model``."""

    model_config = ConfigDict(extra="forbid")

    ideation: str | None = None
    coding: str | None = None
    writing: str | None = None
    review: str | None = None


class LocalModelSettings(BaseModel):
    """How the embedded llama.cpp server runs."""

    model_config = ConfigDict(extra="forbid")

    ctx: int = Field(32768, ge=2048, description="context window in tokens")
    threads: int = Field(0, ge=0, description="CPU threads; 0 means every core")
    startup_timeout_s: float = Field(120.0, gt=0)


class ExecutorSettings(BaseModel):
    """Where sandboxed code runs: on this machine, or as tasks on a Ray cluster."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "ray"] = Field("local", description="local: this machine's sandbox; ray: Ray tasks")
    address: str = Field("auto", description="the Ray cluster: 'auto' (a running local cluster), 'ray://host:port' "
                                             "or a GCS address 'host:port'")
    retries: int = Field(3, ge=0, le=10, description="times a task whose worker or node died is run again")


class Settings(BaseSettings):
    """Every knob of scientist, validated."""

    model_config = SettingsConfigDict(
        env_prefix="SCIENTIST_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    model: str = Field(LOCAL_MODEL, description="litellm model string, or 'local' for the embedded model")
    models: RoleModels = RoleModels()
    api_base: str | None = Field(None, description="base URL for an OpenAI-compatible server")
    local_model: Path | None = Field(None, description="a GGUF file that replaces the embedded model")
    local: LocalModelSettings = LocalModelSettings()
    budget_usd: float | None = Field(None, gt=0)
    budget_tokens: int | None = Field(None, gt=0)
    temperature: float = Field(0.5, ge=0, le=2)
    max_reasks: int = Field(2, ge=0, le=10, description="re-asks after an invalid structured reply")
    max_retries: int = Field(4, ge=0, le=20, description="retries after a transient model error")
    retry_base_delay_s: float = Field(1.0, ge=0)
    request_timeout_s: float = Field(900.0, gt=0)
    reflections: int = Field(2, ge=0, le=5, description="reflection rounds per idea")
    runs_per_idea: int = Field(2, ge=1, le=5, description="experiment runs planned per idea")
    max_repairs: int = Field(3, ge=0, le=10, description="repair rounds after a failed experiment run")
    candidates: int = Field(2, ge=1, le=8, description="candidate implementations sampled per attempt from one "
                                                       "shared prompt (generate and test: the first that runs "
                                                       "without a defect wins); a second sample of a shared "
                                                       "prompt costs about a third of a fresh one on the "
                                                       "embedded model (bench/candidates_overhead.py)")
    consensus: int = Field(
        1, ge=1, le=5, description="clean runs (executed, no defect) a planned run gathers before it chooses one: "
                                   "the search stops at the first two whose results agree (within half the seed "
                                   "noise), else at this many, and keeps the run most others agree with; 1 keeps "
                                   "the first clean run. Off by default: on eight held-out ideas with the embedded "
                                   "model it changed no run's hand label and cost 1.7x the wall time "
                                   "(docs/benchmarks.md)")
    run_budget_s: float | None = Field(None, gt=0, description="wall time after which no new candidate of a "
                                                               "planned run starts")
    run_budget_tokens: int | None = Field(None, gt=0, description="model tokens after which no new candidate of "
                                                                  "a planned run starts")
    edit_format: Literal["rewrite", "search_replace"] = Field(
        "rewrite", description="how the model changes experiment.py: whole named parts (functions, constants) "
                               "or search/replace blocks")
    fidelity_check: bool | None = Field(
        None, description="after a run succeeds, the review model judges whether its code does what the run was "
                          "asked to change (reported, not enforced); default: on unless the review model is the "
                          "embedded one, whose verdicts matched hand labels no better than chance")
    fidelity_signals: bool = Field(True, description="compute fidelity signals for each run that executed (its new "
                                                     "lines ran, results beyond seed noise, the change's numbers in "
                                                     "the code, paired functions changed together)")
    fidelity_search: bool = Field(True, description="a candidate that executes but whose signals say its code is "
                                                    "not the change (new lines never ran, the change's numbers "
                                                    "absent, a derivative left as it was) does not end the search: "
                                                    "the next candidates are tried, told why, and the run keeps "
                                                    "the executed candidate with the fewest such defects")
    narrow_edits: bool = Field(True, description="a clean run that also changed functions its change does not "
                                                 "point to is run once more with those functions as the baseline "
                                                 "has them, and kept that way when it runs clean too (the smaller "
                                                 "edit is the change as asked)")
    part_grammar: bool = Field(True, description="on a local llama.cpp model, decode a function's new text under a "
                                                 "grammar: new helpers, then that function, then nothing (no "
                                                 "copy of the whole file, no second copy of the function)")
    method_sketch: bool = Field(False, description="before a planned run that is not only settings is edited, ask "
                                                   "the model in a short prompt without the file what the change "
                                                   "computes (a few lines of standalone numpy) and show it in every "
                                                   "edit prompt of the run; off by default: on five held-out ideas "
                                                   "the embedded model's sketches made no run faithful, and their "
                                                   "wrong derivatives went into the code (docs/benchmarks.md)")
    line_choice: bool | None = Field(
        None, description="for a function longer than a seam, ask first which of its lines the change goes at "
                          "(a schema enum), then for the lines that take its place (even candidates) or for the "
                          "function with a TODO at that line (odd ones); default: on when the coding model is the "
                          "embedded one, which copies long functions unchanged or changes them at the wrong place")
    claims_repairs: int = Field(1, ge=0, le=3, description="rewrites asked for when the paper states unsupported "
                                                            "numbers or citations")
    reviewers: int = Field(3, ge=1, le=7, description="independent reviews in the ensemble")
    review_budget_tokens: int = Field(3500, ge=500, le=30000, description="condensed paper length a reviewer reads")
    review_offset: float | None = Field(
        None, ge=-5, le=5, description="added to the reviewers' mean overall score before the accept rule "
                                       "(overall >= 6); default: the offset measured for the review model, else 0")
    review_reflections: int = Field(1, ge=0, le=5, description="reflection rounds per review")
    revisions: int = Field(1, ge=0, le=3, description="revision rounds after the review: the writer answers the "
                                                      "reviews' points (not their scores), rewrites the sections "
                                                      "its answers name under the same claims check, and the "
                                                      "revised paper is reviewed again; 0 for none")
    concurrency: int = Field(2, ge=1, le=8, description="ideas whose experiments run at once")
    sandbox: Literal["docker", "bwrap", "process"] | None = Field(None, description="sandbox backend; default: "
                                                                  "docker if an engine answers, else bwrap")
    executor: ExecutorSettings = ExecutorSettings()
    novelty_rounds: int = Field(2, ge=1, le=5, description="query-search-decide rounds per idea")
    literature_files: list[Path] = Field(default_factory=list, description="BibTeX/JSON files for the local index")
    arxiv_url: str = Field("https://export.arxiv.org/api/query?{}", description="arXiv query URL format")
    openalex_url: str = Field("https://api.openalex.org/works", description="OpenAlex works endpoint")
    literature_timeout_s: float = Field(8.0, gt=0, description="per-request timeout of a literature source")
    offline: bool = Field(False, description="never contact literature sources or any remote host")
    runs_dir: Path = Path("runs")
    cache_dir: Path = Field(default_factory=default_cache_dir)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init) win over the environment, which wins over the TOML file."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def judges_fidelity(self) -> bool:
        """Whether successful runs get a fidelity verdict (``fidelity_check``, or by default: the review
        model is not the embedded one)."""
        if self.fidelity_check is not None:
            return self.fidelity_check
        return self.model_for("review") != LOCAL_MODEL

    def chooses_lines(self) -> bool:
        """Whether a long function's change is localised to a line first (``line_choice``, or by
        default: the coding model is the embedded one)."""
        if self.line_choice is not None:
            return self.line_choice
        return self.model_for("coding") == LOCAL_MODEL

    def model_for(self, role: Role) -> str:
        """The litellm model string used for one role."""
        return getattr(self.models, role) or self.model


def load_settings(config_file: Path | None = None, **flags: Any) -> Settings:
    """Read the TOML file, the environment and the flags (``None`` flags are ignored)."""
    path = config_file if config_file is not None else Path.cwd() / "scientist.toml"
    if config_file is not None and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path.is_file():
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc

    class _FileSettings(Settings):
        model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": path})

    try:
        return _FileSettings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        source = f"{path}: " if path.is_file() else ""
        if first["type"] == "extra_forbidden":
            close = difflib.get_close_matches(where, known_keys(), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (valid keys: {', '.join(known_keys())})"
            raise ConfigError(f"{source}unknown configuration key '{where}'{hint}") from exc
        raise ConfigError(f"{source}bad configuration value for '{where}': {first['msg']}") from exc


def known_keys() -> list[str]:
    """Every configuration key, nested ones dotted (``models.coding``)."""
    keys = []
    for name, field in Settings.model_fields.items():
        keys.append(name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += [f"{name}.{sub}" for sub in annotation.model_fields]
    return keys
