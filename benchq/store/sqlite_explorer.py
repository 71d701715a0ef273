"""The run explorer's reads for the SQLite backend (see `benchq.store.explorer`).

A mixin of `SQLiteStore`, kept apart so a later restriction of case reads
has one block to change. Case data is read from the same tables as
`case_results` and `case_documents`, nothing else.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseDocument, DashboardFilter
from benchq.store.explorer import (
    CELL_RESULT_FIELDS,
    RUN_LIST_LIMIT,
    CaseCell,
    ExplorerReads,
    SnapshotPoint,
    cell_of,
)
from benchq.store.schema import RunRecord, RunStatus
from benchq.store.sqlite_dashboard import OUTCOMES, _where

_CELL_COLUMNS = (
    "case_id, model_name, document_type, extraction_success, json_valid, true_positives, "
    "false_positives, false_negatives, error_message, "
    + ", ".join(f"json_extract(result, '$.{name}') AS {name}" for name in CELL_RESULT_FIELDS)
)
_LISTS = ("detected_types", "expected_types")


class SQLiteExplorerQueries(ExplorerReads):
    """The explorer methods of `SQLiteStore` (it supplies `_conn`)."""

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError  # pragma: no cover - SQLiteStore provides it

    def _explorer_rows(self, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        cur = self._conn().execute(query, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # --- runs and snapshots (not case data) -------------------------------------------

    def recent_runs(
        self, limit: int = RUN_LIST_LIMIT, dataset_version: str | None = None
    ) -> list[RunRecord]:
        """The newest runs, optionally of one dataset, with their status."""
        where, params = "1=1", list[Any]()
        if dataset_version is not None:
            where = "json_extract(record, '$.dataset_version') = ?"
            params.append(dataset_version)
        rows = self._explorer_rows(
            f"SELECT record, status FROM benchmark_runs WHERE {where} "
            "ORDER BY created_at DESC, run_id DESC LIMIT ?",
            (*params, limit),
        )
        runs = []
        for row in rows:
            run = RunRecord.model_validate_json(row["record"])
            run.status = RunStatus(row["status"])
            runs.append(run)
        return runs

    def snapshot_points(self, filters: DashboardFilter, limit: int = 1000) -> list[SnapshotPoint]:
        """The newest snapshots of the filter, oldest first."""
        where, params = _where(filters)
        rows = self._explorer_rows(
            "SELECT created_at, model_version, dataset_version, prompt_version, environment, "
            "snapshot_version, f1_score, precision_score, recall_score, latency_ms, failed, "
            f"benchq_run_id FROM {OUTCOMES} s WHERE {where} "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [SnapshotPoint.model_validate(r) for r in reversed(rows)]

    # --- case data (medical records) -------------------------------------------------

    def run_case_cells(self, run_id: str) -> list[CaseCell]:
        """Every (case, model) result of a run without its raw answer."""
        rows = self._explorer_rows(
            f"SELECT {_CELL_COLUMNS} FROM benchmark_case_results WHERE run_id = ? "
            "ORDER BY case_id, model_name",
            (run_id,),
        )
        cells = []
        for row in rows:
            result = {name: row.pop(name) for name in CELL_RESULT_FIELDS}
            for name in _LISTS:
                result[name] = json.loads(result[name]) if result[name] else []
            cells.append(cell_of(row, result))
        return cells

    def case_answers(self, run_id: str, case_id: str) -> list[CaseResult]:
        """Every model's full result for one case of a run, by model."""
        rows = self._explorer_rows(
            "SELECT result FROM benchmark_case_results WHERE run_id = ? AND case_id = ? "
            "ORDER BY model_name",
            (run_id, case_id),
        )
        return [CaseResult.model_validate_json(r["result"]) for r in rows]

    def case_document(self, run_id: str, case_id: str) -> CaseDocument | None:
        """The document and expected issues of one case; None when not stored."""
        rows = self._explorer_rows(
            "SELECT case_id, document_type, text, expected_issues FROM benchmark_case_documents "
            "WHERE run_id = ? AND case_id = ?",
            (run_id, case_id),
        )
        if not rows:
            return None
        rows[0]["expected_issues"] = json.loads(rows[0]["expected_issues"])
        return CaseDocument.model_validate(rows[0])

    def search_case_documents(self, run_id: str, text: str) -> set[str]:
        """Ids of the run's cases whose document contains `text`, ignoring case."""
        rows = self._explorer_rows(
            "SELECT case_id FROM benchmark_case_documents "
            "WHERE run_id = ? AND instr(lower(text), lower(?)) > 0",
            (run_id, text),
        )
        return {str(r["case_id"]) for r in rows}
