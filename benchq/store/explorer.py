"""What the run explorer and the report read: one run's cases, documents and answers.

Bills are medical records. Every read of case data (what a model answered
on a bill) or of documents (the bill itself) goes through one of the
methods of the **case data** block of `ExplorerReads` below, so a later
restriction of who may read cases (a separate read role, row-level security)
has one place per backend to change: `sqlite_explorer.py`,
`postgres_explorer.py`, `supabase_explorer.py`. None of them adds a new
access path: they read the same tables, as the same role, as
`ResultsStore.case_results` and `case_documents` do (no SQL function, no
grant). The two other methods read run records and snapshot rows, which are
not case data.

`ResultsStore` inherits this interface; each backend mixes in its block.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseDocument, DashboardFilter
from benchq.store.schema import RunRecord

#: Runs the explorer's run picker lists at most (newest first).
RUN_LIST_LIMIT = 500


class CaseCell(BaseModel):
    """One (case, model) of a run, as the explorer's grid needs it: no raw answer.

    A grid of 1,000 cases by 4 models is 4,000 of these; the raw answers
    (kilobytes each) are read only for the case a person opens.
    """

    case_id: str
    """The result's key: the case id, or `id~repeat` for a repeat (`--repeat N`)."""
    model_name: str
    document_type: str
    extraction_success: bool
    json_valid: bool = False
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    detected_types: list[str] = Field(default_factory=list)
    expected_types: list[str] = Field(default_factory=list)
    error_message: str | None = None
    extraction_latency_ms: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float = 0.0
    cached: bool = False


class SnapshotPoint(BaseModel):
    """One published snapshot as a point in time, for trends over a short span."""

    created_at: datetime
    model_version: str
    dataset_version: str
    prompt_version: str
    environment: str
    snapshot_version: int
    f1_score: float | None = None
    precision_score: float | None = None
    recall_score: float | None = None
    latency_ms: float | None = None
    failed: bool = False
    """The upload reported no successful case: a failure, not a score of 0."""
    benchq_run_id: str | None = None


#: The fields of `CaseCell` read out of a stored `CaseResult` JSON document.
CELL_RESULT_FIELDS: tuple[str, ...] = (
    "detected_types",
    "expected_types",
    "extraction_latency_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "cached",
)


def cell_of(row: dict[str, Any], result: dict[str, Any]) -> CaseCell:
    """A `CaseCell` from a case-results row's columns and its `result` JSON."""
    fields = {name: result.get(name) for name in CELL_RESULT_FIELDS if result.get(name) is not None}
    return CaseCell.model_validate({**row, **fields})


def base_case_id(key: str) -> str:
    """The case id of a result's store key (`id~repeat` for repeats, see `result_key`)."""
    return key.split("~", 1)[0]


def like_pattern(text: str) -> str:
    """`text` as a case-insensitive LIKE pattern matching it anywhere, wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ExplorerReads(ABC):
    """The explorer's and the report's reads; implemented once per backend."""

    # --- runs and snapshots (not case data) ---------------------------------------

    @abstractmethod
    def recent_runs(
        self, limit: int = RUN_LIST_LIMIT, dataset_version: str | None = None
    ) -> list[RunRecord]:
        """The newest runs (by `created_at`), optionally of one dataset, with their status."""

    @abstractmethod
    def snapshot_points(self, filters: DashboardFilter, limit: int = 1000) -> list[SnapshotPoint]:
        """The newest snapshots the sidebar filter selects, one point each (oldest first)."""

    # --- case data (medical records): every case or document read is here ----------

    @abstractmethod
    def run_case_cells(self, run_id: str) -> list[CaseCell]:
        """Every (case, model) result of a run without its raw answer, by case then model."""

    @abstractmethod
    def case_answers(self, run_id: str, case_id: str) -> list[CaseResult]:
        """Every model's full result (raw answer included) for one case of a run, by model.

        `case_id` is a result key: `id~2` is the third repeat of case `id`.
        """

    @abstractmethod
    def case_document(self, run_id: str, case_id: str) -> CaseDocument | None:
        """The document and expected issues of one case of a run; None when not stored."""

    @abstractmethod
    def search_case_documents(self, run_id: str, text: str) -> set[str]:
        """Ids of the run's cases whose document contains `text`, ignoring case."""
