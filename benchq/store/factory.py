"""Open the results store the settings name.

Precedence: `BENCHQ_STORE_URL` (sqlite:/// or postgresql://) if set; else
Supabase when `SUPABASE_URL` and a key are set; else the SQLite file
`benchq.db` in the working directory.
"""

from __future__ import annotations

from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.store.base import ResultsStore

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(settings: Settings) -> ResultsStore:
    """The store in force, as the module docstring orders it."""
    if not settings.store_url and settings.supabase_url:
        return _open_supabase(settings)
    url = settings.effective_store_url()
    if url.startswith("sqlite:///"):
        from benchq.store.sqlite import SQLiteStore, sqlite_path

        return SQLiteStore(sqlite_path(url))
    if url.startswith(_POSTGRES_SCHEMES):
        from benchq.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigError(f"BENCHQ_STORE_URL: unsupported store URL scheme in {url.split(':')[0]!r}")


def _open_supabase(settings: Settings) -> ResultsStore:
    from benchq.store.supabase import SupabaseStore

    service = settings.supabase_service_role_key
    anon = settings.supabase_anon_key
    if service is None and anon is None:
        raise ConfigError(
            "SUPABASE_URL is set but neither SUPABASE_SERVICE_ROLE_KEY nor SUPABASE_ANON_KEY is"
        )
    assert settings.supabase_url is not None
    return SupabaseStore(
        settings.supabase_url,
        service_role_key=service.get_secret_value() if service else None,
        anon_key=anon.get_secret_value() if anon else None,
    )
