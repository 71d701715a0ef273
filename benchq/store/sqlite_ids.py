"""Convert a SQLite store written with integer snapshot and transaction ids to UUIDs.

benchq's ids are UUIDs on every backend (the original schema's type; see
docs/architecture.md). A `benchq.db` written before that has integer ids;
opening it converts it once, in one write transaction: both tables are
rebuilt with the same rows, each old id N becoming the fixed UUID
`legacy_uuid(table, N)`, so a snapshot still points at its transaction and
anyone who noted an old id can find its row. Postgres does the same in
`supabase/migrations/20261201400000_uuid_ids.sql`, with the same UUIDs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

#: The first group of a converted id says which table it came from.
TRANSACTIONS_TAG = 1
SNAPSHOTS_TAG = 2

_TRANSACTION_COLUMNS = (
    "created_at, commit_sha, branch_name, model_version, model_provider, dataset_version, "
    "dataset_size, prompt_version, environment, run_id, triggered_by, metrics, "
    "duration_seconds, error_count, success_count, tags, notes, recorded_at, benchq_run_id, "
    "model_id, prompt_digest"
)
_SNAPSHOT_COLUMNS = (
    "snapshot_version, created_at, model_version, dataset_version, prompt_version, "
    "environment, commit_sha, metrics, precision_score, recall_score, f1_score, latency_ms, "
    "cost_per_analysis, is_current, is_baseline, is_active, benchq_run_id, model_id, "
    "prompt_digest"
)


def legacy_uuid(tag: int, old_id: int) -> str:
    """The UUID an integer id became: `0000000<tag>-0000-4000-8000-<id in hex>`."""
    return f"{tag:08x}-0000-4000-8000-{old_id:012x}"


def _sql_uuid(tag: int, column: str) -> str:
    return f"printf('%08x-0000-4000-8000-%012x', {tag}, {column})"


def has_integer_ids(conn: sqlite3.Connection) -> bool:
    """True when the snapshot tables still have the integer ids of older benchq versions."""
    columns = conn.execute("PRAGMA table_info(benchmark_transactions)").fetchall()
    return any(c[1] == "id" and str(c[2]).upper() == "INTEGER" for c in columns)


def convert_integer_ids(conn: sqlite3.Connection, create_tables: Sequence[str]) -> bool:
    """Rebuild both tables with UUID ids, inside the caller's write transaction.

    `create_tables` are the CREATE TABLE statements of the new transactions
    and snapshots tables (the store's own). Returns True when it converted
    something; the caller creates the indexes afterwards.
    """
    if not has_integer_ids(conn):  # another process converted it first
        return False
    statements = [
        "ALTER TABLE benchmark_snapshots RENAME TO benchq_old_snapshots",
        "ALTER TABLE benchmark_transactions RENAME TO benchq_old_transactions",
        # Indexes keep their names when their table is renamed; drop them so the
        # new tables can have them (the caller creates them again).
        "DROP INDEX IF EXISTS benchmark_snapshots_one_current",
        "DROP INDEX IF EXISTS benchmark_snapshots_one_baseline",
        "DROP INDEX IF EXISTS benchmark_snapshots_environment_created",
        "DROP INDEX IF EXISTS benchmark_snapshots_run",
        *create_tables,
        f"INSERT INTO benchmark_transactions (id, {_TRANSACTION_COLUMNS}) "
        f"SELECT {_sql_uuid(TRANSACTIONS_TAG, 'id')}, {_TRANSACTION_COLUMNS} "
        "FROM benchq_old_transactions ORDER BY id",
        f"INSERT INTO benchmark_snapshots (id, transaction_id, {_SNAPSHOT_COLUMNS}) "
        f"SELECT {_sql_uuid(SNAPSHOTS_TAG, 'id')}, "
        f"{_sql_uuid(TRANSACTIONS_TAG, 'transaction_id')}, {_SNAPSHOT_COLUMNS} "
        "FROM benchq_old_snapshots ORDER BY id",
        "DROP TABLE benchq_old_snapshots",
        "DROP TABLE benchq_old_transactions",
    ]
    for statement in statements:
        conn.execute(statement)
    return True
