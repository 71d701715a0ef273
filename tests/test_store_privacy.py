"""Private data stays private: anon reads aggregates, `benchq_reader` reads cases, the
service role writes (`20261201490000_read_roles.sql`).

Against real Postgres (roles switched with SET ROLE, and a real login in the
reader role, as docs/operations.md tells an operator to make one) and through
the PostgREST stand-in, which runs every request as the role its key names.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from benchq.config.settings import Settings
from benchq.errors import ConfigError, StoreError
from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseDocument, DashboardFilter
from benchq.store.base import ResultsStore
from benchq.store.factory import open_reader_store, resolve_reader_target, resolve_store_target
from benchq.store.postgres import PostgresStore
from benchq.store.schema import RunModelSummary
from benchq.store.supabase import SupabaseStore
from tests.test_store_dashboard_queries import case, publish_run

try:
    from pg_fixtures import JWT_SECRET, READER_LOGIN, PgCluster, db_name, pg_cluster
    from postgrest_standin import PostgrestStandin, make_key
except ImportError:  # tests/ is a package
    from tests.pg_fixtures import (  # noqa: F401
        JWT_SECRET,
        READER_LOGIN,
        PgCluster,
        db_name,
        pg_cluster,
    )
    from tests.postgrest_standin import PostgrestStandin, make_key

#: What anon may read: the original's aggregate tables and the views over them.
AGGREGATES = {
    "benchmark_snapshots",
    "benchmark_transactions",
    "latest_benchmarks",
    "performance_trends",
}
#: What it may not: documents, raw outputs, case results, runs and their summaries.
PRIVATE = (
    "benchmark_case_documents",
    "benchmark_case_results",
    "benchmark_runs",
    "benchmark_run_models",
)
#: SECURITY DEFINER functions anon may call: each returns aggregates only.
DEFINER_ALLOWED = {"benchmark_dashboard_usage"}
BILL = "PATIENT: Jane Roe  DOB 1961-04-02  MEMBER ID XK-2231-77  99213 Office visit $150"
RAW = '{"issues": [{"type": "duplicate_charge", "evidence": "Jane Roe 99213"}]}'


def fill(store: ResultsStore) -> None:
    """A published run with a document, a case result (with raw output) and a summary."""
    publish_run(store, "run-1", "alpha", "alpha-v1.0", 0.8)
    result = case("run-1", "alpha", "bill-1", ["duplicate_charge"])
    store.save_case_results([result.model_copy(update={"raw_output": RAW})])
    store.save_case_documents(
        "run-1", [CaseDocument(case_id="bill-1", document_type="medical_bill", text=BILL)]
    )
    store.save_run_summary(
        RunModelSummary(
            run_id="run-1",
            model_name="alpha",
            aggregated={"individual_results": [{"document_name": "bill-1"}]},
            monitoring={"model_version": "alpha-v1.0"},
            finished_at="2026-01-01T00:00:00Z",
        )
    )


@pytest.fixture
def db(pg_cluster: PgCluster) -> str:
    url = pg_cluster.new_database()
    store = PostgresStore(url)
    fill(store)
    store.close()
    return url


# --- the database itself ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_the_public_roles_read_aggregates_and_nothing_of_a_case(db: str, role: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(f"SET ROLE {role}".encode())
        for relation in sorted(AGGREGATES):
            conn.execute(f"SELECT count(*) FROM {relation}".encode())
        for table in PRIVATE:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {table}".encode())
        # a per-run lookup is not an aggregate
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(b"SELECT benchmark_snapshot_model_name('run-1', 'alpha-v1.0')")
        # ... but the dashboard's aggregates still count the cases behind a snapshot
        row = conn.execute(
            b"SELECT cases, failed_cases FROM benchmark_dashboard_usage(NULL, NULL)"
        ).fetchone()
        assert row == (1, 0)
        (configs,) = conn.execute(
            b"SELECT count(*) FROM benchmark_dashboard_configurations(NULL)"
        ).fetchone() or (0,)
        assert configs == 1


def test_the_reader_login_reads_every_case_and_writes_nothing(
    pg_cluster: PgCluster, db: str
) -> None:
    with psycopg.connect(pg_cluster.reader_url(db_name(db)), autocommit=True) as conn:
        assert conn.execute(b"SELECT current_user").fetchone() == (READER_LOGIN,)
        texts = conn.execute(b"SELECT text FROM benchmark_case_documents").fetchall()
        assert texts == [(BILL,)]
        assert conn.execute(b"SELECT raw_output FROM benchmark_case_results").fetchall() == [(RAW,)]
        for table in PRIVATE:
            (n,) = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone() or (0,)
            assert n >= 1, table
        refused = [
            b"INSERT INTO benchmark_runs VALUES ('r','s','[]',1,'now','queued','{}')",
            b"UPDATE benchmark_snapshots SET is_current = false",
            b"DELETE FROM benchmark_case_documents",
            b"SELECT benchmark_set_run_status('run-1', 'failed')",
            b"SELECT benchmark_save_case_documents('run-1', '[]'::jsonb)",
        ]
        for statement in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_the_service_role_still_writes_every_table(db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(b"SET ROLE service_role")
        conn.execute(b"INSERT INTO benchmark_runs VALUES ('r2','s','[]',1,'now','queued','{}')")
        conn.execute(b"UPDATE benchmark_case_documents SET text = 'x' WHERE case_id = 'bill-1'")
        conn.execute(b"SELECT benchmark_set_run_status('r2', 'failed')")
        assert conn.execute(b"SELECT status FROM benchmark_runs WHERE run_id = 'r2'").fetchone()


def test_nothing_else_is_open_to_anon(db: str) -> None:
    """The catalog, read whole: a relation or function a later migration opens shows up here."""
    with psycopg.connect(db, autocommit=True) as conn:
        readable = dict(
            conn.execute(
                b"SELECT c.relname, c.relkind FROM pg_class c "
                b"JOIN pg_namespace n ON n.oid = c.relnamespace "
                b"WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p') "
                b"AND has_table_privilege('anon', c.oid, 'SELECT')"
            ).fetchall()
        )
        assert set(readable) >= AGGREGATES
        # Tables (and materialized views, which hold rows of their own): the
        # aggregate ones only. Views may be added over them (other migrations do).
        stored = {name for name, kind in readable.items() if kind != "v"}
        assert stored == {"benchmark_snapshots", "benchmark_transactions"}
        # A view runs as its owner unless it says otherwise, past the tables' RLS.
        views = conn.execute(
            b"SELECT c.relname, c.reloptions FROM pg_class c "
            b"JOIN pg_namespace n ON n.oid = c.relnamespace "
            b"WHERE n.nspname = 'public' AND c.relkind = 'v' "
            b"AND has_table_privilege('anon', c.oid, 'SELECT')"
        ).fetchall()
        assert views and all("security_invoker=true" in (opts or []) for _, opts in views)
        # A function that runs as its owner reads past every grant: only
        # aggregates may, and each with a pinned search path.
        definers = conn.execute(
            b"SELECT p.proname, p.proconfig FROM pg_proc p "
            b"JOIN pg_namespace n ON n.oid = p.pronamespace "
            b"WHERE n.nspname = 'public' AND p.prosecdef "
            b"AND has_function_privilege('anon', p.oid, 'EXECUTE')"
        ).fetchall()
        assert {name for name, _ in definers} == DEFINER_ALLOWED
        assert all(any(c.startswith("search_path=") for c in cfg or []) for _, cfg in definers)


# --- through the PostgREST stand-in (Supabase) --------------------------------------------


@dataclass
class Served:
    base: str
    db: str

    def store(self, *, service: bool = False, anon: bool = False, reader: bool = False) -> Any:
        return SupabaseStore(
            self.base,
            service_role_key=make_key("service_role", JWT_SECRET) if service else None,
            anon_key=make_key("anon", JWT_SECRET) if anon else None,
            reader_key=make_key("benchq_reader", JWT_SECRET) if reader else None,
        )

    def get(self, path: str, role: str) -> tuple[int, Any]:
        """A raw API request, as anyone holding the key could send it."""
        request = urllib.request.Request(f"{self.base}/rest/v1/{path}")
        request.add_header("apikey", make_key(role, JWT_SECRET))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture
def served(db: str) -> Iterator[Served]:
    standin = PostgrestStandin(db, JWT_SECRET)
    base = standin.start()
    yield Served(base, db)
    standin.stop()


def test_the_anon_key_gets_no_document_raw_output_or_case_result(served: Served) -> None:
    for table in PRIVATE:
        status, body = served.get(f"{table}?select=*", "anon")
        assert status == 401 and body["code"] == "42501", (table, body)
    status, body = served.get("benchmark_snapshots?select=model_version", "anon")
    assert status == 200 and body == [{"model_version": "alpha-v1.0"}]

    anon = served.store(anon=True)
    try:
        assert [b.model_version for b in anon.latest_benchmarks()] == ["alpha-v1.0"]
        assert anon.configurations()[0].current_version == 1
        assert anon.model_stats(DashboardFilter())[0].runs == 1
        assert anon.model_usage(DashboardFilter())[0].cases == 1  # aggregates of the cases
        anon.ping()
        with pytest.raises(StoreError, match="SUPABASE_READER_KEY"):
            anon.case_documents("run-1")
        with pytest.raises(StoreError, match="SUPABASE_READER_KEY"):
            anon.case_results("run-1", "alpha")
        with pytest.raises(StoreError, match="SUPABASE_READER_KEY"):
            anon.get_run("run-1")
        with pytest.raises(StoreError, match="SUPABASE_READER_KEY"):
            anon.run_summaries("run-1")
    finally:
        anon.close()


def test_the_reader_key_reads_cases_and_cannot_write(served: Served) -> None:
    status, body = served.get("benchmark_case_documents?select=text", "benchq_reader")
    assert status == 200 and body == [{"text": BILL}]

    reader = served.store(anon=True, reader=True)
    try:
        assert reader.case_documents("run-1")["bill-1"].text == BILL
        (result,) = reader.case_results("run-1", "alpha")
        assert result.raw_output == RAW
        assert reader.get_run("run-1").models == ["alpha"]
        assert reader.snapshot_cases(reader.latest_benchmarks()[0].config, 1)
        with pytest.raises(StoreError, match="read-only"):
            reader.save_case_results([result])
    finally:
        reader.close()
    # the reader's key where the service role's should be: refused by the database
    sneaky = SupabaseStore(served.base, service_role_key=make_key("benchq_reader", JWT_SECRET))
    try:
        with pytest.raises(StoreError, match="permission denied"):
            sneaky.save_case_results([result])
        with pytest.raises(StoreError, match="permission denied"):
            sneaky.set_run_status("run-1", "failed")
    finally:
        sneaky.close()


def test_the_service_role_writes_and_reads_through_the_api(served: Served) -> None:
    writer = served.store(service=True, anon=True)
    try:
        changed = case("run-1", "alpha", "bill-2", [])
        writer.save_case_results([changed])
        # a worker holding both keys reads case results with the service role's
        assert writer.count_case_results("run-1", "alpha") == 2
        assert writer.stored_case_ids("run-1", "alpha", ["bill-1", "bill-2", "x"]) == {
            "bill-1",
            "bill-2",
        }
        writer.set_run_status("run-1", "done")
        assert writer.get_run("run-1").status == "done"
    finally:
        writer.close()


# --- the dashboard's store, from settings --------------------------------------------------


def _settings(**values: str) -> Settings:
    """Settings from these values only (field names, or the aliases SUPABASE_* answer to)."""
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_reader_store_is_opened_with_the_reader_credentials(
    served: Served, pg_cluster: PgCluster
) -> None:
    settings = _settings(
        SUPABASE_URL=served.base,
        SUPABASE_ANON_KEY=make_key("anon", JWT_SECRET),
        SUPABASE_READER_KEY=make_key("benchq_reader", JWT_SECRET),
    )
    target = resolve_reader_target(settings)
    assert target.kind == "supabase" and target.reader_key is not None
    assert "SUPABASE_READER_KEY" not in target.environment()  # workers never get it
    store = open_reader_store(settings)
    try:
        assert store.case_documents("run-1")["bill-1"].text == BILL
    finally:
        store.close()

    reader_url = pg_cluster.reader_url(db_name(served.db))
    on_postgres = _settings(store_url=served.db, reader_store_url=reader_url)
    assert resolve_reader_target(on_postgres).url == reader_url
    assert resolve_store_target(on_postgres).url == served.db  # writers keep theirs
    store = open_reader_store(on_postgres)
    try:
        assert store.case_documents("run-1")["bill-1"].text == BILL
        with pytest.raises(StoreError, match="permission denied"):
            store.set_run_status("run-1", "failed")
    finally:
        store.close()


def test_a_reader_store_url_is_postgres_or_sqlite() -> None:
    with pytest.raises(ConfigError, match="BENCHQ_READER_STORE_URL"):
        resolve_reader_target(_settings(reader_store_url="mysql://x/y"))
    one_host = resolve_reader_target(_settings(reader_store_url="sqlite:////data/benchq.db"))
    assert (one_host.kind, one_host.url) == ("sqlite", "sqlite:////data/benchq.db")
    only_reader = _settings(SUPABASE_URL="http://127.0.0.1:9", SUPABASE_READER_KEY="k")
    target = resolve_store_target(only_reader)
    assert target.reader_key == SecretStr("k") and target.service_role_key is None


def test_case_results_are_what_the_reader_reads(served: Served) -> None:
    """The reader sees exactly what was stored, raw output included (no silent filtering)."""
    reader = served.store(reader=True)
    try:
        stored: list[CaseResult] = reader.case_results("run-1", "alpha")
        assert [r.document_name for r in stored] == ["bill-1"]
    finally:
        reader.close()
