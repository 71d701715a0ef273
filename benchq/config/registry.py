"""The model registry: which models exist, who serves them, what they cost.

Three layers, each over the one before::

    benchq/config/models.toml          the default four: baseline, openai, gemini, medgemma
    Settings.registry_path (a TOML)    the team's own models and overrides
    BENCHQ_MODEL__<NAME>__<FIELD>      one field from the environment, e.g.
                                       BENCHQ_MODEL__OPENAI__MODEL_ID=gpt-4.1-mini

A model of a known provider is added by a table in a TOML file, never by code.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from benchq.config.settings import Settings
from benchq.errors import ConfigError

ProviderKind = Literal["baseline", "openai", "gemini", "medgemma"]
"""The provider kinds benchq has code for."""

ENV_PREFIX = "BENCHQ_MODEL__"


_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_model_version(name: str, model_id: str) -> str:
    """`<name>-<model id>` with characters outside `[A-Za-z0-9._-]` as `_`.

    `openai` calling `gpt-4o-mini` is `openai-gpt-4o-mini`; `medgemma`
    calling `google/medgemma-4b-it` is `medgemma-google_medgemma-4b-it`.
    """
    return f"{name}-{_LABEL_UNSAFE.sub('_', model_id).strip('_')}"[:128]


class ModelSpec(BaseModel):
    """One model of the registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    """The name used on the command line (`--models openai,gemini`)."""
    provider: ProviderKind
    """Which backend code talks to it."""
    model_id: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    """The provider's own model id (`gpt-4o-mini`, `gemini-2.5-flash`, ...)."""
    model_version: str = Field(default="", pattern=r"^([A-Za-z0-9][A-Za-z0-9._-]{0,127})?$")
    """Label results are stored under; defaults to `<name>-<model_id>`, so a
    different model id starts a history (and a baseline) of its own."""
    price_input_per_mtok: float = Field(default=0.0, ge=0.0)
    """US dollars per million input tokens."""
    price_output_per_mtok: float = Field(default=0.0, ge=0.0)
    """US dollars per million output tokens."""
    requests_per_minute: int = Field(default=0, ge=0)
    """Fleet-wide request limit; 0 means none."""
    tokens_per_minute: int = Field(default=0, ge=0)
    """Fleet-wide token limit (input + output); 0 means none."""
    timeout_s: float = Field(default=60.0, gt=0.0)
    """Seconds one attempt may take before it counts as a (retryable) timeout."""
    concurrency: int = Field(default=16, ge=1)
    """Most calls in flight at once, fleet-wide; lowered on 429 and regained after."""
    base_url: str | None = None
    """Endpoint override (required in practice for `medgemma`)."""
    temperature: float | None = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature; none leaves it to the server (reasoning models accept no other)."""
    max_output_tokens: int = Field(default=4096, ge=1)
    json_mode: Literal["json_schema", "json_object", "none"] = "json_schema"
    """How structured output is asked of OpenAI-compatible servers; some
    servers (older TGI, Ollama) know only `json_object` or nothing."""
    seed: int | None = None

    @model_validator(mode="after")
    def _default_version(self) -> ModelSpec:
        if not self.model_version:
            # frozen model: set through object.__setattr__ once, at validation
            object.__setattr__(
                self, "model_version", default_model_version(self.name, self.model_id)
            )
        return self

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float:
        """Dollar cost of one call from its token counts (unknown counts cost 0)."""
        return (input_tokens or 0) / 1e6 * self.price_input_per_mtok + (
            output_tokens or 0
        ) / 1e6 * self.price_output_per_mtok


class Registry:
    """The models benchq knows, by name."""

    def __init__(self, models: Mapping[str, ModelSpec]) -> None:
        self.models = dict(models)

    def names(self) -> list[str]:
        """All model names, in registry order."""
        return list(self.models)

    def get(self, name: str) -> ModelSpec:
        """The model called `name`; ConfigError listing the known names if none is."""
        try:
            return self.models[name.strip().lower()]
        except KeyError:
            known = ", ".join(self.models)
            raise ConfigError(f"unknown model {name!r}; known models: {known}") from None

    def select(self, names: str | Iterable[str]) -> list[ModelSpec]:
        """Models for a comma-separated list or an iterable of names, in that order."""
        if isinstance(names, str):
            names = [n for n in names.split(",") if n.strip()]
        specs = [self.get(n) for n in names]
        if not specs:
            raise ConfigError("no model selected")
        return specs


def _read_toml(text: str, source: str) -> dict[str, dict[str, Any]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    models = data.get("models", {})
    if not isinstance(models, dict) or not all(isinstance(v, dict) for v in models.values()):
        raise ConfigError(f"{source}: expected tables [models.<name>]")
    return {str(k).lower(): dict(v) for k, v in models.items()}


def _env_layer(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    layer: dict[str, dict[str, Any]] = {}
    for key, value in environ.items():
        if not key.upper().startswith(ENV_PREFIX):
            continue
        rest = key[len(ENV_PREFIX) :]
        name, sep, field = rest.partition("__")
        if not sep or not name or not field:
            raise ConfigError(f"{key}: expected {ENV_PREFIX}<NAME>__<FIELD>")
        # env var names cannot hold '-' or '.', so '_' stands for them in NAME
        layer.setdefault(name.lower(), {})[field.lower()] = value
    return layer


def load_registry(
    settings: Settings | None = None,
    *,
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Registry:
    """Build the registry: package defaults, then `path` (or settings.registry_path), then env."""
    default_text = resources.files("benchq.config").joinpath("models.toml").read_text("utf-8")
    merged = _read_toml(default_text, "benchq/config/models.toml")
    sources = dict.fromkeys(merged, "benchq/config/models.toml")

    user_path = path or (settings.registry_path if settings else None)
    if user_path is not None:
        try:
            text = Path(user_path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"{user_path}: cannot read model registry: {exc}") from None
        for name, fields in _read_toml(text, str(user_path)).items():
            merged.setdefault(name, {}).update(fields)
            sources[name] = str(user_path)

    for name, fields in _env_layer(os.environ if environ is None else environ).items():
        merged.setdefault(name, {}).update(fields)
        sources[name] = f"{ENV_PREFIX}{name.upper()}__*"

    models: dict[str, ModelSpec] = {}
    for name, fields in merged.items():
        fields.pop("name", None)  # the table's key is the name
        try:
            models[name] = ModelSpec(name=name, **fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"{sources[name]}: model {name!r}: {problems}") from None
    return Registry(models)
