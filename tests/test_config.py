"""Configuration order: defaults < scientist.toml < environment < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from scientist.config import load_settings
from scientist.errors import ConfigError


def write_toml(text: str) -> Path:
    path = Path("scientist.toml")
    path.write_text(text)
    return path


def test_defaults_use_the_embedded_model_for_every_role():
    settings = load_settings()
    assert settings.model == "local"
    assert {settings.model_for(r) for r in ("ideation", "coding", "writing", "review")} == {"local"}


def test_toml_then_env_then_flags(monkeypatch):
    write_toml('model = "openai/gpt-4o"\nbudget_usd = 5.0\n[models]\ncoding = "anthropic/claude-x"\n')
    settings = load_settings()
    assert (settings.model, settings.budget_usd, settings.model_for("coding")) == (
        "openai/gpt-4o", 5.0, "anthropic/claude-x")
    monkeypatch.setenv("SCIENTIST_MODEL", "ollama/qwen")
    monkeypatch.setenv("SCIENTIST_MODELS__CODING", "ollama/coder")
    settings = load_settings()
    assert (settings.model, settings.model_for("coding"), settings.model_for("review")) == (
        "ollama/qwen", "ollama/coder", "ollama/qwen")
    assert load_settings(model="openai/gpt-4o-mini", budget_usd=None).model == "openai/gpt-4o-mini"


def test_local_model_override_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SCIENTIST_LOCAL_MODEL", str(tmp_path / "x.gguf"))
    assert load_settings().local_model == tmp_path / "x.gguf"


@pytest.mark.parametrize("text, message", [
    ("model = ", "not valid TOML"),
    ("budget_usd = -3", "budget_usd"),
    ("unknown_key = 1", "unknown_key"),
])
def test_bad_config_is_one_clear_error(text, message):
    write_toml(text)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_missing_explicit_config_file():
    with pytest.raises(ConfigError, match="not found"):
        load_settings(Path("nope.toml"))


def test_the_fidelity_check_is_on_by_default_only_for_a_judge_better_than_the_embedded_model():
    assert not load_settings().judges_fidelity(), "the embedded 1.5B judge matched hand labels no better than chance"
    assert load_settings(model="openai/gpt-4o").judges_fidelity()
    assert load_settings(models={"review": "anthropic/claude-x"}).judges_fidelity()
    assert load_settings(fidelity_check=True).judges_fidelity()
    assert not load_settings(model="openai/gpt-4o", fidelity_check=False).judges_fidelity()
