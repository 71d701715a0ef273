"""`benchq db upgrade`: every migration once, in order, atomically; edits refused."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import psycopg
import pytest

from benchq.errors import StoreError, StoreUnavailable
from benchq.store.migrate import applied_versions, default_migrations_dir, discover, upgrade

try:
    from pg_fixtures import PgCluster, pg_cluster
except ImportError:  # tests/ became a package
    from tests.pg_fixtures import PgCluster, pg_cluster  # noqa: F401


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }


def test_upgrading_twice_is_harmless(pg_cluster: PgCluster) -> None:
    url = pg_cluster.new_database(template="template0")
    first = upgrade(url)
    assert first == [m.version for m in discover()]
    assert {"benchmark_snapshots", "benchmark_transactions", "latest_benchmarks"} <= _tables(url)
    assert upgrade(url) == []
    assert applied_versions(url) == first


def test_a_later_migration_applies_on_top(pg_cluster: PgCluster, tmp_path: Path) -> None:
    url = pg_cluster.new_database(template="template0")
    migrations = tmp_path / "migrations"
    shutil.copytree(default_migrations_dir(), migrations)
    upgrade(url, migrations)
    (migrations / "29990101000000_add_notes_index.sql").write_text(
        "CREATE INDEX benchmark_transactions_commit ON benchmark_transactions (commit_sha);\n"
    )
    assert upgrade(url, migrations) == ["29990101000000"]
    assert upgrade(url, migrations) == []


def test_an_edited_migration_is_refused(pg_cluster: PgCluster, tmp_path: Path) -> None:
    url = pg_cluster.new_database(template="template0")
    migrations = tmp_path / "migrations"
    shutil.copytree(default_migrations_dir(), migrations)
    upgrade(url, migrations)
    first = sorted(migrations.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- sneaky edit\n")
    with pytest.raises(StoreError, match="edited after it was applied"):
        upgrade(url, migrations)


def test_a_failing_migration_leaves_nothing_behind(pg_cluster: PgCluster, tmp_path: Path) -> None:
    url = pg_cluster.new_database(template="template0")
    migrations = tmp_path / "migrations"
    shutil.copytree(default_migrations_dir(), migrations)
    (migrations / "29990101000000_broken.sql").write_text(
        "CREATE TABLE half_done (x int);\nSELECT no_such_function();\n"
    )
    with pytest.raises(StoreError, match=re.escape("29990101000000_broken.sql")):
        upgrade(url, migrations)
    assert "half_done" not in _tables(url)
    assert "29990101000000" not in applied_versions(url)
    assert "benchmark_snapshots" in _tables(url)  # the good one before it stays


def test_misnamed_files_and_unreachable_servers(tmp_path: Path) -> None:
    (tmp_path / "init.sql").write_text("SELECT 1;")
    with pytest.raises(StoreError, match=re.escape("<version>_<name>.sql")):
        discover(tmp_path)
    with pytest.raises(StoreUnavailable):
        upgrade(f"postgresql://postgres@/x?host={tmp_path}&port=1")


def test_an_older_sqlite_file_gains_the_new_columns(tmp_path: Path) -> None:
    """A `benchq.db` written before the provenance columns opens and works."""
    import sqlite3

    from benchq.store.sqlite import SQLiteStore

    path = tmp_path / "benchq.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:  # make it the file an older benchq wrote
        for table, column in (
            ("benchmark_run_models", "status"),
            ("benchmark_run_models", "error"),
            ("benchmark_snapshots", "model_id"),
            ("benchmark_snapshots", "prompt_digest"),
            ("benchmark_transactions", "model_id"),
            ("benchmark_transactions", "prompt_digest"),
        ):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    store = SQLiteStore(path)
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(benchmark_snapshots)")}
    assert {"model_id", "prompt_digest"} <= columns
    assert store.latest_benchmarks() == []
