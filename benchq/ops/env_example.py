"""Render `.env.example` and the secret groups' `env/*.env.example` from `Settings`.

Every field of `Settings` appears in exactly one kind of place: the shared
`.env.example`, or the example of the secret group it belongs to (a field
may belong to several groups: `SUPABASE_URL` is in the writer's and the
reader's). The compose stack gives each group's file only to the services
that need it (`GROUPS` names them; docs/operations.md has the table), so a
model worker never holds the store's credentials and the store writers
never hold a model key. The variables that are not settings but that the
compose file or the producer read (REDIS_PASSWORD, published ports,
provenance) are in `.env.example`. `scripts/gen_env_example.py` writes the
files; a test fails when a committed file differs from what this module
renders.
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
    "flower_user": "Operations: the nightly scheduler (Flower's credentials: env/flower.env)",
    "dashboard_user": "Dashboard (its login: env/dashboard.env)",
}


@dataclass(frozen=True)
class SecretGroup:
    """Settings that travel together to the services that need them, in `env/<name>.env`."""

    name: str
    title: str
    services: str
    """Which compose services get the file, and why."""
    fields: tuple[str, ...]
    active: tuple[tuple[str, str], ...] = ()
    """(field, value) written as assignments: the compose stack's one-host defaults."""

    @property
    def path(self) -> str:
        """The file compose reads, relative to the project folder."""
        return f"env/{self.name}.env"


COMPOSE_SQLITE = "sqlite:////data/benchq.db"

GROUPS: tuple[SecretGroup, ...] = (
    SecretGroup(
        "models",
        "Model providers: API keys and endpoints",
        "worker (`benchq worker --role models`), which calls the models; and the producers "
        "(scheduler, enqueue), which refuse a model whose key is not set before they enqueue it",
        (
            "openai_api_key",
            "openai_base_url",
            "gemini_api_key",
            "gemini_base_url",
            "medgemma_base_url",
            "medgemma_api_key",
        ),
    ),
    SecretGroup(
        "store",
        "The results store, with write access",
        "publisher (`benchq worker --role publish`), which writes results, snapshots and "
        "verdicts; and the producers (scheduler, enqueue), which record each run and its "
        "documents. In compose, BENCHQ_STORE_URL defaults to the SQLite file on the shared "
        "volume (one host); for Postgres put its URL here, for Supabase empty it and set "
        "SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY",
        ("store_url", "supabase_url", "supabase_service_role_key"),
        (("store_url", COMPOSE_SQLITE),),
    ),
    SecretGroup(
        "reader",
        "The results store, read-only (the benchq_reader role)",
        "dashboard. In compose, it reads the SQLite file on the shared volume; with "
        "Postgres, point BENCHQ_READER_STORE_URL at a login in benchq_reader; with Supabase, "
        "empty it and set SUPABASE_URL, SUPABASE_READER_KEY and SUPABASE_ANON_KEY",
        ("reader_store_url", "supabase_url", "supabase_reader_key", "supabase_anon_key"),
        (("reader_store_url", COMPOSE_SQLITE),),
    ),
    SecretGroup(
        "flower",
        "Flower's basic auth",
        "flower",
        ("flower_user", "flower_password"),
        (("flower_user", "admin"), ("flower_password", "")),
    ),
    SecretGroup(
        "dashboard",
        "The dashboard's login",
        "dashboard, which listens on every interface in compose and so refuses to start "
        "without a user and a password",
        ("dashboard_user", "dashboard_password", "dashboard_cookie_secret"),
        (("dashboard_user", "admin"), ("dashboard_password", "")),
    ),
    SecretGroup(
        "notify",
        "Webhooks told about every finished run",
        "publisher, whose verdict step sends them (a webhook URL is a credential: anyone "
        "holding it can post to the channel)",
        ("notify_urls",),
    ),
)

#: Fields that live in a group's file rather than in `.env.example`.
GROUPED: frozenset[str] = frozenset(f for g in GROUPS for f in g.fields)

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


def _field_lines(name: str, field: FieldInfo, active: dict[str, str]) -> list[str]:
    """One setting: its description, default and names, and its (commented) assignment."""
    names = env_names(name, field)
    value, default = _default(field)
    text = field.description or ""
    unnamed = [n for n in names[1:] if n not in text]
    if unnamed:
        text += f" Also read from: {', '.join(unnamed)}."
    text += f" Default: {default}."
    if name in SET_BY_COMPOSE:
        text += f" In docker compose: {SET_BY_COMPOSE[name]}."
    if name in active:
        value = active[name]
    return ["", *_entry(names[0], text, value, active=name in active)]


def render_env_example() -> str:
    """The text of `.env.example`: every setting outside the secret groups."""
    lines = [
        "# benchq settings. Copy to .env and fill in what you use: benchq reads .env from",
        "# the working directory, and docker compose passes it to every service.",
        "# Generated from benchq/config/settings.py by scripts/gen_env_example.py: edit",
        "# the settings' descriptions there, not this file.",
        "#",
        "# Credentials are not here: each group of them has its own file in env/, which",
        "# docker compose gives only to the services that need it (docs/operations.md):",
        "#",
        *[f"#   {g.path:<16} {g.title}" for g in GROUPS],
        "#",
        "# Copy every one (compose refuses to start without a file it names), then fill in",
        '# what you use:  for f in env/*.env.example; do cp -n "$f" "${f%.example}"; done',
        "# Outside docker compose benchq reads .env only: put the variables of those files",
        "# here, or export them.",
        "#",
        "# Commented lines show the default. Where a setting answers to several",
        "# variables, the first one named wins.",
    ]
    section: list[str] = []
    for name, field in Settings.model_fields.items():
        if name in SECTIONS:
            lines += section if len(section) > 4 else []
            section = _heading(SECTIONS[name])
        if name in GROUPED:
            continue
        section += _field_lines(name, field, {})
        if name == "registry_path":
            section += ["", *_comment(REGISTRY_NOTE)]
    lines += section if len(section) > 4 else []
    for title, extras in (
        ("docker compose (not benchq settings: read by docker-compose.yml)", COMPOSE_VARS),
        ("Provenance recorded with each run (read by the producer)", PROVENANCE_VARS),
    ):
        lines += _heading(title)
        for extra in extras:
            lines += ["", *_entry(extra.name, extra.description, extra.value, active=extra.active)]
    return "\n".join(lines) + "\n"


def render_group_example(group: SecretGroup) -> str:
    """The text of `env/<group>.env.example`."""
    lines = [
        f"# benchq: {group.title}.",
        f"# Copy to {group.path}. docker compose gives this file only to: {group.services}.",
        "# Generated from benchq/config/settings.py by scripts/gen_env_example.py: edit",
        "# the settings' descriptions there, not this file.",
    ]
    lines = [*_comment(" ".join(line.removeprefix("# ") for line in lines))]
    active = dict(group.active)
    for name in group.fields:
        lines += _field_lines(name, Settings.model_fields[name], active)
    return "\n".join(lines) + "\n"


def examples() -> dict[str, str]:
    """Every example file, by its path relative to the repository, and its text."""
    files = {".env.example": render_env_example()}
    files.update({f"{g.path}.example": render_group_example(g) for g in GROUPS})
    return files


def stale_examples(root: Path) -> list[str]:
    """The example files under `root` that differ from what this module renders."""
    return [
        rel
        for rel, text in examples().items()
        if not (root / rel).exists() or (root / rel).read_text(encoding="utf-8") != text
    ]


def write_examples(root: Path) -> list[str]:
    """Write every example file that differs; returns those written."""
    written = []
    for rel, text in examples().items():
        path = root / rel
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(rel)
    return written
