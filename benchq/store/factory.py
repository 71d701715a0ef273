"""Which results store the settings name, resolved once; and opening it.

Precedence: `BENCHQ_STORE_URL` (sqlite:/// or postgresql://) if set; else
Supabase when `SUPABASE_URL` and a key are set; else the SQLite file
`benchq.db` in the working directory. `resolve_store_target` is the only
place this rule lives: the producer resolves it, and the embedded runtime
hands the result to its workers as it is (`benchq.jobs.target`), so a run
is never recorded in one store and filled in another.

The dashboard opens its store with `open_reader_store`: the same store, read
with the credentials of the `benchq_reader` role where the settings give them
(`BENCHQ_READER_STORE_URL`, `SUPABASE_READER_KEY`), since the anon role reads
aggregates only (`20261201490000_read_roles.sql`).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.store.base import ResultsStore

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class StoreTarget(BaseModel):
    """A resolved store: what to open, and a name for it that holds no secret."""

    kind: Literal["sqlite", "postgres", "supabase"]
    url: str
    """sqlite:///absolute/path, a Postgres URL (may hold a password), or the Supabase URL."""
    service_role_key: SecretStr | None = None
    anon_key: SecretStr | None = None
    reader_key: SecretStr | None = None
    """Supabase key of the `benchq_reader` role: reads case-level data, writes nothing."""

    @property
    def identity(self) -> str:
        """Which store this is, without credentials: compared across processes.

        A SQLite file is named with its host, since the same path on another
        machine is another store.
        """
        if self.kind == "sqlite":
            return f"sqlite://{socket.gethostname()}{self.url.removeprefix('sqlite://')}"
        if self.kind == "postgres":
            parts = urlsplit(self.url)
            host = parts.hostname or "localhost"
            return f"postgresql://{host}:{parts.port or 5432}{parts.path or '/'}"
        return f"supabase:{self.url.rstrip('/')}"

    def environment(self) -> dict[str, str]:
        """The variables that make a worker process resolve this same target.

        `BENCHQ_STORE_URL` is set empty for Supabase, so a value inherited
        from elsewhere cannot take precedence over it. The reader key is left
        out: workers write, and only the dashboard reads with it.
        """
        if self.kind != "supabase":
            return {"BENCHQ_STORE_URL": self.url}
        env = {"BENCHQ_STORE_URL": "", "SUPABASE_URL": self.url}
        if self.service_role_key is not None:
            env["SUPABASE_SERVICE_ROLE_KEY"] = self.service_role_key.get_secret_value()
        if self.anon_key is not None:
            env["SUPABASE_ANON_KEY"] = self.anon_key.get_secret_value()
        return env


def resolve_store_target(settings: Settings) -> StoreTarget:
    """The store these settings name, as the module docstring orders it."""
    if not settings.store_url and settings.supabase_url:
        keys = (
            settings.supabase_service_role_key,
            settings.supabase_anon_key,
            settings.supabase_reader_key,
        )
        if all(key is None for key in keys):
            raise ConfigError(
                "SUPABASE_URL is set but none of SUPABASE_SERVICE_ROLE_KEY, "
                "SUPABASE_READER_KEY and SUPABASE_ANON_KEY is"
            )
        return StoreTarget(
            kind="supabase",
            url=settings.supabase_url,
            service_role_key=settings.supabase_service_role_key,
            anon_key=settings.supabase_anon_key,
            reader_key=settings.supabase_reader_key,
        )
    url = settings.store_url or f"sqlite:///{Path.cwd() / 'benchq.db'}"
    if url.startswith("sqlite:///"):
        # absolute, so a worker started in another folder opens the same file
        path = Path(url.removeprefix("sqlite:///")).expanduser().resolve()
        return StoreTarget(kind="sqlite", url=f"sqlite:///{path}")
    if url.startswith(_POSTGRES_SCHEMES):
        return StoreTarget(kind="postgres", url=url)
    raise ConfigError(f"BENCHQ_STORE_URL: unsupported store URL scheme in {url.split(':')[0]!r}")


def open_target(target: StoreTarget) -> ResultsStore:
    """Open a resolved store."""
    if target.kind == "sqlite":
        from benchq.store.sqlite import SQLiteStore, sqlite_path

        return SQLiteStore(sqlite_path(target.url))
    if target.kind == "postgres":
        from benchq.store.postgres import PostgresStore

        return PostgresStore(target.url)
    from benchq.store.supabase import SupabaseStore

    return SupabaseStore(
        target.url,
        service_role_key=(
            target.service_role_key.get_secret_value() if target.service_role_key else None
        ),
        anon_key=target.anon_key.get_secret_value() if target.anon_key else None,
        reader_key=target.reader_key.get_secret_value() if target.reader_key else None,
    )


def open_store(settings: Settings) -> ResultsStore:
    """The store in force for these settings."""
    return open_target(resolve_store_target(settings))


def resolve_reader_target(settings: Settings) -> StoreTarget:
    """The store the dashboard reads: the settings' store, with reader credentials if given.

    `BENCHQ_READER_STORE_URL` (a Postgres login in the `benchq_reader` role,
    or the SQLite file of a one-host stack) takes the place of
    `BENCHQ_STORE_URL`, so the dashboard needs no writer's password; on
    Supabase, `SUPABASE_READER_KEY` reads runs, case results and documents,
    the anon key the aggregates. Without reader credentials this is
    `resolve_store_target`: a dashboard given only the anon key shows
    aggregates, and the case views say which key is missing.
    """
    if settings.reader_store_url:
        url = settings.reader_store_url
        if url.startswith(_POSTGRES_SCHEMES):
            return StoreTarget(kind="postgres", url=url)
        if url.startswith("sqlite:///"):  # one host, no roles: the file itself
            path = Path(url.removeprefix("sqlite:///")).expanduser().resolve()
            return StoreTarget(kind="sqlite", url=f"sqlite:///{path}")
        raise ConfigError(
            "BENCHQ_READER_STORE_URL: expected postgresql:// (a login in the benchq_reader "
            f"role) or sqlite:///path, got scheme {url.split(':')[0]!r}"
        )
    return resolve_store_target(settings)


def open_reader_store(settings: Settings) -> ResultsStore:
    """The dashboard's store: `resolve_reader_target`, opened."""
    return open_target(resolve_reader_target(settings))
