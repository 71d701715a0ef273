"""What the dashboard asks the store for: aggregates computed in the database.

The dashboard must stay fast over years of history (10,000 snapshots and
half a million case results), so it never pulls rows to average them in
Python: each record here is one row of a GROUP BY that the backend runs
(`benchmark_dashboard_*` SQL functions in `supabase/migrations` for Postgres
and Supabase, the same SQL in SQLite's dialect in `sqlite_dashboard.py`).

The case-level diff of two snapshots (`diff_cases`) is the exception: it
compares two lists of case results that are already small (one snapshot's
cases each), and the rule is easier to read, and to keep identical across
backends, as one pure function.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from benchq.scoring.schema import CaseResult


class DashboardFilter(BaseModel):
    """The dashboard's sidebar: which snapshots an aggregate covers. Unset matches all."""

    model_config = ConfigDict(frozen=True)

    environment: str | None = None
    """One environment (`local`, `production`, ...), or None for all of them."""
    models: tuple[str, ...] = ()
    """Model versions to include; empty means every model."""
    days: int | None = Field(default=None, ge=1)
    """The last `days` UTC days, today included; None means all time."""
    dataset: str | None = None
    """One dataset (suite) version, or None for all of them."""


class ConfigSummary(BaseModel):
    """One configuration (model, dataset, prompt, environment) and where its series stands."""

    model_version: str
    dataset_version: str
    prompt_version: str
    environment: str
    snapshots: int
    """Active snapshots of the configuration."""
    first_at: datetime
    last_at: datetime
    current_version: int | None = None
    baseline_version: int | None = None
    current_precision: float | None = None
    current_recall: float | None = None
    current_f1: float | None = None
    current_latency_ms: float | None = None
    current_cost: float | None = None
    baseline_precision: float | None = None
    baseline_recall: float | None = None
    baseline_f1: float | None = None
    current_failed: bool = False
    """The current snapshot's run failed (no case succeeded): its figures are not scores."""
    baseline_failed: bool = False
    failed_snapshots: int = 0


class DailyMetrics(BaseModel):
    """Snapshots published on one UTC day (of one model, when asked per model)."""

    day: date
    model_version: str | None = None
    """The model, or None when the row covers every model of the filter."""
    runs: int
    """Snapshots published that day: one per (run, configuration)."""
    failed: int = 0
    """Of `runs`, those whose run failed (no case succeeded); left out of every mean."""
    f1_mean: float | None = None
    f1_std: float | None = None
    """Sample standard deviation; None with fewer than two snapshots."""
    f1_min: float | None = None
    f1_max: float | None = None
    precision_mean: float | None = None
    recall_mean: float | None = None
    latency_mean: float | None = None
    cost_mean: float | None = None


class ModelStats(BaseModel):
    """One model's snapshots over the filter's time range, summarised."""

    model_version: str
    runs: int
    failed: int = 0
    """Of `runs`, those whose run failed (no case succeeded); left out of every mean."""
    f1_mean: float | None = None
    f1_std: float | None = None
    f1_min: float | None = None
    f1_max: float | None = None
    precision_mean: float | None = None
    recall_mean: float | None = None
    latency_mean: float | None = None
    cost_mean: float | None = None
    """Mean cost of analysing one document (USD), as the snapshots report it."""
    first_at: datetime | None = None
    last_at: datetime | None = None


class ModelUsage(BaseModel):
    """What the case results behind a current snapshot cost: tokens and money."""

    model_version: str
    dataset_version: str
    prompt_version: str
    environment: str
    snapshot_version: int
    cases: int
    """Case results found for the snapshot's run (0 when it was pushed without a run)."""
    failed_cases: int = 0
    avg_input_tokens: float | None = None
    avg_output_tokens: float | None = None
    avg_total_tokens: float | None = None
    total_cost_usd: float | None = None
    cost_per_case_usd: float | None = None
    avg_latency_ms: float | None = None
    """Extraction latency over successful cases (the original's rule)."""


class CaseDocument(BaseModel):
    """The document a run showed the models, and its ground-truth issues.

    Case results keep only what the model said; this keeps what it was
    asked, so a changed outcome can be read next to its bill.
    """

    case_id: str
    document_type: str
    text: str
    expected_issues: list[dict[str, Any]] = Field(default_factory=list)
    """`{type, description, should_detect}` entries, as the ground-truth file has them."""


ChangeKind = Literal["regressed", "improved", "mixed", "added", "removed"]


class CaseChange(BaseModel):
    """One case whose outcome differs between snapshot A (before) and B (after)."""

    case_id: str
    document_type: str
    change: ChangeKind
    newly_missed: list[str] = Field(default_factory=list)
    """Expected issue types A found and B no longer finds."""
    newly_found: list[str] = Field(default_factory=list)
    """Expected issue types B finds and A missed."""
    new_false_alarms: list[str] = Field(default_factory=list)
    """Types B reports that are not expected and A did not report."""
    cleared_false_alarms: list[str] = Field(default_factory=list)
    a: CaseResult | None = None
    b: CaseResult | None = None


def _found(result: CaseResult | None) -> tuple[set[str], set[str]]:
    """(expected types found, unexpected types reported) of one result, as sets.

    A failed case found nothing: the original scores it 0/0/0, and for a
    reader "the call failed" and "it missed the issue" end the same way.
    """
    if result is None or not result.extraction_success:
        return set(), set()
    expected, detected = set(result.expected_types), set(result.detected_types)
    return expected & detected, detected - expected


def diff_cases(a: Iterable[CaseResult], b: Iterable[CaseResult]) -> list[CaseChange]:
    """The cases whose outcome changed from `a` to `b`, worst first, then by case id.

    Issue types are compared as sets, as the original's scoring does, so a
    change here is a change in the original's TP/FN/FP figures.
    """
    by_a = {r.document_name: r for r in a}
    by_b = {r.document_name: r for r in b}
    changes: list[CaseChange] = []
    for case_id in sorted(set(by_a) | set(by_b)):
        ra, rb = by_a.get(case_id), by_b.get(case_id)
        (hit_a, fp_a), (hit_b, fp_b) = _found(ra), _found(rb)
        missed, found = sorted(hit_a - hit_b), sorted(hit_b - hit_a)
        new_fp, cleared_fp = sorted(fp_b - fp_a), sorted(fp_a - fp_b)
        kind: ChangeKind
        if ra is None:
            kind = "added"
        elif rb is None:
            kind = "removed"
        elif not (missed or found or new_fp or cleared_fp):
            continue
        elif (missed or new_fp) and (found or cleared_fp):
            kind = "mixed"
        elif missed or new_fp:
            kind = "regressed"
        else:
            kind = "improved"
        document_type = (rb or ra).document_type  # type: ignore[union-attr]
        changes.append(
            CaseChange(
                case_id=case_id,
                document_type=document_type,
                change=kind,
                newly_missed=missed,
                newly_found=found,
                new_false_alarms=new_fp,
                cleared_false_alarms=cleared_fp,
                a=ra,
                b=rb,
            )
        )
    order = {"regressed": 0, "mixed": 1, "improved": 2, "added": 3, "removed": 4}
    changes.sort(key=lambda c: (order[c.change], c.case_id))
    return changes
