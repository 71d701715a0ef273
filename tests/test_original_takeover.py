"""`benchq db upgrade` takes over a database created by the original's schema file.

The database is made by the original's own `schema_benchmark_monitoring.sql`
and its history written by the original's own functions; the upgrade must
say what it will do before changing anything, change nothing on a dry run,
keep every row with its meaning, leave the original's functions answering as
before, let benchq read and extend the history, and do nothing the second time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from benchq.errors import StoreError
from benchq.store.migrate import UpgradePlan, discover, upgrade
from benchq.store.postgres import PostgresStore
from benchq.store.schema import SnapshotConfig

try:
    from original_files import original_schema
    from pg_fixtures import PgCluster, pg_cluster
    from test_original_interface import MEDGEMMA, answers, write_history
except ImportError:  # tests/ became a package
    from tests.original_files import original_schema
    from tests.pg_fixtures import PgCluster, pg_cluster  # noqa: F401
    from tests.test_original_interface import MEDGEMMA, answers, write_history

TABLES = ("benchmark_transactions", "benchmark_snapshots")


def _original_database(cluster: PgCluster) -> str:
    url = cluster.new_database(template="template0")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(original_schema().encode())
    write_history(url)
    return url


def _rows(url: str, table: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(f"SELECT * FROM {table}".encode()).fetchall()
    return {str(r["id"]): r for r in rows}


def _fingerprint(url: str) -> Any:
    """Everything a change could touch: rows, columns, functions, views, constraints."""
    with psycopg.connect(url) as conn:
        catalog = [
            conn.execute(query).fetchall()
            for query in (
                b"SELECT table_schema, table_name, column_name, data_type, is_nullable, "
                b"column_default FROM information_schema.columns "
                b"WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3",
                b"SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
                b"JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
                b"ORDER BY 1, 2",
                b"SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1",
                b"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint ORDER BY 1, 2",
                b"SELECT nspname FROM pg_namespace ORDER BY 1",
            )
        ]
    return catalog, {t: _rows(url, t) for t in TABLES}


def _same_number(before: Decimal | None, after: float | None) -> bool:
    if before is None or after is None:
        return before is None and after is None
    return Decimal(repr(after)) == before


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "SUPABASE_"))}
    env["BENCHQ_STORE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "benchq.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(pg_cluster: PgCluster) -> None:
    url = _original_database(pg_cluster)
    before = _fingerprint(url)
    proc = _cli(url, "db", "upgrade", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "created by the original system's schema" in proc.stdout
    assert "f1_score" in proc.stdout and "double precision" in proc.stdout
    assert "rows without tags" in proc.stdout
    assert f"apply {len(discover())} migration(s)" in proc.stdout
    assert "dry run: nothing was changed" in proc.stdout
    assert _fingerprint(url) == before


def test_upgrade_keeps_every_row_and_the_original_answers(pg_cluster: PgCluster) -> None:
    url = _original_database(pg_cluster)
    before = {t: _rows(url, t) for t in TABLES}
    original_answers = answers(url)
    unchanged_when_announced: list[bool] = []
    fingerprint = _fingerprint(url)

    def announce(plan: UpgradePlan) -> None:
        # Called with the plan before anything changes: the database is as it was.
        unchanged_when_announced.append(_fingerprint(url) == fingerprint)
        assert plan.takeover and len(plan.migrations) == len(discover())

    applied = upgrade(url, on_plan=announce)
    assert unchanged_when_announced == [True]
    assert applied == [m.version for m in discover()]

    after = {t: _rows(url, t) for t in TABLES}
    for table in TABLES:
        assert after[table].keys() == before[table].keys()  # every row, same UUID
    numbers = {
        "benchmark_transactions": ("duration_seconds",),
        "benchmark_snapshots": ("precision_score", "recall_score", "f1_score", "latency_ms",
                                "cost_per_analysis"),
    }  # fmt: skip
    for table, rows in before.items():
        for row_id, old in rows.items():
            new = after[table][row_id]
            for column, value in old.items():
                if column in numbers[table]:
                    assert _same_number(value, new[column]), (table, column, value, new[column])
                elif column == "tags":
                    assert new[column] == (value or []), (row_id, value)
                else:
                    assert new[column] == value, (table, row_id, column)
            assert new["benchq_run_id"] is None
    # The original's functions and views answer exactly as they did before.
    assert answers(url) == original_answers

    # benchq reads the history: snapshots, the dashboard's queries, the regression check.
    listing = json.loads(_cli(url, "snapshots", "--json").stdout)
    assert {s["id"] for s in listing} == set(before["benchmark_snapshots"])
    store = PostgresStore(url)
    try:
        config = SnapshotConfig(
            model_version=MEDGEMMA[0],
            dataset_version=MEDGEMMA[1],
            prompt_version=MEDGEMMA[2],
            environment="github-actions",
        )
        verdict = store.regression_check(config)
        assert (verdict.status, verdict.current_version, verdict.baseline_version) == (
            "regression",
            2,
            1,
        )
        summaries = {c.model_version: c for c in store.configurations()}
        assert summaries[MEDGEMMA[0]].current_version == 2
        assert summaries[MEDGEMMA[0]].baseline_version == 1
        assert len(store.latest_benchmarks()) == 3
    finally:
        store.close()

    # ... and extends it: the next version, the only current one.
    record = json.dumps({"model_version": MEDGEMMA[0], "dataset_version": MEDGEMMA[1],
                         "prompt_version": MEDGEMMA[2], "metrics": {"f1": 0.9}})  # fmt: skip
    path = pg_cluster.root / "next.json"
    path.write_text(record)
    os.chmod(path, 0o644)
    push = _cli(url, "push", "--input", str(path), "--environment", "github-actions",
                "--commit-sha", "c4")  # fmt: skip
    assert push.returncode == 0, push.stderr
    assert "snapshot v4" in push.stdout

    # Running it again is harmless.
    again = _cli(url, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    assert "up to date: nothing to do" in again.stdout


def test_duplicate_flags_left_by_the_original_are_named_and_resolved(
    pg_cluster: PgCluster,
) -> None:
    url = _original_database(pg_cluster)
    with psycopg.connect(url, autocommit=True) as conn:
        # What a user of the original could do by hand: mark every version a baseline.
        conn.execute(
            b"UPDATE benchmark_snapshots SET is_baseline = TRUE "
            b"WHERE model_version = 'medgemma-v1.2'"
        )
    proc = _cli(url, "db", "upgrade")
    assert proc.returncode == 0, proc.stderr
    assert "has 3 baseline snapshots (versions 1, 2, 3); benchq keeps one: v3" in proc.stdout
    assert proc.stdout.index("keeps one") < proc.stdout.index("applied")
    with psycopg.connect(url) as conn:
        baselines = conn.execute(
            b"SELECT snapshot_version FROM benchmark_snapshots WHERE is_baseline"
        ).fetchall()
    assert baselines == [(3,)]


def test_a_failed_takeover_leaves_the_original_database_as_it_was(
    pg_cluster: PgCluster, tmp_path: Any
) -> None:
    import shutil

    url = _original_database(pg_cluster)
    before = _fingerprint(url)
    migrations = tmp_path / "migrations"
    shutil.copytree(discover()[0].path.parent, migrations)
    (migrations / "29990101000000_broken.sql").write_text("SELECT no_such_function();\n")
    with pytest.raises(StoreError, match=re.escape("29990101000000_broken.sql")):
        upgrade(url, migrations)
    assert _fingerprint(url) == before
