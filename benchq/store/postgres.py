"""The Postgres backend: any Postgres with `supabase/migrations` applied.

Snapshot writes call the SQL functions of the migrations (`benchmark_publish`,
`benchmark_checkout`, ...), so the rules that keep versions gap-free and one
snapshot current live in one place, shared with the Supabase backend. Case
results are written in batches: COPY into a temporary table, then one upsert,
so a 10,000-case run costs a few round trips, not 10,000.

Driver errors never leave this module raw: `wrap_error` turns a lost or
refused connection into `StoreUnavailable`, a missing row into `NotFound`.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from benchq.errors import NotFound, StoreError, StoreUnavailable
from benchq.regression.original import DEFAULT_RULE, DEFAULT_THRESHOLD, RegressionRule
from benchq.scoring.schema import CaseResult, MonitoringRecord
from benchq.store.aggregates import (
    CaseDocument,
    ConfigSummary,
    DailyMetrics,
    DashboardFilter,
    ModelStats,
    ModelUsage,
)
from benchq.store.base import ResultsStore
from benchq.store.postgres_explorer import PostgresExplorerQueries
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
from benchq.store.snapshots import check_threshold, record_json

Conn = psycopg.Connection[dict[str, Any]]

#: Below this many rows a plain pipelined executemany beats setting up a COPY.
_COPY_THRESHOLD = 200
#: Seconds to wait for a server before calling it unavailable.
_CONNECT_TIMEOUT = 5
_UNAVAILABLE_STATES = ("08", "53", "57P")  # connection, resources, shutdown/cannot connect

_CASE_COLUMNS = (
    "run_id",
    "model_name",
    "case_id",
    "document_type",
    "extraction_success",
    "json_valid",
    "true_positives",
    "false_positives",
    "false_negatives",
    "error_message",
    "raw_output",
    "result",
)
_UPSERT_CASES = (
    f"INSERT INTO benchmark_case_results ({', '.join(_CASE_COLUMNS)}) "
    "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
    "ON CONFLICT (run_id, model_name, case_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _CASE_COLUMNS[3:])
)


def connect(url: str) -> Conn:
    """An autocommit connection to `url`; `StoreUnavailable` when the server cannot be reached."""
    try:
        return psycopg.connect(
            url, autocommit=True, row_factory=dict_row, connect_timeout=_CONNECT_TIMEOUT
        )
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"cannot reach Postgres store: {_first_line(exc)}") from exc


def wrap_error(exc: psycopg.Error) -> StoreError:
    """The benchq error for a driver error (callers `raise wrap_error(e) from e`)."""
    state = exc.sqlstate or ""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and not state:
        return StoreUnavailable(f"lost the Postgres store: {_first_line(exc)}")
    if state.startswith(_UNAVAILABLE_STATES):
        return StoreUnavailable(f"Postgres store unavailable: {_first_line(exc)}")
    if state == "P0002":  # no_data_found, raised by the SQL functions
        return NotFound(_first_line(exc))
    if state in ("42P01", "42883"):  # undefined table / function
        return StoreError(
            f"the Postgres store lacks benchq's schema ({_first_line(exc)}); "
            "run `benchq db upgrade`"
        )
    return StoreError(f"Postgres store refused: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PostgresStore(PostgresExplorerQueries, ResultsStore):
    """Results store in a Postgres database (one connection per thread)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    # --- connections ---------------------------------------------------------

    def _conn(self) -> Conn:
        # psycopg connections serialise their users; one per thread keeps
        # thread-pool workers from queueing behind each other.
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = connect(self.url)
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[Conn]:
        """One transaction; driver errors come out as benchq errors."""
        conn = self._conn()
        try:
            with conn.transaction():
                yield conn
        except psycopg.Error as exc:
            err = wrap_error(exc)
            if isinstance(err, StoreUnavailable):
                self.close()  # reconnect on the next call
            raise err from exc

    def _rows(self, query: Any, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with self._tx() as conn:
            return conn.execute(query, tuple(params)).fetchall()

    def _value(self, query: Any, params: Iterable[Any] = ()) -> Any:
        rows = self._rows(query, params)
        return next(iter(rows[0].values())) if rows else None

    def close(self) -> None:
        """Close this thread's connection."""
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- runs and case results -------------------------------------------------

    def create_run(self, run: RunRecord) -> None:
        """Record a new run; the same run id again is a no-op."""
        self._rows("SELECT benchmark_create_run(%s)", (Jsonb(run.model_dump(mode="json")),))

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; raises `NotFound`."""
        rows = self._rows("SELECT record, status FROM benchmark_runs WHERE run_id = %s", (run_id,))
        if not rows:
            raise NotFound(f"no run {run_id!r}")
        run = RunRecord.model_validate(rows[0]["record"])
        run.status = RunStatus(rows[0]["status"])
        return run

    def save_case_results(self, results: Iterable[CaseResult]) -> None:
        """Upsert case results keyed by (run, model, case), in one transaction.

        Large batches go through COPY into a temporary table and one
        INSERT ... ON CONFLICT, which is what makes a 10,000-case run cheap.
        """
        # Last one wins within a batch, as a redelivery would; ON CONFLICT may
        # not touch one row twice in a statement.
        unique = {(r.run_id, r.model_name, r.result_key): r for r in results}
        rows = [_case_row(r) for r in unique.values()]
        if not rows:
            return
        with self._tx() as conn:
            if len(rows) < _COPY_THRESHOLD:
                with conn.cursor() as cur:
                    cur.executemany(_UPSERT_CASES, rows)
                return
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS benchq_case_stage "
                "(LIKE benchmark_case_results INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            with conn.cursor() as cur:
                copy_sql = f"COPY benchq_case_stage ({', '.join(_CASE_COLUMNS)}) FROM STDIN"
                with cur.copy(copy_sql.encode()) as copy:
                    for row in rows:
                        copy.write_row(row)
            conn.execute(
                (
                    f"INSERT INTO benchmark_case_results ({', '.join(_CASE_COLUMNS)}) "
                    f"SELECT {', '.join(_CASE_COLUMNS)} FROM benchq_case_stage "
                    "ON CONFLICT (run_id, model_name, case_id) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in _CASE_COLUMNS[3:])
                ).encode()
            )

    def case_results(self, run_id: str, model_name: str) -> list[CaseResult]:
        """All stored case results of one (run, model), ordered by case id."""
        rows = self._rows(
            "SELECT result FROM benchmark_case_results WHERE run_id = %s AND model_name = %s "
            "ORDER BY case_id",
            (run_id, model_name),
        )
        return [CaseResult.model_validate(r["result"]) for r in rows]

    def iter_case_results(
        self, run_id: str, model_name: str, *, page_size: int = 1000
    ) -> Iterator[list[CaseResult]]:
        """The case results of one (run, model) in pages by case id (keyset pagination)."""
        after = ""
        while True:
            rows = self._rows(
                "SELECT case_id, result FROM benchmark_case_results "
                "WHERE run_id = %s AND model_name = %s AND case_id > %s "
                "ORDER BY case_id LIMIT %s",
                (run_id, model_name, after, page_size),
            )
            if not rows:
                return
            after = str(rows[-1]["case_id"])
            yield [CaseResult.model_validate(r["result"]) for r in rows]

    def count_case_results(self, run_id: str, model_name: str) -> int:
        """How many distinct cases of (run, model) have a stored result."""
        return int(
            self._value(
                "SELECT count(*) FROM benchmark_case_results WHERE run_id = %s AND model_name = %s",
                (run_id, model_name),
            )
        )

    def stored_case_ids(self, run_id: str, model_name: str, among: Collection[str]) -> set[str]:
        """Which of the case ids `among` already have a stored result for (run, model)."""
        if not among:
            return set()
        rows = self._rows(
            "SELECT case_id FROM benchmark_case_results"
            " WHERE run_id = %s AND model_name = %s AND case_id = ANY(%s)",
            (run_id, model_name, sorted(set(among))),
        )
        return {str(r["case_id"]) for r in rows}

    def save_run_summary(self, summary: RunModelSummary) -> None:
        """Store the aggregate of one (run, model), replacing an earlier one."""
        self._rows(
            "SELECT benchmark_save_run_summary(%s)", (Jsonb(summary.model_dump(mode="json")),)
        )

    def run_summaries(self, run_id: str) -> list[RunModelSummary]:
        """The summaries stored so far for a run, by model name."""
        rows = self._rows(
            "SELECT run_id, model_name, finished_at, snapshot_version, aggregated, monitoring, "
            "status, error, verdict FROM benchmark_run_models WHERE run_id = %s "
            "ORDER BY model_name",
            (run_id,),
        )
        return [RunModelSummary.model_validate(r) for r in rows]

    def set_run_status(self, run_id: str, status: str, error: str | None = None) -> None:
        """Mark a run done or failed; the first error given is kept."""
        RunStatus(status)
        self._rows("SELECT benchmark_set_run_status(%s, %s, %s)", (run_id, status, error))

    def reopen_run(self, run_id: str) -> None:
        """Make a run queued again (`benchmark_reopen_run`)."""
        self._rows("SELECT benchmark_reopen_run(%s)", (run_id,))

    def claim_notification(self, run_id: str) -> bool:
        """True for exactly one caller per run (`benchmark_claim_notification`)."""
        return bool(self._value("SELECT benchmark_claim_notification(%s)", (run_id,)))

    def release_notification(self, run_id: str) -> None:
        """Let a later attempt claim the run's notification again."""
        self._rows("SELECT benchmark_release_notification(%s)", (run_id,))

    # --- versioned snapshots ---------------------------------------------------

    def publish(
        self, record: MonitoringRecord, meta: PushMetadata, *, run_id: str | None = None
    ) -> Snapshot:
        """Append a transaction and a snapshot with version MAX+1 (`benchmark_publish`)."""
        return Snapshot.model_validate(
            self._value(
                "SELECT benchmark_publish(%s, %s, %s)",
                (Jsonb(record_json(record)), Jsonb(meta.model_dump(mode="json")), run_id),
            )
        )

    def latest_benchmarks(self) -> list[LatestBenchmark]:
        """The current, active snapshot of every configuration (`latest_benchmarks` view)."""
        rows = self._rows(
            "SELECT * FROM latest_benchmarks "
            "ORDER BY model_version, dataset_version, prompt_version, environment"
        )
        return [LatestBenchmark.model_validate(r) for r in rows]

    def performance_trends(self, days: int = 30) -> list[TrendPoint]:
        """Daily averages per configuration (`performance_trends` view), today included."""
        rows = self._rows(
            "SELECT * FROM performance_trends "
            "WHERE day > (now() AT TIME ZONE 'UTC')::date - %s "
            "ORDER BY day, model_version, dataset_version, prompt_version, environment",
            (max(days, 1),),
        )
        return [TrendPoint.model_validate(r) for r in rows]

    def snapshot_history(
        self,
        model_version: str,
        dataset_version: str = "benchmark-set-v1",
        prompt_version: str = "v1",
        environment: str = "local",
    ) -> list[Snapshot]:
        """Every snapshot of one configuration, newest first (`benchmark_history`)."""
        rows = self._rows(
            "SELECT * FROM benchmark_history(%s, %s, %s, %s)",
            (model_version, dataset_version, prompt_version, environment),
        )
        return [Snapshot.model_validate(r) for r in rows]

    def checkout(self, config: SnapshotConfig, version: int) -> Snapshot:
        """Make `version` current (`benchmark_checkout`); missing: `NotFound`, no change."""
        return Snapshot.model_validate(
            self._value("SELECT benchmark_checkout(%s, %s, %s, %s, %s)", (*_cfg(config), version))
        )

    def set_baseline(self, config: SnapshotConfig, version: int) -> Snapshot:
        """Make `version` the only baseline (`benchmark_set_baseline`)."""
        return Snapshot.model_validate(
            self._value(
                "SELECT benchmark_set_baseline(%s, %s, %s, %s, %s)", (*_cfg(config), version)
            )
        )

    def compare(self, config: SnapshotConfig, a: int, b: int) -> list[ComparisonRow]:
        """Every numeric metric of versions `a` and `b` (`benchmark_compare`)."""
        rows = self._rows(
            "SELECT * FROM benchmark_compare(%s, %s, %s, %s, %s, %s)", (*_cfg(config), a, b)
        )
        return [ComparisonRow.model_validate(r) for r in rows]

    def regression_check(
        self,
        config: SnapshotConfig,
        threshold: float = DEFAULT_THRESHOLD,
        rule: RegressionRule = DEFAULT_RULE,
    ) -> RegressionVerdict:
        """The current snapshot against the baseline (`benchmark_regression_check`)."""
        check_threshold(threshold, rule)
        return RegressionVerdict.model_validate(
            self._value(
                "SELECT benchmark_regression_check(%s, %s, %s, %s, %s, %s)",
                (*_cfg(config), threshold, rule),
            )
        )

    def list_snapshots(self, filters: SnapshotFilter | None = None) -> list[Snapshot]:
        """Snapshots matching `filters`, newest first."""
        f = filters or SnapshotFilter()
        where: list[sql.Composable] = [sql.SQL("true")]
        params: list[Any] = []
        for column in ("model_version", "dataset_version", "prompt_version", "environment"):
            value = getattr(f, column)
            if value is not None:
                where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(value)
        if f.current_only:
            where.append(sql.SQL("is_current"))
        if not f.include_inactive:
            where.append(sql.SQL("is_active"))
        query = sql.SQL(
            "SELECT * FROM benchmark_snapshots WHERE {} ORDER BY created_at DESC, id DESC LIMIT %s"
        ).format(sql.SQL(" AND ").join(where))
        rows = self._rows(query, (*params, f.limit))
        return [Snapshot.model_validate(r) for r in rows]

    # --- dashboard aggregates (`benchmark_dashboard_*` in the migrations) -------------

    def configurations(self, environment: str | None = None) -> list[ConfigSummary]:
        """Every configuration with active snapshots (`benchmark_dashboard_configurations`)."""
        rows = self._rows("SELECT * FROM benchmark_dashboard_configurations(%s)", (environment,))
        return [ConfigSummary.model_validate(r) for r in rows]

    def daily_metrics(
        self, filters: DashboardFilter, *, per_model: bool = False
    ) -> list[DailyMetrics]:
        """Per UTC day (and model): count and F1 statistics (`benchmark_dashboard_daily`)."""
        rows = self._rows(
            "SELECT * FROM benchmark_dashboard_daily(%s, %s, %s, %s, %s)",
            (*_filter_params(filters), per_model, filters.dataset),
        )
        return [DailyMetrics.model_validate(r) for r in rows]

    def model_stats(self, filters: DashboardFilter) -> list[ModelStats]:
        """Per model over the filter (`benchmark_dashboard_model_stats`)."""
        rows = self._rows(
            "SELECT * FROM benchmark_dashboard_model_stats(%s, %s, %s, %s)",
            (*_filter_params(filters), filters.dataset),
        )
        return [ModelStats.model_validate(r) for r in rows]

    def model_usage(self, filters: DashboardFilter) -> list[ModelUsage]:
        """Tokens and cost behind each current snapshot (`benchmark_dashboard_usage`)."""
        rows = self._rows(
            "SELECT * FROM benchmark_dashboard_usage(%s, %s)", _filter_params(filters)[:2]
        )
        return [ModelUsage.model_validate(r) for r in rows]

    def save_case_documents(self, run_id: str, documents: Iterable[CaseDocument]) -> None:
        """Upsert a run's documents (`benchmark_save_case_documents`), one statement."""
        payload = [d.model_dump(mode="json") for d in documents]
        if payload:
            self._rows("SELECT benchmark_save_case_documents(%s, %s)", (run_id, Jsonb(payload)))

    def case_documents(self, run_id: str) -> dict[str, CaseDocument]:
        """The documents stored for a run, by case id."""
        rows = self._rows(
            "SELECT case_id, document_type, text, expected_issues "
            "FROM benchmark_case_documents WHERE run_id = %s ORDER BY case_id",
            (run_id,),
        )
        return {r["case_id"]: CaseDocument.model_validate(r) for r in rows}


def _filter_params(f: DashboardFilter) -> tuple[str | None, Jsonb | None, int | None]:
    """The (environment, models, days) arguments of the dashboard's SQL functions."""
    return (f.environment, Jsonb(list(f.models)) if f.models else None, f.days)


def _cfg(config: SnapshotConfig) -> tuple[str, str, str, str]:
    return (config.model_version, config.dataset_version, config.prompt_version, config.environment)


def _case_row(r: CaseResult) -> tuple[Any, ...]:
    return (
        r.run_id,
        r.model_name,
        r.result_key,
        r.document_type,
        r.extraction_success,
        r.json_valid,
        r.true_positives,
        r.false_positives,
        r.false_negatives,
        r.error_message,
        r.raw_output,
        Jsonb(r.model_dump(mode="json")),
    )
