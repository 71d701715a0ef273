"""The Supabase backend: supabase-py over HTTP (PostgREST) to the same schema.

Writes go through `rpc()` to the SQL functions of `supabase/migrations`, with
the service-role key (row-level security lets only that role write); reads are
table and view selects. Three keys, three reaches (migration
`20261201490000_read_roles.sql`): aggregates (snapshots, transactions, the
dashboard's aggregate functions) are read with the anon key when one is
given; case-level data (runs, case results with the models' raw outputs,
run summaries, documents) is closed to anon and read with the reader key
(role `benchq_reader`), else the service-role key. Versioning, locking and
the regression rule are the very SQL the Postgres backend runs.

Errors are wrapped here: an unreachable server (or a PostgREST that cannot
reach its database) is `StoreUnavailable`, `no_data_found` from a function is
`NotFound`, anything else the API refuses is `StoreError`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from postgrest.exceptions import APIError
from postgrest.types import CountMethod

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
from benchq.store.supabase_explorer import SupabaseExplorerQueries
from supabase import Client, ClientOptions, create_client

T = TypeVar("T")

#: Supabase caps a select at 1,000 rows by default (`max_rows`); read in pages of that.
_PAGE = 1000
#: Case ids per `in.(...)` filter: about 2 KB of URL with typical ids.
_IDS_PER_REQUEST = 100
#: Case results per rpc call: big enough to be cheap, small enough for a request body.
_WRITE_BATCH = 500
_TIMEOUT_S = 30.0
#: PostgREST's own codes for "cannot use the database right now".
_UNAVAILABLE_CODES = ("PGRST000", "PGRST001", "PGRST002", "502", "503", "504")


def _wrap(exc: APIError) -> StoreError:
    code = exc.code or ""
    text = exc.message or str(exc)
    if code == "P0002":
        return NotFound(text)
    if code in _UNAVAILABLE_CODES or code.startswith(("08", "53", "57P")):
        return StoreUnavailable(f"Supabase store unavailable: {text}")
    if code == "42501":
        return StoreError(
            f"Supabase refused ({text}); writing needs SUPABASE_SERVICE_ROLE_KEY, and reading "
            "runs, case results or documents needs SUPABASE_READER_KEY (the anon key reads "
            "aggregates only)"
        )
    if code in ("42P01", "42883", "PGRST202", "PGRST205"):
        return StoreError(f"Supabase lacks benchq's schema ({text}); apply supabase/migrations")
    return StoreError(f"Supabase refused: {text} ({code})")


def _call(action: Callable[[], T]) -> T:
    """Run one request; every failure comes out as a benchq error."""
    try:
        return action()
    except APIError as exc:
        raise _wrap(exc) from exc
    except httpx.TransportError as exc:  # connect, read, timeout, protocol
        raise StoreUnavailable(f"cannot reach Supabase: {exc}") from exc


class SupabaseStore(SupabaseExplorerQueries, ResultsStore):
    """Results store in a Supabase project, spoken to through supabase-py."""

    def __init__(
        self,
        url: str,
        *,
        service_role_key: str | None = None,
        anon_key: str | None = None,
        reader_key: str | None = None,
    ) -> None:
        if not service_role_key and not anon_key and not reader_key:
            raise StoreError(
                "Supabase store: set SUPABASE_SERVICE_ROLE_KEY, SUPABASE_READER_KEY "
                "or SUPABASE_ANON_KEY"
            )
        self.url = url
        self._writer = self._client(url, service_role_key) if service_role_key else None
        reader = self._client(url, reader_key) if reader_key else None
        anon = self._client(url, anon_key) if anon_key else None
        # Aggregates with the least privileged key there is; case-level data with
        # a key that may read it (an anon-only store is refused by the database).
        public = anon or reader or self._writer
        cases = reader or self._writer or anon
        assert public is not None and cases is not None
        self._public: Client = public
        self._cases: Client = cases

    @staticmethod
    def _client(url: str, key: str) -> Client:
        # No retries inside the client: the pipeline retries and keeps an outbox,
        # so a dead server must surface at once as StoreUnavailable.
        options = ClientOptions(
            httpx_client=httpx.Client(timeout=_TIMEOUT_S),
            postgrest_client_retry=False,
            auto_refresh_token=False,
            persist_session=False,
        )
        try:
            return create_client(url, key, options=options)
        except Exception as exc:  # SupabaseException: a malformed URL or key
            raise StoreError(f"Supabase store: {exc}") from exc

    # --- plumbing ------------------------------------------------------------

    def _rpc(
        self, fn: str, params: dict[str, Any], *, write: bool = True, cases: bool = False
    ) -> Any:
        client = self._writer if write else (self._cases if cases else self._public)
        if client is None:
            raise StoreError(
                f"Supabase store is read-only (no SUPABASE_SERVICE_ROLE_KEY); cannot call {fn}"
            )
        return _call(lambda: client.rpc(fn, params).execute()).data

    def _select(
        self,
        relation: str,
        *,
        eq: dict[str, Any] | None = None,
        order: Iterable[tuple[str, bool]] = (),
        limit: int | None = None,
        gte: dict[str, Any] | None = None,
        within: dict[str, list[str]] | None = None,
        columns: str = "*",
    ) -> list[dict[str, Any]]:
        """All rows (`columns` of them) of a filtered select, paging past the server's row cap.

        Case-level relations are read with the reader's (or service role's) key,
        the others with the anon key when there is one.
        """
        client = self._cases if relation in _CASE_LEVEL else self._public
        out: list[dict[str, Any]] = []
        order = list(order)
        while True:
            want = _PAGE if limit is None else min(_PAGE, limit - len(out))
            query = client.table(relation).select(columns)
            for column, value in (eq or {}).items():
                query = query.eq(column, value)
            for column, value in (gte or {}).items():
                query = query.gte(column, value)
            for column, values in (within or {}).items():
                query = query.in_(column, values)
            for column, desc in order:
                query = query.order(column, desc=desc)
            query = query.range(len(out), len(out) + want - 1)
            page: list[Any] = _call(query.execute).data
            out.extend(page)
            if len(page) < want or (limit is not None and len(out) >= limit):
                return out

    # --- runs and case results ---------------------------------------------------

    def create_run(self, run: RunRecord) -> None:
        """Record a new run; the same run id again is a no-op."""
        self._rpc("benchmark_create_run", {"p_run": run.model_dump(mode="json")})

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; raises `NotFound`."""
        rows = self._select("benchmark_runs", eq={"run_id": run_id}, limit=1)
        if not rows:
            raise NotFound(f"no run {run_id!r}")
        run = RunRecord.model_validate(rows[0]["record"])
        run.status = RunStatus(rows[0]["status"])
        return run

    def save_case_results(self, results: Iterable[CaseResult]) -> None:
        """Upsert case results, a few hundred per `benchmark_save_case_results` call."""
        batch: list[dict[str, Any]] = []
        for result in results:
            batch.append(result.model_dump(mode="json"))
            if len(batch) >= _WRITE_BATCH:
                self._rpc("benchmark_save_case_results", {"p_results": batch})
                batch = []
        if batch:
            self._rpc("benchmark_save_case_results", {"p_results": batch})

    def case_results(self, run_id: str, model_name: str) -> list[CaseResult]:
        """All stored case results of one (run, model), ordered by case id."""
        rows = self._select(
            "benchmark_case_results",
            eq={"run_id": run_id, "model_name": model_name},
            order=[("case_id", False)],
        )
        return [CaseResult.model_validate(r["result"]) for r in rows]

    def count_case_results(self, run_id: str, model_name: str) -> int:
        """How many distinct cases of (run, model) have a stored result (an exact count)."""
        query = (
            self._cases.table("benchmark_case_results")
            .select("case_id", count=CountMethod.exact)
            .eq("run_id", run_id)
            .eq("model_name", model_name)
            .limit(1)
        )
        return int(_call(query.execute).count or 0)

    def stored_case_ids(self, run_id: str, model_name: str, among: Collection[str]) -> set[str]:
        """Which of the case ids `among` already have a stored result for (run, model).

        Only the `case_id` column. The ids go in the URL (`in.(...)`), so they
        are asked in chunks that keep it well under common proxies' limits.
        """
        wanted = sorted(set(among))
        found: set[str] = set()
        for start in range(0, len(wanted), _IDS_PER_REQUEST):
            rows = self._select(
                "benchmark_case_results",
                eq={"run_id": run_id, "model_name": model_name},
                within={"case_id": wanted[start : start + _IDS_PER_REQUEST]},
                columns="case_id",
            )
            found.update(str(r["case_id"]) for r in rows)
        return found

    def save_run_summary(self, summary: RunModelSummary) -> None:
        """Store the aggregate of one (run, model), replacing an earlier one."""
        self._rpc("benchmark_save_run_summary", {"p_summary": summary.model_dump(mode="json")})

    def run_summaries(self, run_id: str) -> list[RunModelSummary]:
        """The summaries stored so far for a run, by model name."""
        rows = self._select(
            "benchmark_run_models", eq={"run_id": run_id}, order=[("model_name", False)]
        )
        return [RunModelSummary.model_validate(r) for r in rows]

    def set_run_status(self, run_id: str, status: str, error: str | None = None) -> None:
        """Mark a run done or failed; the first error given is kept."""
        RunStatus(status)
        self._rpc(
            "benchmark_set_run_status", {"p_run_id": run_id, "p_status": status, "p_error": error}
        )

    def reopen_run(self, run_id: str) -> None:
        """Make a run queued again (`benchmark_reopen_run`)."""
        self._rpc("benchmark_reopen_run", {"p_run_id": run_id})

    def claim_notification(self, run_id: str) -> bool:
        """True for exactly one caller per run (`benchmark_claim_notification`)."""
        return bool(self._rpc("benchmark_claim_notification", {"p_run_id": run_id}))

    def release_notification(self, run_id: str) -> None:
        """Let a later attempt claim the run's notification again."""
        self._rpc("benchmark_release_notification", {"p_run_id": run_id})

    # --- versioned snapshots -------------------------------------------------------

    def publish(
        self, record: MonitoringRecord, meta: PushMetadata, *, run_id: str | None = None
    ) -> Snapshot:
        """Append a transaction and a snapshot with version MAX+1 (`benchmark_publish`)."""
        data = self._rpc(
            "benchmark_publish",
            {
                "p_record": record_json(record),
                "p_meta": meta.model_dump(mode="json"),
                "p_benchq_run_id": run_id,
            },
        )
        return Snapshot.model_validate(data)

    def latest_benchmarks(self) -> list[LatestBenchmark]:
        """The current, active snapshot of every configuration (`latest_benchmarks` view)."""
        rows = self._select("latest_benchmarks", order=_CONFIG_ORDER)
        return [LatestBenchmark.model_validate(r) for r in rows]

    def performance_trends(self, days: int = 30) -> list[TrendPoint]:
        """Daily averages per configuration (`performance_trends` view), today included."""
        since = datetime.now(UTC).date() - timedelta(days=max(days, 1) - 1)
        rows = self._select(
            "performance_trends",
            gte={"day": since.isoformat()},
            order=[("day", False), *_CONFIG_ORDER],
        )
        return [TrendPoint.model_validate(r) for r in rows]

    def snapshot_history(
        self,
        model_version: str,
        dataset_version: str = "benchmark-set-v1",
        prompt_version: str = "v1",
        environment: str = "local",
    ) -> list[Snapshot]:
        """Every snapshot of one configuration, newest first (a table select, as the original)."""
        rows = self._select(
            "benchmark_snapshots",
            eq={
                "model_version": model_version,
                "dataset_version": dataset_version,
                "prompt_version": prompt_version,
                "environment": environment,
            },
            order=[("snapshot_version", True)],
        )
        return [Snapshot.model_validate(r) for r in rows]

    def checkout(self, config: SnapshotConfig, version: int) -> Snapshot:
        """Make `version` current (`benchmark_checkout`); missing: `NotFound`, no change."""
        data = self._rpc("benchmark_checkout", {**_params(config), "p_version": version})
        return Snapshot.model_validate(data)

    def set_baseline(self, config: SnapshotConfig, version: int) -> Snapshot:
        """Make `version` the only baseline (`benchmark_set_baseline`)."""
        data = self._rpc("benchmark_set_baseline", {**_params(config), "p_version": version})
        return Snapshot.model_validate(data)

    def compare(self, config: SnapshotConfig, a: int, b: int) -> list[ComparisonRow]:
        """Every numeric metric of versions `a` and `b` (`benchmark_compare`, read-only)."""
        rows = self._rpc(
            "benchmark_compare",
            {**_params(config), "p_version_a": a, "p_version_b": b},
            write=False,
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
        data = self._rpc(
            "benchmark_regression_check",
            {**_params(config), "p_threshold": threshold, "p_rule": rule},
            write=False,
        )
        return RegressionVerdict.model_validate(data)

    def list_snapshots(self, filters: SnapshotFilter | None = None) -> list[Snapshot]:
        """Snapshots matching `filters`, newest first."""
        f = filters or SnapshotFilter()
        eq: dict[str, Any] = {
            column: getattr(f, column)
            for column in ("model_version", "dataset_version", "prompt_version", "environment")
            if getattr(f, column) is not None
        }
        if f.current_only:
            eq["is_current"] = True
        if not f.include_inactive:
            eq["is_active"] = True
        rows = self._select(
            "benchmark_snapshots",
            eq=eq,
            order=[("created_at", True), ("id", True)],
            limit=f.limit,
        )
        return [Snapshot.model_validate(r) for r in rows]

    # --- dashboard aggregates (read-only rpc: the anon key may call them) -------------

    def configurations(self, environment: str | None = None) -> list[ConfigSummary]:
        """Every configuration with active snapshots (`benchmark_dashboard_configurations`)."""
        rows = self._rpc(
            "benchmark_dashboard_configurations", {"p_environment": environment}, write=False
        )
        return [ConfigSummary.model_validate(r) for r in rows]

    def daily_metrics(
        self, filters: DashboardFilter, *, per_model: bool = False
    ) -> list[DailyMetrics]:
        """Per UTC day (and model): count and F1 statistics (`benchmark_dashboard_daily`)."""
        rows = self._rpc(
            "benchmark_dashboard_daily",
            {**_filter_params(filters), "p_per_model": per_model},
            write=False,
        )
        return [DailyMetrics.model_validate(r) for r in rows]

    def model_stats(self, filters: DashboardFilter) -> list[ModelStats]:
        """Per model over the filter (`benchmark_dashboard_model_stats`)."""
        rows = self._rpc("benchmark_dashboard_model_stats", _filter_params(filters), write=False)
        return [ModelStats.model_validate(r) for r in rows]

    def model_usage(self, filters: DashboardFilter) -> list[ModelUsage]:
        """Tokens and cost behind each current snapshot (`benchmark_dashboard_usage`)."""
        params = _filter_params(filters)
        params.pop("p_days")
        params.pop("p_dataset")
        rows = self._rpc("benchmark_dashboard_usage", params, write=False)
        return [ModelUsage.model_validate(r) for r in rows]

    def save_case_documents(self, run_id: str, documents: Iterable[CaseDocument]) -> None:
        """Upsert a run's documents, a few hundred per `benchmark_save_case_documents` call."""
        batch: list[dict[str, Any]] = []
        for document in documents:
            batch.append(document.model_dump(mode="json"))
            if len(batch) >= _WRITE_BATCH:
                self._rpc(
                    "benchmark_save_case_documents", {"p_run_id": run_id, "p_documents": batch}
                )
                batch = []
        if batch:
            self._rpc("benchmark_save_case_documents", {"p_run_id": run_id, "p_documents": batch})

    def case_documents(self, run_id: str) -> dict[str, CaseDocument]:
        """The documents stored for a run, by case id."""
        rows = self._select(
            "benchmark_case_documents", eq={"run_id": run_id}, order=[("case_id", False)]
        )
        return {r["case_id"]: CaseDocument.model_validate(r) for r in rows}

    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the API answers a one-row select now (any key may)."""
        self._select("benchmark_snapshots", columns="id", limit=1)

    def close(self) -> None:
        """Close the HTTP connections."""
        clients = (self._writer, self._public, self._cases)
        for client in {id(c): c for c in clients if c is not None}.values():
            client.postgrest.aclose()


#: Relations anon may not read (`20261201490000_read_roles.sql`).
_CASE_LEVEL = frozenset(
    {"benchmark_runs", "benchmark_case_results", "benchmark_run_models", "benchmark_case_documents"}
)

_CONFIG_ORDER = [
    ("model_version", False),
    ("dataset_version", False),
    ("prompt_version", False),
    ("environment", False),
]


def _filter_params(f: DashboardFilter) -> dict[str, Any]:
    """The dashboard functions' filter arguments; a JSON list arrives as jsonb."""
    return {
        "p_environment": f.environment,
        "p_models": list(f.models) if f.models else None,
        "p_days": f.days,
        "p_dataset": f.dataset,
    }


def _params(config: SnapshotConfig) -> dict[str, str]:
    return {
        "p_model_version": config.model_version,
        "p_dataset_version": config.dataset_version,
        "p_prompt_version": config.prompt_version,
        "p_environment": config.environment,
    }
