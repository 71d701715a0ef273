"""The embedded SQLite backend: the default store when nothing is configured.

One file in the working directory (like MLflow's `mlflow.db`), opened in WAL
mode so several local worker processes can write while a dashboard reads.

Snapshot and transaction ids are UUIDs (text), as in the original schema and
the Postgres store; a file written when they were integers is converted when
it is opened (`sqlite_ids`), each old id N becoming a fixed UUID that ends in
N in hexadecimal.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchq.errors import NotFound, StoreError, StoreUnavailable
from benchq.regression.original import DEFAULT_RULE, DEFAULT_THRESHOLD, RegressionRule
from benchq.scoring.schema import CaseResult, MonitoringRecord
from benchq.sqlite_wal import use_wal
from benchq.store.base import ResultsStore
from benchq.store.schema import (
    ComparisonRow,
    LatestBenchmark,
    PushMetadata,
    RegressionVerdict,
    RunModelSummary,
    RunRecord,
    RunStatus,
    Snapshot,
    SnapshotConfig,
    SnapshotFilter,
    TrendPoint,
)
from benchq.store.snapshots import (
    check_threshold,
    compare_metrics,
    config_of,
    record_json,
    regression_verdict,
)
from benchq.store.sqlite_dashboard import DASHBOARD_SCHEMA, SQLiteDashboardQueries
from benchq.store.sqlite_explorer import SQLiteExplorerQueries
from benchq.store.sqlite_ids import convert_integer_ids, has_integer_ids

#: How long a connection waits for another process's lock before the store
#: counts as unavailable (`StoreUnavailable`, which callers retry later).
BUSY_TIMEOUT_SECONDS = 60.0


_TABLES = """
CREATE TABLE IF NOT EXISTS benchmark_runs (
    run_id TEXT PRIMARY KEY,
    suite TEXT NOT NULL,
    models TEXT NOT NULL,
    cases_per_model INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    notified_at TEXT
);
CREATE TABLE IF NOT EXISTS benchmark_case_results (
    run_id TEXT NOT NULL,
    model_name TEXT NOT NULL,
    case_id TEXT NOT NULL,
    document_type TEXT NOT NULL,
    extraction_success INTEGER NOT NULL,
    json_valid INTEGER NOT NULL,
    true_positives INTEGER NOT NULL,
    false_positives INTEGER NOT NULL,
    false_negatives INTEGER NOT NULL,
    error_message TEXT,
    raw_output TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (run_id, model_name, case_id)
);
CREATE TABLE IF NOT EXISTS benchmark_run_models (
    run_id TEXT NOT NULL,
    model_name TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    snapshot_version INTEGER,
    aggregated TEXT NOT NULL,
    monitoring TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'published',
    error TEXT,
    verdict TEXT,
    PRIMARY KEY (run_id, model_name)
);
"""
_TRANSACTIONS_TABLE = """
CREATE TABLE IF NOT EXISTS benchmark_transactions (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    commit_sha TEXT NOT NULL CHECK (commit_sha <> ''),
    branch_name TEXT,
    model_version TEXT NOT NULL,
    model_provider TEXT,
    dataset_version TEXT NOT NULL,
    dataset_size INTEGER,
    prompt_version TEXT NOT NULL,
    environment TEXT NOT NULL
        CHECK (environment IN ('github-actions', 'local', 'staging', 'production')),
    run_id TEXT,
    triggered_by TEXT,
    metrics TEXT NOT NULL,
    duration_seconds REAL,
    error_count INTEGER,
    success_count INTEGER,
    tags TEXT NOT NULL DEFAULT '[]',
    notes TEXT,
    recorded_at TEXT,
    benchq_run_id TEXT,
    model_id TEXT,
    prompt_digest TEXT
)
"""
_SNAPSHOTS_TABLE = """
CREATE TABLE IF NOT EXISTS benchmark_snapshots (
    id TEXT PRIMARY KEY,
    snapshot_version INTEGER NOT NULL CHECK (snapshot_version >= 1),
    created_at TEXT NOT NULL,
    model_version TEXT NOT NULL,
    dataset_version TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    environment TEXT NOT NULL,
    transaction_id TEXT NOT NULL REFERENCES benchmark_transactions (id),
    commit_sha TEXT NOT NULL,
    metrics TEXT NOT NULL,
    precision_score REAL,
    recall_score REAL,
    f1_score REAL,
    latency_ms REAL,
    cost_per_analysis REAL,
    is_current INTEGER NOT NULL DEFAULT 0,
    is_baseline INTEGER NOT NULL DEFAULT 0,
    is_active INTEGER NOT NULL DEFAULT 1,
    benchq_run_id TEXT,
    model_id TEXT,
    prompt_digest TEXT,
    UNIQUE (model_version, dataset_version, prompt_version, environment, snapshot_version)
)
"""
_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS benchmark_snapshots_one_current
    ON benchmark_snapshots (model_version, dataset_version, prompt_version, environment)
    WHERE is_current;
CREATE UNIQUE INDEX IF NOT EXISTS benchmark_snapshots_one_baseline
    ON benchmark_snapshots (model_version, dataset_version, prompt_version, environment)
    WHERE is_baseline;
"""

#: Columns added after files were first written: (table, column, declaration).
#: `CREATE TABLE IF NOT EXISTS` leaves an older file's tables as they were.
_ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("benchmark_run_models", "status", "TEXT NOT NULL DEFAULT 'published'"),
    ("benchmark_run_models", "error", "TEXT"),
    ("benchmark_run_models", "verdict", "TEXT"),
    ("benchmark_runs", "notified_at", "TEXT"),
    ("benchmark_transactions", "model_id", "TEXT"),
    ("benchmark_transactions", "prompt_digest", "TEXT"),
    ("benchmark_snapshots", "model_id", "TEXT"),
    ("benchmark_snapshots", "prompt_digest", "TEXT"),
)


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, column, decl in _ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


_CONFIG_WHERE = "model_version=? AND dataset_version=? AND prompt_version=? AND environment=?"


def sqlite_path(url: str) -> Path:
    """The file a `sqlite:///path` URL names."""
    if not url.startswith("sqlite:///"):
        raise StoreError(f"not a sqlite URL: {url!r} (expected sqlite:///path)")
    return Path(url.removeprefix("sqlite:///"))


class SQLiteStore(SQLiteDashboardQueries, SQLiteExplorerQueries, ResultsStore):
    """Results store in one SQLite file. Safe for several processes on one machine."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()
        # SQLite's busy handler backs off in sleeps of up to 100 ms; threads of
        # one process queue on this lock instead, and only processes contend.
        self._write_lock = threading.Lock()
        conn = self._conn()
        # Tables first (an old file keeps its own, and gains the columns added
        # since), then the conversion of an old file's integer ids, then the
        # indexes over the converted tables.
        conn.executescript(";".join((_TABLES, _TRANSACTIONS_TABLE, _SNAPSHOTS_TABLE)))
        _add_missing_columns(conn)
        if has_integer_ids(conn):
            with self._write() as tx:
                convert_integer_ids(tx, (_TRANSACTIONS_TABLE, _SNAPSHOTS_TABLE))
        conn.executescript(_INDEXES)
        conn.executescript(DASHBOARD_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        # sqlite3 connections must not cross threads; worker pools use threads.
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None
                )
                use_wal(conn)
                conn.execute("PRAGMA synchronous=NORMAL")
            except (OSError, sqlite3.OperationalError) as exc:
                # An unreadable path or a file locked past the busy timeout is the
                # embedded store's "server unreachable": worth retrying later.
                raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn

    def create_run(self, run: RunRecord) -> None:
        """Record a new run; the same run id again is a no-op."""
        self._conn().execute(
            "INSERT OR IGNORE INTO benchmark_runs "
            "(run_id, suite, models, cases_per_model, created_at, status, record) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                run.run_id,
                run.suite,
                json.dumps(run.models),
                run.cases_per_model,
                run.created_at,
                run.status.value,
                run.model_dump_json(),
            ),
        )

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; raises `NotFound`."""
        row = (
            self._conn()
            .execute("SELECT record, status FROM benchmark_runs WHERE run_id=?", (run_id,))
            .fetchone()
        )
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        run = RunRecord.model_validate_json(row[0])
        run.status = RunStatus(row[1])
        return run

    def save_case_results(self, results: Iterable[CaseResult]) -> None:
        """Insert or replace case results keyed by (run, model, case)."""
        rows = [
            (
                r.run_id,
                r.model_name,
                r.result_key,
                r.document_type,
                int(r.extraction_success),
                int(r.json_valid),
                r.true_positives,
                r.false_positives,
                r.false_negatives,
                r.error_message,
                r.raw_output,
                r.model_dump_json(),
            )
            for r in results
        ]
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO benchmark_case_results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

    def case_results(self, run_id: str, model_name: str) -> list[CaseResult]:
        """All stored case results of one (run, model), ordered by case id."""
        rows = (
            self._conn()
            .execute(
                "SELECT result FROM benchmark_case_results WHERE run_id=? AND model_name=? "
                "ORDER BY case_id",
                (run_id, model_name),
            )
            .fetchall()
        )
        return [CaseResult.model_validate_json(r[0]) for r in rows]

    def iter_case_results(
        self, run_id: str, model_name: str, *, page_size: int = 1000
    ) -> Iterator[list[CaseResult]]:
        """The case results of one (run, model) in pages by case id (keyset pagination)."""
        after = ""
        while True:
            rows = (
                self._conn()
                .execute(
                    "SELECT case_id, result FROM benchmark_case_results "
                    "WHERE run_id=? AND model_name=? AND case_id > ? ORDER BY case_id LIMIT ?",
                    (run_id, model_name, after, page_size),
                )
                .fetchall()
            )
            if not rows:
                return
            after = rows[-1][0]
            yield [CaseResult.model_validate_json(r[1]) for r in rows]

    def count_case_results(self, run_id: str, model_name: str) -> int:
        """How many distinct cases of (run, model) have a stored result."""
        row = (
            self._conn()
            .execute(
                "SELECT COUNT(*) FROM benchmark_case_results WHERE run_id=? AND model_name=?",
                (run_id, model_name),
            )
            .fetchone()
        )
        return int(row[0])

    def stored_case_ids(self, run_id: str, model_name: str, among: Collection[str]) -> set[str]:
        """Which of the case ids `among` already have a stored result for (run, model)."""
        wanted = sorted(set(among))
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        rows = (
            self._conn()
            .execute(
                "SELECT case_id FROM benchmark_case_results"
                f" WHERE run_id=? AND model_name=? AND case_id IN ({marks})",
                (run_id, model_name, *wanted),
            )
            .fetchall()
        )
        return {str(r[0]) for r in rows}

    def save_run_summary(self, summary: RunModelSummary) -> None:
        """Store the aggregate of one (run, model), replacing an earlier one."""
        self._conn().execute(
            "INSERT OR REPLACE INTO benchmark_run_models (run_id, model_name, finished_at, "
            "snapshot_version, aggregated, monitoring, status, error, verdict) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (
                summary.run_id,
                summary.model_name,
                summary.finished_at,
                summary.snapshot_version,
                json.dumps(summary.aggregated),
                json.dumps(summary.monitoring),
                summary.status,
                summary.error,
                None if summary.verdict is None else json.dumps(summary.verdict),
            ),
        )

    def run_summaries(self, run_id: str) -> list[RunModelSummary]:
        """The summaries stored so far for a run, by model name."""
        rows = (
            self._conn()
            .execute(
                "SELECT run_id, model_name, finished_at, snapshot_version, aggregated, monitoring, "
                "status, error, verdict FROM benchmark_run_models WHERE run_id=? "
                "ORDER BY model_name",
                (run_id,),
            )
            .fetchall()
        )
        return [
            RunModelSummary(
                run_id=r[0],
                model_name=r[1],
                finished_at=r[2],
                snapshot_version=r[3],
                aggregated=json.loads(r[4]),
                monitoring=json.loads(r[5]),
                status=r[6],
                error=r[7],
                verdict=None if r[8] is None else json.loads(r[8]),
            )
            for r in rows
        ]

    def set_run_status(self, run_id: str, status: str, error: str | None = None) -> None:
        """Mark a run done or failed; the first error given is kept."""
        RunStatus(status)
        self._conn().execute(
            "UPDATE benchmark_runs SET status=?, record=CASE "
            "WHEN ? IS NOT NULL AND json_extract(record, '$.error') IS NULL "
            "THEN json_set(record, '$.error', ?) ELSE record END WHERE run_id=?",
            (status, error, error, run_id),
        )

    def reopen_run(self, run_id: str) -> None:
        """Make a run queued again; its error and notification claim go."""
        self._conn().execute(
            "UPDATE benchmark_runs SET status='queued', notified_at=NULL, "
            "record=json_remove(record, '$.error') WHERE run_id=?",
            (run_id,),
        )

    def claim_notification(self, run_id: str) -> bool:
        """True for exactly one caller per run: the one that sends its notification."""
        cur = self._conn().execute(
            "UPDATE benchmark_runs SET notified_at=? WHERE run_id=? AND notified_at IS NULL",
            (datetime.now(UTC).isoformat(), run_id),
        )
        return cur.rowcount == 1

    def release_notification(self, run_id: str) -> None:
        """Let a later attempt claim the run's notification again."""
        self._conn().execute("UPDATE benchmark_runs SET notified_at=NULL WHERE run_id=?", (run_id,))

    # --- versioned snapshots ---------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that holds the database's write lock from its start.

        BEGIN IMMEDIATE takes the lock before the MAX(version) read, so two
        publishers cannot both read the same MAX: the second waits (busy timeout).
        """
        conn = self._conn()
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreUnavailable(f"SQLite store {self.path} is locked: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _snapshots(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        cur = self._conn().execute(sql, tuple(params))
        names = [d[0] for d in cur.description]
        rows = []
        for values in cur.fetchall():
            row = dict(zip(names, values, strict=True))
            row["metrics"] = json.loads(row["metrics"])
            rows.append(row)
        return rows

    def _one(self, config: SnapshotConfig, version: int) -> Snapshot:
        rows = self._snapshots(
            f"SELECT * FROM benchmark_snapshots WHERE {_CONFIG_WHERE} AND snapshot_version=?",
            (*_config_params(config), version),
        )
        if not rows:
            raise NotFound(f"no snapshot version {version} of {_describe(config)}")
        return Snapshot.model_validate(rows[0])

    def publish(
        self, record: MonitoringRecord, meta: PushMetadata, *, run_id: str | None = None
    ) -> Snapshot:
        """Append a transaction and a snapshot with version MAX+1, the only current one."""
        config = config_of(record, meta)
        params = _config_params(config)
        now = datetime.now(UTC).isoformat()
        stored = record_json(record)
        metrics = stored["metrics"]
        tx_id, snapshot_id = str(uuid.uuid4()), str(uuid.uuid4())
        with self._write() as conn:
            if run_id is not None:
                # A run publishes each configuration once: a chord callback
                # delivered again gets the snapshot it already made.
                found = conn.execute(
                    f"SELECT snapshot_version FROM benchmark_snapshots "
                    f"WHERE benchq_run_id=? AND {_CONFIG_WHERE}",
                    (run_id, *params),
                ).fetchone()
                if found is not None:
                    return self._one(config, int(found[0]))
            conn.execute(
                "INSERT INTO benchmark_transactions (id, created_at, commit_sha, branch_name, "
                "model_version, model_provider, dataset_version, dataset_size, prompt_version, "
                "environment, run_id, triggered_by, metrics, duration_seconds, error_count, "
                "success_count, tags, notes, recorded_at, benchq_run_id, model_id, prompt_digest) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    tx_id,
                    now,
                    meta.commit_sha,
                    meta.branch_name,
                    record.model_version,
                    record.model_provider,
                    record.dataset_version,
                    record.dataset_size,
                    record.prompt_version,
                    meta.environment,
                    meta.run_id,
                    meta.triggered_by,
                    json.dumps(metrics),
                    record.duration_seconds,
                    record.error_count,
                    record.success_count,
                    json.dumps(meta.tags),
                    meta.notes,
                    record.timestamp,
                    run_id,
                    record.model_id,
                    record.prompt_digest,
                ),
            )
            (latest,) = conn.execute(
                f"SELECT COALESCE(MAX(snapshot_version), 0) FROM benchmark_snapshots "
                f"WHERE {_CONFIG_WHERE}",
                params,
            ).fetchone()
            conn.execute(
                f"UPDATE benchmark_snapshots SET is_current=0 WHERE {_CONFIG_WHERE} AND is_current",
                params,
            )
            conn.execute(
                "INSERT INTO benchmark_snapshots (id, snapshot_version, created_at, "
                "model_version, dataset_version, prompt_version, environment, transaction_id, "
                "commit_sha, metrics, precision_score, recall_score, f1_score, latency_ms, "
                "cost_per_analysis, is_current, benchq_run_id, model_id, prompt_digest) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,?)",
                (
                    snapshot_id,
                    latest + 1,
                    now,
                    *params,
                    tx_id,
                    meta.commit_sha,
                    json.dumps(metrics),
                    record.metrics.precision,
                    record.metrics.recall,
                    record.metrics.f1,
                    record.metrics.latency_ms,
                    record.metrics.analysis_cost,
                    run_id,
                    record.model_id,
                    record.prompt_digest,
                ),
            )
            return self._one(config, latest + 1)

    def latest_benchmarks(self) -> list[LatestBenchmark]:
        """The current, active snapshot of every configuration, with its upload's details."""
        rows = self._snapshots(
            "SELECT s.*, t.model_provider, t.branch_name, t.run_id, t.triggered_by, "
            "t.dataset_size FROM benchmark_snapshots s "
            "JOIN benchmark_transactions t ON t.id = s.transaction_id "
            "WHERE s.is_current AND s.is_active "
            "ORDER BY s.model_version, s.dataset_version, s.prompt_version, s.environment"
        )
        return [LatestBenchmark.model_validate(r) for r in rows]

    def performance_trends(self, days: int = 30) -> list[TrendPoint]:
        """Daily averages per configuration over the last `days` UTC days, today included."""
        since = (datetime.now(UTC).date() - timedelta(days=max(days, 1) - 1)).isoformat()
        cur = self._conn().execute(
            "SELECT substr(created_at, 1, 10) AS day, model_version, dataset_version, "
            "prompt_version, environment, COUNT(*) AS snapshots, "
            "AVG(precision_score) AS avg_precision, AVG(recall_score) AS avg_recall, "
            "AVG(f1_score) AS avg_f1, AVG(latency_ms) AS avg_latency_ms, "
            "AVG(cost_per_analysis) AS avg_cost FROM benchmark_snapshots "
            "WHERE is_active AND substr(created_at, 1, 10) >= ? "
            "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
            (since,),
        )
        names = [d[0] for d in cur.description]
        return [TrendPoint.model_validate(dict(zip(names, r, strict=True))) for r in cur]

    def snapshot_history(
        self,
        model_version: str,
        dataset_version: str = "benchmark-set-v1",
        prompt_version: str = "v1",
        environment: str = "local",
    ) -> list[Snapshot]:
        """Every snapshot of one configuration, newest version first."""
        rows = self._snapshots(
            f"SELECT * FROM benchmark_snapshots WHERE {_CONFIG_WHERE} "
            "ORDER BY snapshot_version DESC",
            (model_version, dataset_version, prompt_version, environment),
        )
        return [Snapshot.model_validate(r) for r in rows]

    def checkout(self, config: SnapshotConfig, version: int) -> Snapshot:
        """Make `version` current; a missing version raises `NotFound` and changes nothing."""
        return self._flag(config, version, "is_current")

    def set_baseline(self, config: SnapshotConfig, version: int) -> Snapshot:
        """Make `version` the only baseline; a missing version raises `NotFound`."""
        return self._flag(config, version, "is_baseline")

    def _flag(self, config: SnapshotConfig, version: int, column: str) -> Snapshot:
        # `column` is one of two literals chosen by the callers above, never user input.
        params = _config_params(config)
        with self._write() as conn:
            target = self._one(config, version)
            conn.execute(
                f"UPDATE benchmark_snapshots SET {column}=0 WHERE {_CONFIG_WHERE} AND {column} "
                "AND id<>?",
                (*params, str(target.id)),
            )
            conn.execute(f"UPDATE benchmark_snapshots SET {column}=1 WHERE id=?", (str(target.id),))
            return self._one(config, version)

    def compare(self, config: SnapshotConfig, a: int, b: int) -> list[ComparisonRow]:
        """Every numeric metric of versions `a` and `b`: a, b, delta, percent change."""
        return compare_metrics(self._one(config, a).metrics, self._one(config, b).metrics)

    def regression_check(
        self,
        config: SnapshotConfig,
        threshold: float = DEFAULT_THRESHOLD,
        rule: RegressionRule = DEFAULT_RULE,
    ) -> RegressionVerdict:
        """The current snapshot against the baseline on precision, recall and F1."""
        check_threshold(threshold, rule)
        params = _config_params(config)
        current = self._snapshots(
            f"SELECT * FROM benchmark_snapshots WHERE {_CONFIG_WHERE} AND is_current", params
        )
        baseline = self._snapshots(
            f"SELECT * FROM benchmark_snapshots WHERE {_CONFIG_WHERE} AND is_baseline", params
        )
        return regression_verdict(
            Snapshot.model_validate(current[0]) if current else None,
            Snapshot.model_validate(baseline[0]) if baseline else None,
            threshold,
            rule,
        )

    def list_snapshots(self, filters: SnapshotFilter | None = None) -> list[Snapshot]:
        """Snapshots matching `filters`, newest first."""
        f = filters or SnapshotFilter()
        where, params = ["1=1"], []
        for column in ("model_version", "dataset_version", "prompt_version", "environment"):
            value = getattr(f, column)
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        if f.current_only:
            where.append("is_current")
        if not f.include_inactive:
            where.append("is_active")
        rows = self._snapshots(
            f"SELECT * FROM benchmark_snapshots WHERE {' AND '.join(where)} "
            # rowid: the order rows were written in, where ids (UUIDs) have none.
            "ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (*params, f.limit),
        )
        return [Snapshot.model_validate(r) for r in rows]

    def close(self) -> None:
        """Close this thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _config_params(config: SnapshotConfig) -> tuple[str, str, str, str]:
    return (
        config.model_version,
        config.dataset_version,
        config.prompt_version,
        config.environment,
    )


def _describe(config: SnapshotConfig) -> str:
    return "/".join(_config_params(config))
