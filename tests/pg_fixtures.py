"""A throwaway PostgreSQL 15 cluster for tests, and a fresh migrated database per test.

The cluster lives in a private temporary directory and listens only on a
unix socket there (no TCP port, so parallel sessions on one machine never
collide). initdb refuses to run as root, so as root the cluster is created
and run as the `postgres` OS user through `runuser`.

Use from a test module::

    from pg_fixtures import pg_cluster, pg_url  # noqa: F401  (pytest fixtures)

`pg_url` is a fresh database cloned from a migrated template: every test
starts from an empty, fully migrated schema in milliseconds. Set
`BENCHQ_PG_BIN` to use binaries other than /usr/lib/postgresql/15/bin.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchq.store.base import ResultsStore

PG_BIN = Path(os.environ.get("BENCHQ_PG_BIN", "/usr/lib/postgresql/15/bin"))
_PORT = 5432  # only names the socket file inside our private directory
TEMPLATE_DB = "benchq_template"
#: A login role in `benchq_reader`, as an operator would create for the dashboard.
READER_LOGIN = "benchq_dashboard"


class PgCluster:
    """One initdb'd, running cluster; `stop()` removes every trace."""

    def __init__(self, *, durable: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="benchq-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            # initdb and postgres refuse root; the Debian package's user exists.
            shutil.chown(self.root, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        # Speed over durability, except for tests that crash the server:
        # with synchronous_commit off, a commit already acknowledged to the
        # client can vanish in a crash, which a real store would not allow.
        commit = "on" if durable else "off"
        self._options = (
            f"-k {self.root} -c listen_addresses='' -p {_PORT} -c fsync=off "
            f"-c synchronous_commit={commit} -c full_page_writes=off -c max_connections=100"
        )
        self.resume()

    def resume(self) -> None:
        """Start the server (again, after `pause`), on the same socket and data."""
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            self._options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.running = True

    def pause(self) -> None:
        """Stop the server abruptly (as a crash would), keeping its data for `resume`."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.running = False

    def _run(self, *argv: str) -> None:
        proc = subprocess.run(
            [*self._as_user, *argv], capture_output=True, text=True, timeout=120, check=False
        )
        if proc.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed: {proc.stdout}{proc.stderr}{log}")

    def url(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """A libpq URL of a database of this cluster, over its unix socket."""
        return f"postgresql://{user}@/{dbname}?host={self.root}&port={_PORT}"

    def reader_url(self, dbname: str) -> str:
        """A URL logging in as `READER_LOGIN`, a member of the `benchq_reader` role.

        Made as docs/operations.md tells an operator to make one (roles are
        cluster-wide, so once per cluster).
        """
        self.admin(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
            f"'{READER_LOGIN}') THEN CREATE ROLE {READER_LOGIN} LOGIN IN ROLE benchq_reader; "
            "END IF; END $$"
        )
        return self.url(dbname, user=READER_LOGIN)

    def stop(self) -> None:
        """Stop the server and delete its directory; safe to call twice."""
        if self.running:
            self.running = False
            subprocess.run(
                [
                    *self._as_user,
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def admin(self, statement: str) -> None:
        """Run one statement in the `postgres` database (CREATE DATABASE cannot be in a tx)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement.encode())

    def new_database(self, template: str | None = TEMPLATE_DB) -> str:
        """Create an empty database (a copy of `template`) and return its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        suffix = f" TEMPLATE {template}" if template else ""
        self.admin(f"CREATE DATABASE {name}{suffix}")
        return self.url(name)


def db_name(url: str) -> str:
    """The database a URL of `PgCluster.url` names."""
    from urllib.parse import urlsplit

    return urlsplit(url).path.lstrip("/")


_CLUSTER: PgCluster | None = None


def get_cluster() -> PgCluster:
    """The one cluster of this process, started (and migrated) on first use.

    A module-level singleton rather than only a fixture: fixtures imported
    into several test modules would otherwise start one cluster each.
    """
    global _CLUSTER
    if _CLUSTER is None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN}")
        cluster = PgCluster()
        atexit.register(cluster.stop)
        from benchq.store.migrate import upgrade

        cluster.admin(f"CREATE DATABASE {TEMPLATE_DB}")
        upgrade(cluster.url(TEMPLATE_DB))
        _CLUSTER = cluster
    return _CLUSTER


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The running test cluster (stopped when the session ends)."""
    cluster = get_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """URL of a fresh database with every migration applied."""
    return pg_cluster.new_database()


# --- one store per backend, for the contract tests ---------------------------------

#: Signs the stand-in's API keys, as a Supabase project's JWT secret does.
JWT_SECRET = "benchq-test-jwt-secret-of-at-least-32-bytes"
BACKENDS = ("sqlite", "postgres", "supabase")


@dataclass(frozen=True)
class StoreSpec:
    """How to open one backend's store; picklable, so child processes can open it too."""

    kind: str
    target: str
    """The SQLite path, the Postgres URL, or the Supabase (stand-in) base URL."""
    db_url: str | None = None
    """The Postgres database underneath (postgres and supabase)."""
    service_key: str | None = None
    anon_key: str | None = None
    reader_key: str | None = None
    reader_url: str | None = None
    """Postgres: a login in the `benchq_reader` role."""

    def open(self, *, read_only: bool = False, reader: bool = False) -> ResultsStore:
        """A new store object on this backend.

        `read_only`: Supabase with the anon key only. `reader`: as the dashboard
        opens it, with the `benchq_reader` role's credentials (Supabase: reader
        key and anon key; Postgres: the reader login); SQLite has no roles.
        """
        if self.kind == "sqlite":
            from benchq.store.sqlite import SQLiteStore

            return SQLiteStore(self.target)
        if self.kind == "postgres":
            from benchq.store.postgres import PostgresStore

            return PostgresStore(self.reader_url if reader and self.reader_url else self.target)
        from benchq.store.supabase import SupabaseStore

        return SupabaseStore(
            self.target,
            service_role_key=None if read_only or reader else self.service_key,
            anon_key=self.anon_key,
            reader_key=self.reader_key if reader else None,
        )

    def count(self, table: str) -> int:
        """Rows in `table`, read directly (not through the store under test)."""
        if self.kind == "sqlite":
            import sqlite3

            with closing(sqlite3.connect(self.target)) as conn:
                return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        import psycopg

        assert self.db_url is not None
        with psycopg.connect(self.db_url) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()
            assert row is not None
            return int(row[0])


@pytest.fixture(params=BACKENDS)
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSpec]:
    """Each backend in turn, on an empty, migrated store."""
    kind = request.param
    if kind == "sqlite":
        yield StoreSpec("sqlite", str(tmp_path / "benchq.db"))
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    url = cluster.new_database()
    if kind == "postgres":
        yield StoreSpec("postgres", url, db_url=url, reader_url=cluster.reader_url(db_name(url)))
        return
    try:
        from postgrest_standin import PostgrestStandin, make_key
    except ImportError:  # tests/ is a package
        from tests.postgrest_standin import PostgrestStandin, make_key
    standin = PostgrestStandin(url, JWT_SECRET)
    base = standin.start()
    try:
        yield StoreSpec(
            "supabase",
            base,
            db_url=url,
            service_key=make_key("service_role", JWT_SECRET),
            anon_key=make_key("anon", JWT_SECRET),
            reader_key=make_key("benchq_reader", JWT_SECRET),
        )
    finally:
        standin.stop()


@pytest.fixture
def store(store_spec: StoreSpec) -> Iterator[ResultsStore]:
    """The store of `store_spec`, closed afterwards."""
    opened = store_spec.open()
    yield opened
    opened.close()
