"""`benchq db upgrade`: apply `supabase/migrations/*.sql` to any Postgres, once each.

Applied migrations are recorded in `supabase_migrations.schema_migrations`,
the table the Supabase CLI keeps, so a database upgraded here and one pushed
with `supabase db push` agree on what has been applied. Each file runs in
one transaction together with its record, so a failed migration leaves
nothing behind, and an advisory lock makes concurrent upgrades take turns.

A migration is never edited after it was applied: upgrading refuses when an
applied file's text changed, since the change would silently never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from benchq.errors import StoreError

#: `<version>_<name>.sql`, as `supabase migration new` names files.
_FILE = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9_\-]+)\.sql$")
#: Arbitrary, fixed key: every upgrader of one database takes the same lock.
_LOCK_KEY = 7_020_261_127

_TRACKING = """
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (
    version text PRIMARY KEY,
    statements text[],
    name text
);
"""


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        """The file's text."""
        return self.path.read_text(encoding="utf-8")


def default_migrations_dir() -> Path:
    """The migrations shipped inside the package.

    They live in `benchq/store/migrations` so an installed benchq (not only a
    checkout) can upgrade a database; `supabase/migrations` in the repository
    is a symlink to this folder, which is the layout the Supabase CLI reads.
    """
    return Path(__file__).resolve().parent / "migrations"


def discover(directory: Path | None = None) -> list[Migration]:
    """The migration files of `directory`, oldest first; refuses a misnamed `.sql` file."""
    directory = directory or default_migrations_dir()
    if not directory.is_dir():
        raise StoreError(f"migrations directory not found: {directory}")
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            raise StoreError(f"{path}: migration files are named <version>_<name>.sql")
        found.append(Migration(match["version"], match["name"], path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"{directory}: two migration files share a version")
    return found


def upgrade(url: str, directory: Path | None = None) -> list[str]:
    """Apply the migrations `url`'s database lacks; return the versions applied now.

    Running it again applies nothing. Raises `StoreUnavailable` when the
    server cannot be reached and `StoreError` when a migration fails (that
    migration is rolled back; earlier ones stay applied).
    """
    import psycopg

    from benchq.store.postgres import connect, wrap_error

    migrations = discover(directory)
    conn = connect(url)
    applied_now: list[str] = []
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        with conn.transaction():
            conn.execute(_TRACKING)
        rows = conn.execute(
            "SELECT version, statements FROM supabase_migrations.schema_migrations"
        ).fetchall()
        applied = {str(r["version"]): r["statements"] for r in rows}
        for migration in migrations:
            text = migration.sql
            if migration.version in applied:
                _check_unchanged(migration, text, applied[migration.version])
                continue
            try:
                with conn.transaction():
                    conn.execute(text.encode("utf-8"))  # may hold many statements
                    conn.execute(
                        "INSERT INTO supabase_migrations.schema_migrations "
                        "(version, statements, name) VALUES (%s, %s, %s)",
                        (migration.version, [text], migration.name),
                    )
            except psycopg.Error as exc:
                raise StoreError(f"{migration.path.name}: {exc}") from exc
            applied_now.append(migration.version)
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    except psycopg.Error as exc:
        raise wrap_error(exc) from exc
    finally:
        conn.close()
    return applied_now


def applied_versions(url: str) -> list[str]:
    """The migration versions recorded as applied in `url`'s database, oldest first."""
    import psycopg

    from benchq.store.postgres import connect, wrap_error

    conn = connect(url)
    try:
        rows = conn.execute(
            "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version"
        ).fetchall()
    except psycopg.errors.UndefinedTable:
        return []
    except psycopg.Error as exc:
        raise wrap_error(exc) from exc
    finally:
        conn.close()
    return [str(r["version"]) for r in rows]


def _check_unchanged(migration: Migration, text: str, recorded: list[str] | None) -> None:
    # Only files applied by this tool hold the whole text as one statement; the
    # Supabase CLI splits statements, and its records cannot be compared.
    if recorded is not None and len(recorded) == 1 and recorded[0] != text:
        raise StoreError(
            f"{migration.path.name} was edited after it was applied; "
            "put the change in a new migration instead"
        )
