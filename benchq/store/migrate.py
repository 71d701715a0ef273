"""`benchq db upgrade`: apply `supabase/migrations/*.sql` to any Postgres, once each.

Applied migrations are recorded in `supabase_migrations.schema_migrations`,
the table the Supabase CLI keeps, so a database upgraded here and one pushed
with `supabase db push` agree on what has been applied. Each file runs in
one transaction together with its record, so a failed migration leaves
nothing behind, and an advisory lock makes concurrent upgrades take turns.

A migration is never edited after it was applied: upgrading refuses when an
applied file's text changed, since the change would silently never run.

A database created by the original system's schema file is taken over
(`takeover`): its tables are brought to benchq's shape first, then every
migration applies, all in one transaction. Before changing anything,
`upgrade` hands its plan (`UpgradePlan`) to the caller, who prints it;
`dry_run` stops there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchq.errors import StoreError

if TYPE_CHECKING:
    from benchq.store.takeover import Step

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

    @property
    def summary(self) -> str:
        """The first sentence of the file's opening comment: what the migration does."""
        words: list[str] = []
        for line in self.sql.splitlines():
            text = line.lstrip("-").strip()
            if not line.startswith("--") or (words and not text):
                break
            words.extend(text.split())
        first = " ".join(words)
        end = first.find(". ")
        return first[: end + 1] if end >= 0 else first


@dataclass(frozen=True)
class UpgradePlan:
    """What an upgrade will do: take over an original database (if it is one), then
    apply the pending migrations."""

    takeover: tuple[Step, ...] = ()
    migrations: tuple[Migration, ...] = field(default=())

    @property
    def empty(self) -> bool:
        """True when the database is up to date."""
        return not self.takeover and not self.migrations

    def lines(self) -> list[str]:
        """The plan in words, one line per change."""
        if self.empty:
            return ["the database is up to date: nothing to do"]
        out: list[str] = []
        if self.takeover:
            out.append(
                "this database was created by the original system's schema; benchq takes it "
                "over, keeping every row (all of it in one transaction):"
            )
            out.extend(f"  - {step.description}" for step in self.takeover)
        if self.migrations:
            out.append(f"apply {len(self.migrations)} migration(s):")
            out.extend(f"  - {m.version}_{m.name}: {m.summary}" for m in self.migrations)
        return out


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


def upgrade(
    url: str,
    directory: Path | None = None,
    *,
    dry_run: bool = False,
    on_plan: Callable[[UpgradePlan], None] | None = None,
) -> list[str]:
    """Apply the migrations `url`'s database lacks; return the versions applied now.

    `on_plan` is called with the plan once it is known and before anything
    changes; with `dry_run` nothing changes at all. Running it again applies
    nothing. Raises `StoreUnavailable` when the server cannot be reached and
    `StoreError` when a step fails (that migration is rolled back, earlier
    ones stay applied; a takeover is rolled back whole).
    """
    import psycopg

    from benchq.store import takeover
    from benchq.store.postgres import connect, wrap_error

    migrations = discover(directory)
    conn = connect(url)
    applied_now: list[str] = []
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        applied = _applied(conn)
        pending = []
        for migration in migrations:
            if migration.version in applied:
                _check_unchanged(migration, migration.sql, applied[migration.version])
            else:
                pending.append(migration)
        plan = UpgradePlan(tuple(takeover.plan(conn)), tuple(pending))
        if on_plan is not None:
            on_plan(plan)
        if dry_run or plan.empty:
            return []
        # A takeover and the migrations after it succeed or fail together.
        with conn.transaction() if plan.takeover else nullcontext():
            with conn.transaction():
                conn.execute(_TRACKING)
            with _step("taking over the original schema"):
                for step in plan.takeover:
                    for statement in step.statements:
                        conn.execute(statement.encode("utf-8"))
            for migration in plan.migrations:
                text = migration.sql
                with _step(migration.path.name), conn.transaction():
                    conn.execute(text.encode("utf-8"))  # may hold many statements
                    conn.execute(
                        "INSERT INTO supabase_migrations.schema_migrations "
                        "(version, statements, name) VALUES (%s, %s, %s)",
                        (migration.version, [text], migration.name),
                    )
                applied_now.append(migration.version)
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    except psycopg.Error as exc:
        raise wrap_error(exc) from exc
    finally:
        conn.close()
    return applied_now


@contextmanager
def _step(name: str) -> Iterator[None]:
    """Name the migration (or takeover) in the error of a statement that fails."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        raise StoreError(f"{name}: {exc}") from exc


def _applied(conn: Any) -> dict[str, list[str] | None]:
    """Versions recorded as applied (and their recorded text); none when nothing is recorded."""
    exists = conn.execute(
        "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL AS found"
    ).fetchone()
    if not exists["found"]:
        return {}
    rows = conn.execute(
        "SELECT version, statements FROM supabase_migrations.schema_migrations"
    ).fetchall()
    return {str(r["version"]): r["statements"] for r in rows}


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
