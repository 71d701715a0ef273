"""The dashboard's aggregates for the SQLite backend: the same GROUP BYs as the
`benchmark_dashboard_*` SQL functions of `supabase/migrations`, in SQLite's dialect.

A mixin of `SQLiteStore`, kept apart so the store's core stays readable.
SQLite has no `stddev_samp`; the standard deviation is computed from the
count, sum and sum of squares the query returns (`_std`), which gives the
same figure up to rounding.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from benchq.store.aggregates import (
    CaseDocument,
    ConfigSummary,
    DailyMetrics,
    DashboardFilter,
    ModelStats,
    ModelUsage,
)

DASHBOARD_SCHEMA = """
CREATE TABLE IF NOT EXISTS benchmark_case_documents (
    run_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    document_type TEXT NOT NULL,
    text TEXT NOT NULL,
    expected_issues TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, case_id)
);
CREATE INDEX IF NOT EXISTS benchmark_snapshots_environment_created
    ON benchmark_snapshots (environment, created_at);
CREATE INDEX IF NOT EXISTS benchmark_snapshots_run ON benchmark_snapshots (benchq_run_id);
"""


#: Snapshots with `failed`: the upload reported cases and none succeeded (as in
#: 20261201200000_explorer.sql). A subquery, not a view: the tables' ids are
#: converted in place (`sqlite_ids`), which a view over them would get in the way of.
OUTCOMES = """(SELECT s.*, COALESCE(t.success_count = 0 AND t.error_count > 0, 0) AS failed
    FROM benchmark_snapshots s
    LEFT JOIN benchmark_transactions t ON t.id = s.transaction_id)"""


def _ok(column: str) -> str:
    """`column` of snapshots whose run did not fail (NULL otherwise, so aggregates skip it)."""
    return f"CASE WHEN NOT failed THEN {column} END"


#: F1 figures of a group over its snapshots that did not fail: count, mean, min,
#: max, and the sums the deviation needs; and how many failed.
_F1_STATS = (
    f"COUNT({_ok('f1_score')}) AS f1_n, AVG({_ok('f1_score')}) AS f1_mean, "
    f"MIN({_ok('f1_score')}) AS f1_min, MAX({_ok('f1_score')}) AS f1_max, "
    f"SUM({_ok('f1_score')}) AS f1_sum, SUM({_ok('f1_score * f1_score')}) AS f1_sq, "
    f"AVG({_ok('precision_score')}) AS precision_mean, "
    f"AVG({_ok('recall_score')}) AS recall_mean, AVG({_ok('latency_ms')}) AS latency_mean, "
    f"AVG({_ok('cost_per_analysis')}) AS cost_mean, SUM(failed) AS failed"
)

#: The model name a run stored its case results under (see `benchmark_snapshot_model_name`).
_MODEL_NAME = """COALESCE(
    (SELECT rm.model_name FROM benchmark_run_models rm
     WHERE rm.run_id = s.benchq_run_id
       AND json_extract(rm.monitoring, '$.model_version') = s.model_version
     ORDER BY rm.model_name LIMIT 1),
    (SELECT m.value FROM benchmark_runs r, json_each(r.models) m
     WHERE r.run_id = s.benchq_run_id
       AND s.model_version IN (m.value, m.value || '-v1.0') LIMIT 1),
    s.model_version)"""


def _std(row: dict[str, Any]) -> float | None:
    """Sample standard deviation from count, sum and sum of squares; None below two."""
    n = row.pop("f1_n")
    total, squares = row.pop("f1_sum"), row.pop("f1_sq")
    if n is None or n < 2:
        return None
    # Rounding can leave a tiny negative variance for identical values.
    return math.sqrt(max(0.0, (squares - total * total / n) / (n - 1)))


def _where(f: DashboardFilter, *, with_days: bool = True) -> tuple[str, list[Any]]:
    """The WHERE clause of the sidebar filter (`benchmark_dashboard_match`)."""
    clauses, params = ["s.is_active"], list[Any]()
    if f.environment is not None:
        clauses.append("s.environment = ?")
        params.append(f.environment)
    if f.dataset is not None:
        clauses.append("s.dataset_version = ?")
        params.append(f.dataset)
    if f.models:
        clauses.append(f"s.model_version IN ({','.join('?' * len(f.models))})")
        params.extend(f.models)
    if with_days and f.days is not None:
        since = datetime.now(UTC).date() - timedelta(days=f.days - 1)
        # created_at is ISO 8601 text in UTC, so text order is time order.
        clauses.append("s.created_at >= ?")
        params.append(since.isoformat())
    return " AND ".join(clauses), params


class SQLiteDashboardQueries:
    """The dashboard methods of `SQLiteStore` (it supplies `_conn` and `_write`)."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError  # pragma: no cover - SQLiteStore provides it

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # pragma: no cover - SQLiteStore provides it

    def _dicts(self, query: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        cur = self._conn().execute(query, tuple(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def configurations(self, environment: str | None = None) -> list[ConfigSummary]:
        """Every configuration with active snapshots: counts, current and baseline figures."""
        cur, base = "CASE WHEN is_current THEN {} END", "CASE WHEN is_baseline THEN {} END"
        figures = {
            "current_version": cur.format("snapshot_version"),
            "baseline_version": base.format("snapshot_version"),
            "current_precision": cur.format("precision_score"),
            "current_recall": cur.format("recall_score"),
            "current_f1": cur.format("f1_score"),
            "current_latency_ms": cur.format("latency_ms"),
            "current_cost": cur.format("cost_per_analysis"),
            "baseline_precision": base.format("precision_score"),
            "baseline_recall": base.format("recall_score"),
            "baseline_f1": base.format("f1_score"),
            "current_failed": cur.format("failed"),
            "baseline_failed": base.format("failed"),
        }
        columns = ", ".join(f"MAX({expr}) AS {name}" for name, expr in figures.items())
        where, params = "is_active", list[Any]()
        if environment is not None:
            where += " AND environment = ?"
            params.append(environment)
        rows = self._dicts(
            "SELECT model_version, dataset_version, prompt_version, environment, "
            f"COUNT(*) AS snapshots, MIN(created_at) AS first_at, MAX(created_at) AS last_at, "
            f"{columns}, SUM(failed) AS failed_snapshots "
            f"FROM {OUTCOMES} WHERE {where} "
            "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
            params,
        )
        for row in rows:
            row["current_failed"] = bool(row["current_failed"])
            row["baseline_failed"] = bool(row["baseline_failed"])
        return [ConfigSummary.model_validate(r) for r in rows]

    def daily_metrics(
        self, filters: DashboardFilter, *, per_model: bool = False
    ) -> list[DailyMetrics]:
        """Per UTC day (and per model if asked): snapshot count and F1 statistics."""
        where, params = _where(filters)
        model = "s.model_version" if per_model else "NULL"
        rows = self._dicts(
            f"SELECT substr(s.created_at, 1, 10) AS day, {model} AS model_version, "
            f"COUNT(*) AS runs, {_F1_STATS} FROM {OUTCOMES} s WHERE {where} "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            params,
        )
        out = []
        for row in rows:
            row["f1_std"] = _std(row)
            out.append(DailyMetrics.model_validate(row))
        return out

    def model_stats(self, filters: DashboardFilter) -> list[ModelStats]:
        """Per model over the filter: snapshot count and F1 statistics."""
        where, params = _where(filters)
        rows = self._dicts(
            f"SELECT s.model_version, COUNT(*) AS runs, {_F1_STATS}, "
            "MIN(s.created_at) AS first_at, MAX(s.created_at) AS last_at "
            f"FROM {OUTCOMES} s WHERE {where} GROUP BY 1 ORDER BY 1",
            params,
        )
        out = []
        for row in rows:
            row["f1_std"] = _std(row)
            out.append(ModelStats.model_validate(row))
        return out

    def model_usage(self, filters: DashboardFilter) -> list[ModelUsage]:
        """Tokens and cost of the case results behind each current snapshot of the filter."""
        where, params = _where(filters, with_days=False)

        def field(name: str) -> str:
            return f"json_extract(c.result, '$.{name}')"

        rows = self._dicts(
            f"WITH cur AS (SELECT s.*, {_MODEL_NAME} AS model_name FROM benchmark_snapshots s "
            f"WHERE s.is_current AND {where}) "
            "SELECT cur.model_version, cur.dataset_version, cur.prompt_version, "
            "cur.environment, cur.snapshot_version, COUNT(c.case_id) AS cases, "
            "COUNT(CASE WHEN NOT c.extraction_success THEN 1 END) AS failed_cases, "
            f"AVG({field('input_tokens')}) AS avg_input_tokens, "
            f"AVG({field('output_tokens')}) AS avg_output_tokens, "
            f"AVG({field('total_tokens')}) AS avg_total_tokens, "
            f"SUM({field('cost_usd')}) AS total_cost_usd, "
            f"AVG({field('cost_usd')}) AS cost_per_case_usd, "
            f"AVG(CASE WHEN c.extraction_success THEN {field('extraction_latency_ms')} END) "
            "AS avg_latency_ms "
            "FROM cur LEFT JOIN benchmark_case_results c "
            "ON c.run_id = cur.benchq_run_id AND c.model_name = cur.model_name "
            "GROUP BY cur.id ORDER BY 1, 2, 3, 4",
            params,
        )
        return [ModelUsage.model_validate(r) for r in rows]

    def save_case_documents(self, run_id: str, documents: Iterable[CaseDocument]) -> None:
        """Insert or replace the documents a run showed its models, in one transaction."""
        rows = [
            (run_id, d.case_id, d.document_type, d.text, json.dumps(d.expected_issues))
            for d in documents
        ]
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO benchmark_case_documents "
                "(run_id, case_id, document_type, text, expected_issues) VALUES (?,?,?,?,?)",
                rows,
            )

    def case_documents(self, run_id: str) -> dict[str, CaseDocument]:
        """The documents stored for a run, by case id."""
        rows = self._dicts(
            "SELECT case_id, document_type, text, expected_issues FROM benchmark_case_documents "
            "WHERE run_id = ? ORDER BY case_id",
            (run_id,),
        )
        out = {}
        for row in rows:
            row["expected_issues"] = json.loads(row["expected_issues"])
            out[row["case_id"]] = CaseDocument.model_validate(row)
        return out
