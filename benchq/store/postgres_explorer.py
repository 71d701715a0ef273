"""The run explorer's reads for the Postgres backend (see `benchq.store.explorer`).

A mixin of `PostgresStore`, kept apart so a later restriction of case reads
has one block to change. Plain SELECTs on the tables `case_results` and
`case_documents` read, as the connecting role: no SQL function, no grant.
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
)
from benchq.store.schema import RunRecord, RunStatus

# The light fields of a result, extracted in the database: the raw answer
# (most of each row's bytes) never leaves it for the grid.
_CELLS = """
SELECT case_id, model_name, document_type, extraction_success, json_valid, true_positives,
       false_positives, false_negatives, error_message,
       coalesce(result -> 'detected_types', '[]'::jsonb) AS detected_types,
       coalesce(result -> 'expected_types', '[]'::jsonb) AS expected_types,
       coalesce((result ->> 'extraction_latency_ms')::double precision, 0) AS extraction_latency_ms,
       (result ->> 'input_tokens')::integer AS input_tokens,
       (result ->> 'output_tokens')::integer AS output_tokens,
       (result ->> 'total_tokens')::integer AS total_tokens,
       coalesce((result ->> 'cost_usd')::double precision, 0) AS cost_usd,
       coalesce((result ->> 'cached')::boolean, false) AS cached
FROM benchmark_case_results WHERE run_id = %s ORDER BY case_id, model_name
"""


class PostgresExplorerQueries(ExplorerReads):
    """The explorer methods of `PostgresStore` (it supplies `_rows`)."""

    def _rows(self, query: Any, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError  # pragma: no cover - PostgresStore provides it

    # --- runs and snapshots (not case data) -------------------------------------------

    def recent_runs(
        self, limit: int = RUN_LIST_LIMIT, dataset_version: str | None = None
    ) -> list[RunRecord]:
        """The newest runs, optionally of one dataset, with their status."""
        rows = self._rows(
            "SELECT record, status FROM benchmark_runs "
            "WHERE %s::text IS NULL OR record ->> 'dataset_version' = %s "
            "ORDER BY created_at DESC, run_id DESC LIMIT %s",
            (dataset_version, dataset_version, limit),
        )
        runs = []
        for row in rows:
            run = RunRecord.model_validate(row["record"])
            run.status = RunStatus(row["status"])
            runs.append(run)
        return runs

    def snapshot_points(self, filters: DashboardFilter, limit: int = 1000) -> list[SnapshotPoint]:
        """The newest snapshots of the filter (`benchmark_dashboard_points`), oldest first."""
        from psycopg.types.json import Jsonb

        rows = self._rows(
            "SELECT * FROM benchmark_dashboard_points(%s, %s, %s, %s, %s)",
            (
                filters.environment,
                Jsonb(list(filters.models)) if filters.models else None,
                filters.days,
                filters.dataset,
                limit,
            ),
        )
        return [SnapshotPoint.model_validate(r) for r in reversed(rows)]

    # --- case data (medical records) -------------------------------------------------

    def run_case_cells(self, run_id: str) -> list[CaseCell]:
        """Every (case, model) result of a run without its raw answer."""
        return [CaseCell.model_validate(r) for r in self._rows(_CELLS, (run_id,))]

    def case_answers(self, run_id: str, case_id: str) -> list[CaseResult]:
        """Every model's full result for one case of a run, by model."""
        rows = self._rows(
            "SELECT result FROM benchmark_case_results WHERE run_id = %s AND case_id = %s "
            "ORDER BY model_name",
            (run_id, case_id),
        )
        return [CaseResult.model_validate(r["result"]) for r in rows]

    def case_document(self, run_id: str, case_id: str) -> CaseDocument | None:
        """The document and expected issues of one case; None when not stored."""
        rows = self._rows(
            "SELECT case_id, document_type, text, expected_issues FROM benchmark_case_documents "
            "WHERE run_id = %s AND case_id = %s",
            (run_id, case_id),
        )
        return CaseDocument.model_validate(rows[0]) if rows else None

    def search_case_documents(self, run_id: str, text: str) -> set[str]:
        """Ids of the run's cases whose document contains `text`, ignoring case."""
        rows = self._rows(
            "SELECT case_id FROM benchmark_case_documents "
            "WHERE run_id = %s AND strpos(lower(text), lower(%s)) > 0",
            (run_id, text),
        )
        return {str(r["case_id"]) for r in rows}
