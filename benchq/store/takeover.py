"""Take over a database created by the original system's `schema_benchmark_monitoring.sql`.

Such a database has the two tables benchq keeps by name, with UUID ids (as
benchq's), `NUMERIC` scores, nullable flags and no benchq columns. These
steps bring its two tables to the shape benchq's first migration would have
made, without changing what any row means, so that the migrations can then
apply as on any database. `benchq db upgrade` runs them, and then every
pending migration, in one transaction: a failure leaves the database as the
original left it. Each step says what it will do, with the rows it touches,
before anything runs (`--dry-run` stops there).

Why each step keeps every row's meaning:

* the score columns become `double precision`: a `NUMERIC(5,4)` value such as
  0.8950 becomes the float nearest it, which reads back as the same number;
  the original's functions and views (recreated by a later migration) round
  as its columns did, and the regression rule compares at four places;
* a NULL `is_current` / `is_baseline` / `is_active` becomes false: the
  original only ever tested them with `= TRUE`, so NULL already acted as false;
* NULL `tags` become an empty list (the push script wrote NULL for "no tags");
* the default 0 of `error_count` / `success_count` is dropped for new rows
  (the original's function never set them, so its 0 meant "not recorded");
  stored values stay as they are;
* two current (or baseline) snapshots of one configuration, which the
  original's unlocked function could leave behind, cannot both stay: the
  newest version keeps the flag, and the plan names each such configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

Conn = psycopg.Connection[dict[str, Any]]

#: Columns whose `NUMERIC` type becomes `double precision`, as benchq keeps them.
_FLOAT_COLUMNS = {
    "benchmark_transactions": ("duration_seconds",),
    "benchmark_snapshots": (
        "precision_score",
        "recall_score",
        "f1_score",
        "latency_ms",
        "cost_per_analysis",
    ),
}
_CONFIG = "model_version, dataset_version, prompt_version, environment"


@dataclass(frozen=True)
class Step:
    """One change to an original database: what it does, in words, and its SQL."""

    description: str
    statements: tuple[str, ...]


def is_original(conn: Conn) -> bool:
    """True for a database with the original's snapshot table and none of benchq's columns."""
    return _table_exists(conn, "benchmark_snapshots") and not _column(
        conn, "benchmark_snapshots", "benchq_run_id"
    )


def plan(conn: Conn) -> list[Step]:
    """The steps that take over an original database; empty for any other database.

    Reads only: nothing is changed until the caller runs the statements.
    """
    if not is_original(conn):
        return []
    steps: list[Step] = []
    views = [v for v in ("v_latest_benchmarks", "v_performance_trends") if _view_exists(conn, v)]
    if views:
        steps.append(
            Step(
                f"drop the original's views {', '.join(views)} while their columns change type; "
                "migration 20261201420000 creates them again with the same columns",
                tuple(f"DROP VIEW {v}" for v in views),
            )
        )
    steps.extend(_float_steps(conn))
    steps.append(
        Step(
            "add benchq's columns recorded_at and benchq_run_id to benchmark_transactions, "
            "and benchq_run_id to benchmark_snapshots (empty for existing rows)",
            (
                "ALTER TABLE benchmark_transactions ADD COLUMN IF NOT EXISTS recorded_at text, "
                "ADD COLUMN IF NOT EXISTS benchq_run_id text",
                "ALTER TABLE benchmark_snapshots ADD COLUMN IF NOT EXISTS benchq_run_id text",
            ),
        )
    )
    steps.extend(_transaction_steps(conn))
    steps.extend(_flag_steps(conn))
    steps.extend(_duplicate_steps(conn, "is_current", "current"))
    steps.extend(_duplicate_steps(conn, "is_baseline", "baseline"))
    return steps


def _float_steps(conn: Conn) -> list[Step]:
    steps = []
    for table, columns in _FLOAT_COLUMNS.items():
        numeric = [
            c for c in columns if (_column(conn, table, c) or {}).get("data_type") == "numeric"
        ]
        if not numeric:
            continue
        rows = _count(conn, f"SELECT count(*) FROM {table}")
        steps.append(
            Step(
                f"{table}: {', '.join(numeric)} from numeric to double precision "
                f"({rows} rows; every value reads back as the same number)",
                (
                    f"ALTER TABLE {table} "
                    + ", ".join(f"ALTER COLUMN {c} TYPE double precision" for c in numeric),
                ),
            )
        )
    return steps


def _transaction_steps(conn: Conn) -> list[Step]:
    steps = []
    defaults = [
        c
        for c in ("error_count", "success_count")
        if (_column(conn, "benchmark_transactions", c) or {}).get("column_default") is not None
    ]
    if defaults:
        steps.append(
            Step(
                f"benchmark_transactions: drop the default 0 of {', '.join(defaults)}, so a count "
                "nobody recorded is stored as unknown (existing values stay)",
                tuple(
                    f"ALTER TABLE benchmark_transactions ALTER COLUMN {c} DROP DEFAULT"
                    for c in defaults
                ),
            )
        )
    untagged = _count(conn, "SELECT count(*) FROM benchmark_transactions WHERE tags IS NULL")
    steps.append(
        Step(
            f"benchmark_transactions.tags: {untagged} rows without tags (NULL) get an empty "
            "list; tags become NOT NULL DEFAULT '{}'",
            (
                "UPDATE benchmark_transactions SET tags = '{}' WHERE tags IS NULL",
                "ALTER TABLE benchmark_transactions ALTER COLUMN tags SET DEFAULT '{}', "
                "ALTER COLUMN tags SET NOT NULL",
            ),
        )
    )
    if not _constraint_exists(conn, "benchmark_transactions_commit_sha_check"):
        steps.append(
            Step(
                "benchmark_transactions: refuse an empty commit_sha from now on "
                "(existing rows are not checked)",
                (
                    "ALTER TABLE benchmark_transactions ADD CONSTRAINT "
                    "benchmark_transactions_commit_sha_check CHECK (commit_sha <> '') NOT VALID",
                ),
            )
        )
    return steps


def _flag_steps(conn: Conn) -> list[Step]:
    nulls = _count(
        conn,
        "SELECT count(*) FROM benchmark_snapshots "
        "WHERE is_current IS NULL OR is_baseline IS NULL OR is_active IS NULL",
    )
    statements = [
        f"UPDATE benchmark_snapshots SET {flag} = false WHERE {flag} IS NULL"
        for flag in ("is_current", "is_baseline", "is_active")
    ]
    statements.append(
        "ALTER TABLE benchmark_snapshots "
        "ALTER COLUMN is_current SET DEFAULT false, ALTER COLUMN is_current SET NOT NULL, "
        "ALTER COLUMN is_baseline SET DEFAULT false, ALTER COLUMN is_baseline SET NOT NULL, "
        "ALTER COLUMN is_active SET DEFAULT true, ALTER COLUMN is_active SET NOT NULL"
    )
    steps = [
        Step(
            f"benchmark_snapshots flags: {nulls} rows with a NULL is_current, is_baseline or "
            "is_active get false (the original tested them with = TRUE); the flags become "
            "NOT NULL, and a new snapshot is current only when benchq makes it so",
            tuple(statements),
        )
    ]
    if not _constraint_exists(conn, "benchmark_snapshots_snapshot_version_check"):
        steps.append(
            Step(
                "benchmark_snapshots: versions start at 1 from now on (existing rows are not "
                "checked)",
                (
                    "ALTER TABLE benchmark_snapshots ADD CONSTRAINT "
                    "benchmark_snapshots_snapshot_version_check CHECK (snapshot_version >= 1) "
                    "NOT VALID",
                ),
            )
        )
    return steps


def _duplicate_steps(conn: Conn, flag: str, word: str) -> list[Step]:
    """Keep `flag` on the newest version only, where a configuration has it more than once."""
    rows = conn.execute(
        f"SELECT {_CONFIG}, array_agg(snapshot_version ORDER BY snapshot_version) AS versions "
        f"FROM benchmark_snapshots WHERE {flag} IS TRUE GROUP BY {_CONFIG} "
        "HAVING count(*) > 1 ORDER BY 1, 2, 3, 4"
    ).fetchall()
    steps = []
    for r in rows:
        versions = list(r["versions"])
        where = "/".join(r[c] for c in ("model_version", "dataset_version", "prompt_version",
                                        "environment"))  # fmt: skip
        statement = sql.SQL(
            "UPDATE benchmark_snapshots SET {flag} = false WHERE model_version = {model} "
            "AND dataset_version = {dataset} AND prompt_version = {prompt} "
            "AND environment = {env} AND {flag} IS TRUE AND snapshot_version <> {keep}"
        ).format(
            flag=sql.Identifier(flag),
            model=sql.Literal(r["model_version"]),
            dataset=sql.Literal(r["dataset_version"]),
            prompt=sql.Literal(r["prompt_version"]),
            env=sql.Literal(r["environment"]),
            keep=sql.Literal(versions[-1]),
        )
        steps.append(
            Step(
                f"{where} has {len(versions)} {word} snapshots (versions "
                f"{', '.join(map(str, versions))}); benchq keeps one: v{versions[-1]}, the newest",
                (statement.as_string(conn),),
            )
        )
    return steps


# --- catalogue look-ups ---------------------------------------------------------------


def _table_exists(conn: Conn, name: str) -> bool:
    return _count(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                  "AND tablename = %s", (name,)) > 0  # fmt: skip


def _view_exists(conn: Conn, name: str) -> bool:
    return _count(conn, "SELECT count(*) FROM pg_views WHERE schemaname = 'public' "
                  "AND viewname = %s", (name,)) > 0  # fmt: skip


def _constraint_exists(conn: Conn, name: str) -> bool:
    return _count(conn, "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n "
                  "ON n.oid = c.connamespace WHERE n.nspname = 'public' AND c.conname = %s",
                  (name,)) > 0  # fmt: skip


def _column(conn: Conn, table: str, column: str) -> dict[str, Any] | None:
    rows = conn.execute(
        "SELECT data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s AND column_name = %s",
        (table, column),
    ).fetchall()
    return rows[0] if rows else None


def _count(conn: Conn, query: str, params: tuple[Any, ...] = ()) -> int:
    row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    return int(next(iter(row.values())))
