"""A store whose server goes away raises `StoreUnavailable`, never a raw driver error,
so the pipeline can retry or keep an outbox; and opening it by settings works."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import benchq.store.sqlite as sqlite_store
from benchq.config.settings import Settings
from benchq.errors import ConfigError, StoreUnavailable
from benchq.scoring.schema import MonitoringMetrics, MonitoringRecord
from benchq.store.factory import open_store
from benchq.store.migrate import upgrade
from benchq.store.postgres import PostgresStore
from benchq.store.schema import PushMetadata, RunRecord
from benchq.store.sqlite import SQLiteStore
from benchq.store.supabase import SupabaseStore
from tests.sqlite_writer import new_file_being_written, open_while_written

try:
    from pg_fixtures import JWT_SECRET, PgCluster
    from postgrest_standin import PostgrestStandin, make_key
except ImportError:  # tests/ became a package
    from tests.pg_fixtures import JWT_SECRET, PgCluster
    from tests.postgrest_standin import PostgrestStandin, make_key

RUN = RunRecord(run_id="r", suite="s", models=["m"], cases_per_model=1, created_at="now")


def _record() -> MonitoringRecord:
    metrics = MonitoringMetrics(
        precision=0.5,
        recall=0.5,
        f1=0.5,
        latency_ms=1.0,
        analysis_cost=0.0,
        total_documents=1,
        total_issues_detected=1,
        total_issues_expected=1,
    )
    return MonitoringRecord(
        model_version="m-v1.0",
        model_provider="local",
        dataset_size=1,
        metrics=metrics,
        duration_seconds=1.0,
        error_count=0,
        success_count=1,
        timestamp="2026-11-27T00:00:00Z",
    )


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A cluster of this test's own, since the test kills it."""
    cluster = PgCluster()
    yield cluster
    cluster.stop()


@pytest.mark.slow
def test_postgres_and_supabase_raise_store_unavailable_when_the_server_dies(
    own_cluster: PgCluster,
) -> None:
    own_cluster.admin("CREATE DATABASE benchq")
    url = own_cluster.url("benchq")
    upgrade(url)
    standin = PostgrestStandin(url, JWT_SECRET)
    base = standin.start()
    try:
        pg = PostgresStore(url)
        supa = SupabaseStore(base, service_role_key=make_key("service_role", JWT_SECRET))
        meta = PushMetadata(environment="local", commit_sha="x")
        pg.create_run(RUN)
        supa.publish(_record(), meta)
        own_cluster.stop()
        for action in (
            lambda: pg.get_run("r"),
            lambda: pg.publish(_record(), meta),
            lambda: supa.publish(_record(), meta),
            lambda: supa.latest_benchmarks(),
        ):
            with pytest.raises(StoreUnavailable):
                action()
    finally:
        standin.stop()


def test_open_store_picks_the_backend_from_settings(clean_env: Path, tmp_path: Path) -> None:
    # clean_env (tests/conftest.py): no BENCHQ_/SUPABASE_ variables leak in
    sqlite = open_store(Settings(store_url=f"sqlite:///{tmp_path / 'x.db'}"))
    assert isinstance(sqlite, SQLiteStore)
    pg = open_store(Settings(store_url="postgresql://u@/db?host=/nonexistent"))
    assert isinstance(pg, PostgresStore)  # connects lazily
    with pytest.raises(StoreUnavailable):
        pg.latest_benchmarks()
    supa = open_store(
        Settings(SUPABASE_URL="http://127.0.0.1:9", SUPABASE_ANON_KEY="anon")  # type: ignore[call-arg]
    )
    assert isinstance(supa, SupabaseStore)
    with pytest.raises(ConfigError):
        open_store(Settings(SUPABASE_URL="http://127.0.0.1:9"))  # type: ignore[call-arg]
    with pytest.raises(ConfigError):
        open_store(Settings(store_url="mysql://x"))


# --- a new SQLite file opened while another connection writes to it ------------------


def test_a_store_opened_while_another_process_writes_a_new_file_waits_for_it(
    tmp_path: Path,
) -> None:
    # SQLite refuses to switch a file to WAL while another connection writes
    # to it, at once and without its busy handler: several processes opening
    # a new store together failed with "database is locked".
    path = tmp_path / "new.db"
    store = open_while_written(path, lambda: SQLiteStore(path))
    try:
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.create_run(
            RunRecord(
                run_id="r1",
                suite="s",
                models=["m"],
                cases_per_model=1,
                created_at="2026-12-02T00:00:00+00:00",
            )
        )
        assert store.get_run("r1").suite == "s"
    finally:
        store.close()


def test_a_lock_held_past_the_busy_timeout_is_an_unavailable_store_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new.db"
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_SECONDS", 0.3)
    with new_file_being_written(path), pytest.raises(StoreUnavailable, match=r"new\.db"):
        SQLiteStore(path)
