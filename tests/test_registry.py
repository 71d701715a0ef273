"""The model registry: defaults, user file, environment overrides, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchq.config.registry import load_registry
from benchq.config.settings import Settings
from benchq.errors import ConfigError


def test_defaults_hold_the_original_four_names() -> None:
    registry = load_registry(environ={})

    assert registry.names() == ["baseline", "openai", "gemini", "medgemma"]
    assert [s.provider for s in registry.select("openai,gemini")] == ["openai", "gemini"]
    assert registry.get("openai").model_version == "openai-gpt-4o-mini"
    assert registry.get("gemini").price_output_per_mtok > 0


def test_the_default_model_version_follows_the_model_id() -> None:
    """A different model id is a different history: never judged against the old baseline."""
    moved = load_registry(environ={"BENCHQ_MODEL__OPENAI__MODEL_ID": "gpt-4.1-mini"})
    assert moved.get("openai").model_version == "openai-gpt-4.1-mini"
    # characters a label cannot hold become `_`
    slashed = load_registry(environ={"BENCHQ_MODEL__MEDGEMMA__MODEL_ID": "google/medgemma-27b"})
    assert slashed.get("medgemma").model_version == "medgemma-google_medgemma-27b"
    # an explicit version still wins, whatever the id
    pinned = load_registry(
        environ={
            "BENCHQ_MODEL__OPENAI__MODEL_ID": "gpt-4.1-mini",
            "BENCHQ_MODEL__OPENAI__MODEL_VERSION": "openai-v1.0",
        }
    )
    assert pinned.get("openai").model_version == "openai-v1.0"


def test_cost_uses_the_prices_per_million_tokens() -> None:
    spec = load_registry(environ={"BENCHQ_MODEL__OPENAI__PRICE_INPUT_PER_MTOK": "2"}).get("openai")

    assert spec.cost(1_000_000, 0) == pytest.approx(2.0)
    assert spec.cost(None, None) == 0.0


def test_a_user_file_adds_a_model_and_overrides_fields(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[models.gpt4o]\nprovider = "openai"\nmodel_id = "gpt-4o"\n'
        "price_input_per_mtok = 2.5\nprice_output_per_mtok = 10\n"
        'model_version = "gpt4o-2024-08"\n'
        "[models.openai]\nrequests_per_minute = 42\n"
    )

    registry = load_registry(Settings(_env_file=None, registry_path=path), environ={})

    gpt4o = registry.get("gpt4o")
    assert (gpt4o.provider, gpt4o.model_id, gpt4o.model_version) == (
        "openai",
        "gpt-4o",
        "gpt4o-2024-08",
    )
    openai = registry.get("openai")
    assert openai.requests_per_minute == 42 and openai.model_id == "gpt-4o-mini"


def test_environment_overrides_win(tmp_path: Path) -> None:
    registry = load_registry(
        environ={
            "BENCHQ_MODEL__MEDGEMMA__BASE_URL": "http://gpu:8000/v1",
            "BENCHQ_MODEL__MEDGEMMA__TIMEOUT_S": "300",
        }
    )

    spec = registry.get("medgemma")
    assert spec.base_url == "http://gpu:8000/v1" and spec.timeout_s == 300.0


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'claude'.*openai, gemini"):
        load_registry(environ={}).select("openai,claude")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[models.x\n", "not valid TOML"),
        ('[models.x]\nprovider = "anthropic"\nmodel_id = "c"\n', r"model 'x': provider"),
        ('[models.x]\nprovider = "openai"\n', r"model 'x': model_id"),
        ("[models.openai]\nprice_input_per_mtok = -1\n", "price_input_per_mtok"),
        ('[models.openai]\ncolour = "red"\n', "colour"),
    ],
)
def test_bad_registry_files_name_file_model_and_field(
    tmp_path: Path, text: str, match: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)

    with pytest.raises(ConfigError, match=match) as info:
        load_registry(path=path, environ={})

    assert str(path) in str(info.value)


def test_bad_environment_override_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"BENCHQ_MODEL__OPENAI__\*.*timeout_s"):
        load_registry(environ={"BENCHQ_MODEL__OPENAI__TIMEOUT_S": "soon"})


@pytest.mark.parametrize(
    ("field", "value"),
    [("MODEL_VERSION", "../../x"), ("MODEL_VERSION", "x" * 200), ("MODEL_ID", "gpt\x00mini")],
)
def test_labels_that_cannot_be_a_label_are_refused(field: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"model 'openai': {field.lower()}"):
        load_registry(environ={f"BENCHQ_MODEL__OPENAI__{field}": value})
