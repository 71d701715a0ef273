"""The Supabase backend's own guarantees: writes through rpc, reads through selects,
and row-level security that lets the anon key read aggregates but never write."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from benchq.errors import StoreError
from benchq.scoring.schema import MonitoringMetrics, MonitoringRecord
from benchq.store.schema import PushMetadata
from benchq.store.supabase import SupabaseStore

try:
    from pg_fixtures import JWT_SECRET, PgCluster, pg_cluster
    from postgrest_standin import PostgrestStandin, make_key
except ImportError:  # tests/ became a package
    from tests.pg_fixtures import JWT_SECRET, PgCluster, pg_cluster  # noqa: F401
    from tests.postgrest_standin import PostgrestStandin, make_key

META = PushMetadata(environment="github-actions", commit_sha="deadbeef")
TABLES = (
    "benchmark_transactions",
    "benchmark_snapshots",
    "benchmark_runs",
    "benchmark_case_results",
    "benchmark_run_models",
    "benchmark_case_documents",
)


def _record() -> MonitoringRecord:
    return MonitoringRecord(
        model_version="gemini-v1.0",
        model_provider="google",
        dataset_size=3,
        metrics=MonitoringMetrics(
            precision=1.0,
            recall=0.5,
            f1=0.667,
            latency_ms=900.0,
            analysis_cost=0.0,
            total_documents=3,
            total_issues_detected=2,
            total_issues_expected=4,
        ),
        duration_seconds=3.0,
        error_count=0,
        success_count=3,
        timestamp="2026-11-27T00:00:00Z",
    )


@pytest.fixture
def served(pg_cluster: PgCluster) -> Iterator[tuple[PostgrestStandin, str, str]]:
    """A stand-in over a fresh database: (stand-in, its URL, the database URL)."""
    db = pg_cluster.new_database()
    standin = PostgrestStandin(db, JWT_SECRET)
    base = standin.start()
    yield standin, base, db
    standin.stop()


def _count(db: str, table: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()
        assert row is not None
        return int(row[0])


def test_writes_use_rpc_and_reads_use_selects(
    served: tuple[PostgrestStandin, str, str],
) -> None:
    standin, base, _ = served
    store = SupabaseStore(
        base,
        service_role_key=make_key("service_role", JWT_SECRET),
        anon_key=make_key("anon", JWT_SECRET),
    )
    store.publish(_record(), META)
    store.latest_benchmarks()
    store.snapshot_history("gemini-v1.0", environment="github-actions")
    assert ("POST", "/rest/v1/rpc/benchmark_publish") in standin.requests
    assert ("GET", "/rest/v1/latest_benchmarks") in standin.requests
    assert ("GET", "/rest/v1/benchmark_snapshots") in standin.requests
    assert all(p.startswith("/rest/v1/rpc/") for m, p in standin.requests if m == "POST")


def test_the_anon_key_reads_but_cannot_write(served: tuple[PostgrestStandin, str, str]) -> None:
    _, base, db = served
    writer = SupabaseStore(base, service_role_key=make_key("service_role", JWT_SECRET))
    writer.publish(_record(), META)
    anon_only = SupabaseStore(base, anon_key=make_key("anon", JWT_SECRET))
    assert [s.model_version for s in anon_only.latest_benchmarks()] == ["gemini-v1.0"]
    with pytest.raises(StoreError, match="read-only"):
        anon_only.publish(_record(), META)
    # Even calling the function with the anon key itself is refused by the database.
    sneaky = SupabaseStore(
        base,
        service_role_key=make_key("anon", JWT_SECRET),
        anon_key=make_key("anon", JWT_SECRET),
    )
    with pytest.raises(StoreError, match="permission denied"):
        sneaky.publish(_record(), META)
    assert _count(db, "benchmark_snapshots") == 1
    assert _count(db, "benchmark_transactions") == 1


def test_a_key_signed_with_another_secret_is_refused(
    served: tuple[PostgrestStandin, str, str],
) -> None:
    _, base, db = served
    forged = make_key("service_role", "not-the-project-secret-but-long-enough")
    with pytest.raises(StoreError):
        SupabaseStore(base, service_role_key=forged).publish(_record(), META)
    assert _count(db, "benchmark_snapshots") == 0


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_row_level_security_in_the_database(pg_cluster: PgCluster, role: str) -> None:
    db = pg_cluster.new_database()
    with psycopg.connect(db, autocommit=True) as conn:
        secured = {
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relrowsecurity AND relname LIKE 'benchmark_%'"
            )
        }
        assert secured == set(TABLES)
        conn.execute(f"SET ROLE {role}".encode())
        # aggregates only (tests/test_store_privacy.py: no case-level table at all)
        for table in ("benchmark_transactions", "benchmark_snapshots", "latest_benchmarks"):
            conn.execute(f"SELECT count(*) FROM {table}".encode())
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(b"INSERT INTO benchmark_runs VALUES ('r','s','[]',1,'now','queued','{}')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(b"UPDATE benchmark_snapshots SET is_current = false")
        conn.execute(b"RESET ROLE")
        conn.execute(b"SET ROLE service_role")
        conn.execute(b"INSERT INTO benchmark_runs VALUES ('r','s','[]',1,'now','queued','{}')")
