"""The run explorer's reads for the Supabase backend (see `benchq.store.explorer`).

A mixin of `SupabaseStore`, kept apart so a later restriction of case reads
has one block to change. Table selects with the reading key, on the same
tables `case_results` and `case_documents` read: no rpc, no new grant.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseDocument, DashboardFilter
from benchq.store.explorer import (
    RUN_LIST_LIMIT,
    CaseCell,
    ExplorerReads,
    SnapshotPoint,
    cell_of,
    like_pattern,
)
from benchq.store.schema import RunRecord, RunStatus

_CELL_COLUMNS = (
    "case_id,model_name,document_type,extraction_success,json_valid,true_positives,"
    "false_positives,false_negatives,error_message,result"
)


class SupabaseExplorerQueries(ExplorerReads):
    """The explorer methods of `SupabaseStore` (it supplies `_rpc`, `_select`, `_cases`)."""

    _cases: Any

    def _rpc(self, fn: str, params: dict[str, Any], *, write: bool = True) -> Any:
        raise NotImplementedError  # pragma: no cover - SupabaseStore provides it

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
        raise NotImplementedError  # pragma: no cover - SupabaseStore provides it

    # --- runs and snapshots (not case data) -------------------------------------------

    def recent_runs(
        self, limit: int = RUN_LIST_LIMIT, dataset_version: str | None = None
    ) -> list[RunRecord]:
        """The newest runs, optionally of one dataset, with their status."""
        rows = self._select(
            "benchmark_runs",
            order=[("created_at", True), ("run_id", True)],
            # The dataset lives inside the record (JSON): filter after reading.
            limit=limit if dataset_version is None else None,
            columns="record,status",
        )
        runs = []
        for row in rows:
            run = RunRecord.model_validate(row["record"])
            run.status = RunStatus(row["status"])
            if dataset_version is None or run.dataset_version == dataset_version:
                runs.append(run)
        return runs[:limit]

    def snapshot_points(self, filters: DashboardFilter, limit: int = 1000) -> list[SnapshotPoint]:
        """The newest snapshots of the filter (`benchmark_dashboard_points`), oldest first.

        At most 1,000: PostgREST caps a function's rows at its `max_rows`.
        """
        rows = self._rpc(
            "benchmark_dashboard_points",
            {
                "p_environment": filters.environment,
                "p_models": list(filters.models) if filters.models else None,
                "p_days": filters.days,
                "p_dataset": filters.dataset,
                "p_limit": min(limit, 1000),
            },
            write=False,
        )
        return [SnapshotPoint.model_validate(r) for r in reversed(rows)]

    # --- case data (medical records) -------------------------------------------------

    def run_case_cells(self, run_id: str) -> list[CaseCell]:
        """Every (case, model) result of a run without its raw answer."""
        rows = self._select(
            "benchmark_case_results",
            eq={"run_id": run_id},
            order=[("case_id", False), ("model_name", False)],
            columns=_CELL_COLUMNS,
        )
        return [cell_of(row, row.pop("result") or {}) for row in rows]

    def case_answers(self, run_id: str, case_id: str) -> list[CaseResult]:
        """Every model's full result for one case of a run, by model."""
        rows = self._select(
            "benchmark_case_results",
            eq={"run_id": run_id, "case_id": case_id},
            order=[("model_name", False)],
            columns="result",
        )
        return [CaseResult.model_validate(r["result"]) for r in rows]

    def case_document(self, run_id: str, case_id: str) -> CaseDocument | None:
        """The document and expected issues of one case; None when not stored."""
        rows = self._select(
            "benchmark_case_documents",
            eq={"run_id": run_id, "case_id": case_id},
            columns="case_id,document_type,text,expected_issues",
            limit=1,
        )
        return CaseDocument.model_validate(rows[0]) if rows else None

    def search_case_documents(self, run_id: str, text: str) -> set[str]:
        """Ids of the run's cases whose document contains `text`, ignoring case (`ilike`)."""
        from benchq.store.supabase import _call

        query = (
            self._cases.table("benchmark_case_documents")
            .select("case_id")
            .eq("run_id", run_id)
            .ilike("text", like_pattern(text))
        )
        found: set[str] = set()
        start, page = 0, 1000
        while True:
            rows: list[Any] = _call(query.range(start, start + page - 1).execute).data
            found.update(str(r["case_id"]) for r in rows)
            if len(rows) < page:
                return found
            start += page
