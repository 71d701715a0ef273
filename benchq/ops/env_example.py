"""Render `.env.example` from the `Settings` model, so the two cannot drift apart.

Every field of `Settings` appears with its description, its default and the
variable names it answers to; so do the variables that are not settings but
that the compose file or the producer read (REDIS_PASSWORD, published ports,
provenance). `scripts/gen_env_example.py` writes the file; a test fails when
the committed file differs from what this module renders.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from benchq.config.settings import Settings

WIDTH = 88


@dataclass(frozen=True)
class ExtraVar:
    """A variable read by the stack but not a `Settings` field."""

    name: str
    description: str
    value: str = ""
    active: bool = False
    """Written as an assignment (not commented out): the stack needs it set."""


#: Section headings, keyed by the first field of each section in `Settings`.
SECTIONS: dict[str, str] = {
    "broker_url": "Queue (Redis broker)",
    "workers": "Workers",
    "store_url": "Results store",
    "results_dir": "Results and push metadata",
    "max_input_bytes": "Suites",
    "registry_path": "Model providers",
    "notify_urls": "Notifications",
    "flower_user": "Operations: Flower and the nightly scheduler",
}

#: Settings the compose stack cannot do without: uncommented in the example.
ACTIVE: dict[str, str] = {"flower_user": "admin", "flower_password": ""}

#: Settings docker-compose.yml sets itself; a value here is overridden there.
SET_BY_COMPOSE: dict[str, str] = {
    "broker_url": "built by docker-compose.yml from REDIS_PASSWORD, REDIS_HOST and REDIS_PORT",
}

COMPOSE_VARS: tuple[ExtraVar, ...] = (
    ExtraVar(
        "REDIS_PASSWORD",
        "Password of the compose stack's Redis (required by docker-compose.yml). Use letters "
        "and digits only, e.g. `openssl rand -hex 24`: it goes into a URL and a config line.",
        active=True,
    ),
    ExtraVar(
        "REDIS_HOST",
        "Host of the Redis the workers use; `redis` (the compose service) on the main host, "
        "its private address on worker-only hosts.",
        "redis",
    ),
    ExtraVar("REDIS_PORT", "Port of that Redis, also the port published on the host.", "6379"),
    ExtraVar(
        "REDIS_PUBLISH_ADDRESS",
        "Host address Redis is published on. The loopback by default; the private "
        "interface when workers on other hosts connect. Never a public one.",
        "127.0.0.1",
    ),
    ExtraVar(
        "BENCHQ_PUBLISH_ADDRESS",
        "Host address Flower and the dashboard are published on (plain HTTP: put a "
        "TLS proxy in front before opening them beyond the loopback).",
        "127.0.0.1",
    ),
    ExtraVar("FLOWER_PORT", "Host port of Flower.", "5555"),
    ExtraVar("DASHBOARD_PORT", "Host port of the dashboard.", "5006"),
    ExtraVar("BENCHQ_IMAGE", "Image name the Python services are built as.", "benchq:latest"),
)

PROVENANCE_VARS: tuple[ExtraVar, ...] = (
    ExtraVar(
        "BENCHQ_COMMIT_SHA",
        "Commit recorded with each run; else GITHUB_SHA, else `git rev-parse HEAD`. The "
        "image carries the commit it was built from (build arg of the same name).",
    ),
    ExtraVar(
        "BENCHQ_BRANCH_NAME", "Branch recorded with each run; else GITHUB_REF_NAME, else git."
    ),
    ExtraVar(
        "BENCHQ_TRIGGERED_BY",
        "What started the run (`schedule` for the compose scheduler); else "
        "GITHUB_EVENT_NAME, else `manual`.",
    ),
)

REGISTRY_NOTE = (
    "Any field of a registry model can be overridden as BENCHQ_MODEL__<NAME>__<FIELD>, "
    "e.g. BENCHQ_MODEL__OPENAI__MODEL_ID=gpt-4.1-mini or "
    "BENCHQ_MODEL__MEDGEMMA__CONCURRENCY=2 (see benchq/config/models.toml)."
)


def env_names(name: str, field: FieldInfo) -> list[str]:
    """The variables a field answers to, the preferred one first."""
    alias = field.validation_alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [c for c in alias.choices if isinstance(c, str)]
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return [f"{prefix}{name}".upper()]


def _default(field: FieldInfo) -> tuple[str, str]:
    """(value to show in the assignment, text for the comment)."""
    if field.default_factory is not None:
        doc = (field.default_factory.__doc__ or "computed at start-up").strip().rstrip(".")
        return "", doc[:1].lower() + doc[1:]
    value: Any = field.default
    if value is PydanticUndefined or value is None:
        return "", "unset"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        value = str(value).lower()
    return str(value), str(value)


def _comment(text: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH - 2,
        initial_indent="# ",
        subsequent_indent="# ",
        break_on_hyphens=False,
        break_long_words=False,
    )


def _entry(name: str, description: str, value: str, *, active: bool) -> list[str]:
    lines = _comment(description)
    lines.append(f"{name}={value}" if active else f"# {name}={value}")
    return lines


def _heading(title: str) -> list[str]:
    return ["", f"# {'=' * (WIDTH - 2)}", f"# {title}", f"# {'=' * (WIDTH - 2)}"]


def render_env_example() -> str:
    """The text of `.env.example`."""
    lines = [
        "# benchq settings. Copy to .env and fill in what you use: benchq reads .env from",
        "# the working directory, and docker compose passes it to every service.",
        "# Generated from benchq/config/settings.py by scripts/gen_env_example.py: edit",
        "# the settings' descriptions there, not this file.",
        "#",
        "# Commented lines show the default. Where a setting answers to several",
        "# variables, the first one named wins.",
    ]
    for name, field in Settings.model_fields.items():
        if name in SECTIONS:
            lines += _heading(SECTIONS[name])
        names = env_names(name, field)
        value, default = _default(field)
        text = field.description or ""
        unnamed = [n for n in names[1:] if n not in text]
        if unnamed:
            text += f" Also read from: {', '.join(unnamed)}."
        text += f" Default: {default}."
        if name in SET_BY_COMPOSE:
            text += f" In docker compose: {SET_BY_COMPOSE[name]}."
        active = name in ACTIVE
        if active:
            value = ACTIVE[name]
        lines += ["", *_entry(names[0], text, value, active=active)]
        if name == "registry_path":
            lines += ["", *_comment(REGISTRY_NOTE)]
    for title, extras in (
        ("docker compose (not benchq settings: read by docker-compose.yml)", COMPOSE_VARS),
        ("Provenance recorded with each run (read by the producer)", PROVENANCE_VARS),
    ):
        lines += _heading(title)
        for extra in extras:
            lines += ["", *_entry(extra.name, extra.description, extra.value, active=extra.active)]
    return "\n".join(lines) + "\n"


def write_env_example(path: Path) -> bool:
    """Write the file if it differs; returns True when it changed."""
    text = render_env_example()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
