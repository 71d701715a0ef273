"""Stores written when snapshot and transaction ids were integers get UUIDs, nothing else.

Each old id N becomes the fixed UUID `0000000T-0000-4000-8000-<N in hex>`
(T: 1 transactions, 2 snapshots) on both backends, every snapshot still
points at its own transaction, every other value stays, and the store goes
on from there (versions MAX+1, one current).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from benchq.scoring.schema import MonitoringRecord
from benchq.store import sqlite as sqlite_store
from benchq.store.migrate import default_migrations_dir, upgrade
from benchq.store.postgres import PostgresStore
from benchq.store.schema import PushMetadata, SnapshotConfig
from benchq.store.sqlite import SQLiteStore
from benchq.store.sqlite_ids import legacy_uuid

try:
    from pg_fixtures import PgCluster, pg_cluster
except ImportError:  # tests/ became a package
    from tests.pg_fixtures import PgCluster, pg_cluster  # noqa: F401

CONFIG = SnapshotConfig(model_version="openai-v1.0")


def _record(f1: float) -> dict[str, object]:
    return {
        "model_version": "openai-v1.0",
        "model_provider": "openai",
        "dataset_version": "benchmark-set-v1",
        "dataset_size": 10,
        "prompt_version": "v1",
        "metrics": {"precision": 0.5, "recall": 0.5, "f1": f1, "latency_ms": 10.0},
        "duration_seconds": 3.0,
        "error_count": 0,
        "success_count": 10,
        "timestamp": "2026-11-27T00:00:00Z",
    }


def test_a_postgres_store_with_bigint_ids_is_converted(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    url = pg_cluster.new_database(template="template0")
    before_uuids = tmp_path / "migrations"
    before_uuids.mkdir()
    for path in sorted(default_migrations_dir().glob("*.sql")):
        if path.name < "20261201400000":  # the migrations before ids became UUIDs
            shutil.copy(path, before_uuids)
    upgrade(url, before_uuids)
    meta = {"environment": "local", "commit_sha": "abc"}
    with psycopg.connect(url, autocommit=True) as conn:
        for f1 in (0.7, 0.8, 0.9):
            conn.execute("SELECT benchmark_publish(%s, %s)", (Jsonb(_record(f1)), Jsonb(meta)))
        conn.execute("SELECT benchmark_set_baseline('openai-v1.0', 'benchmark-set-v1', 'v1', "
                     "'local', 1)")  # fmt: skip
        old = conn.execute(
            "SELECT id, transaction_id, snapshot_version, f1_score, is_current, is_baseline "
            "FROM benchmark_snapshots ORDER BY id"
        ).fetchall()
        assert isinstance(old[0][0], int)

    upgrade(url)

    store = PostgresStore(url)
    try:
        history = {s.snapshot_version: s for s in store.snapshot_history("openai-v1.0")}
        for old_id, old_tx, version, f1, current, baseline in old:
            snap = history[version]
            assert str(snap.id) == legacy_uuid(2, old_id)
            assert str(snap.transaction_id) == legacy_uuid(1, old_tx)
            assert (snap.f1_score, snap.is_current, snap.is_baseline) == (f1, current, baseline)
        assert [s.snapshot_version for s in store.latest_benchmarks()] == [3]
        assert store.regression_check(CONFIG).status == "ok"  # 0.9 against 0.7
        with psycopg.connect(url) as conn:
            ids = {str(r[0]) for r in conn.execute("SELECT id FROM benchmark_transactions")}
        assert ids == {legacy_uuid(1, old_tx) for _, old_tx, *_ in old}
    finally:
        store.close()


def _old_sqlite_file(path: Path) -> None:
    """A store file as benchq wrote it with integer ids (the tables' old id types)."""
    transactions = sqlite_store._TRANSACTIONS_TABLE.replace(
        "id TEXT PRIMARY KEY", "id INTEGER PRIMARY KEY AUTOINCREMENT"
    )
    snapshots = sqlite_store._SNAPSHOTS_TABLE.replace(
        "id TEXT PRIMARY KEY", "id INTEGER PRIMARY KEY AUTOINCREMENT"
    ).replace("transaction_id TEXT", "transaction_id INTEGER")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(f"{transactions};{snapshots};{sqlite_store._INDEXES}")
        for i, f1 in enumerate((0.7, 0.8, 0.9), start=1):
            conn.execute(
                "INSERT INTO benchmark_transactions (id, created_at, commit_sha, model_version, "
                "dataset_version, prompt_version, environment, metrics, tags) "
                "VALUES (?, ?, 'abc', 'openai-v1.0', 'benchmark-set-v1', 'v1', 'local', ?, '[]')",
                (10 + i, f"2026-11-2{i}T00:00:00+00:00", json.dumps({"f1": f1})),
            )
            conn.execute(
                "INSERT INTO benchmark_snapshots (id, snapshot_version, created_at, model_version, "
                "dataset_version, prompt_version, environment, transaction_id, commit_sha, "
                "metrics, f1_score, is_current, is_baseline) VALUES (?, ?, ?, 'openai-v1.0', "
                "'benchmark-set-v1', 'v1', 'local', ?, 'abc', ?, ?, ?, ?)",
                (
                    i,
                    i,
                    f"2026-11-2{i}T00:00:00+00:00",
                    10 + i,
                    json.dumps({"f1": f1}),
                    f1,
                    i == 3,
                    i == 1,
                ),
            )


def test_a_sqlite_store_with_integer_ids_is_converted_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "benchq.db"
    _old_sqlite_file(path)
    store = SQLiteStore(path)
    history = {s.snapshot_version: s for s in store.snapshot_history("openai-v1.0")}
    for i in (1, 2, 3):
        assert str(history[i].id) == legacy_uuid(2, i)
        assert str(history[i].transaction_id) == legacy_uuid(1, 10 + i)
    assert (history[3].is_current, history[1].is_baseline) == (True, True)
    assert [s.f1_score for s in store.list_snapshots()] == [0.9, 0.8, 0.7]
    assert store.latest_benchmarks()[0].commit_sha == "abc"  # the join still finds it
    # It goes on from there, with UUIDs of its own.
    snap = store.publish(
        MonitoringRecord.model_validate(_record(0.85)),
        PushMetadata(environment="local", commit_sha="def"),
    )
    assert snap.snapshot_version == 4 and str(snap.id) not in {legacy_uuid(2, i) for i in (1, 2, 3)}
    store.close()
    # Opening it again converts nothing (and the indexes are back).
    again = SQLiteStore(path)
    assert len(again.snapshot_history("openai-v1.0")) == 4
    with closing(sqlite3.connect(path)) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"benchmark_snapshots_one_current", "benchmark_snapshots_run"} <= indexes
    assert not any(t.startswith("benchq_old") for t in tables)
    again.close()
