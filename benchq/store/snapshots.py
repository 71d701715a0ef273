"""Snapshot arithmetic shared by the backends that do it in Python (SQLite).

Postgres and Supabase do the same in SQL (`supabase/migrations`); the
contract tests hold both to the same answers, so keep them in step: the
metric order, `pct_change` = 100 * (b - a) / a, and the regression rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchq.errors import StoreError
from benchq.scoring.schema import MonitoringRecord
from benchq.store.schema import (
    ComparisonRow,
    PushMetadata,
    RegressionCheck,
    RegressionVerdict,
    Snapshot,
    SnapshotConfig,
)

#: Headline metrics first, in this order; any other numeric metric follows by name.
METRIC_ORDER: tuple[str, ...] = (
    "precision",
    "recall",
    "f1",
    "latency_ms",
    "analysis_cost",
    "total_documents",
    "total_issues_detected",
    "total_issues_expected",
)

#: Metrics a regression check gates on; all are higher-is-better, on a 0-1 scale.
#: Latency and cost vary run to run with the network, so they inform, not gate.
REGRESSION_METRICS: tuple[tuple[str, str], ...] = (
    ("precision", "precision_score"),
    ("recall", "recall_score"),
    ("f1", "f1_score"),
)


def metric_rank(metric: str) -> tuple[int, str]:
    """Sort key of a metric name: headline order, then alphabetical."""
    try:
        return (METRIC_ORDER.index(metric), metric)
    except ValueError:
        return (1000, metric)


def pct_change(a: float | None, b: float | None) -> float | None:
    """100 * (b - a) / a; None when a side is missing or a is 0."""
    if a is None or b is None or a == 0:
        return None
    return 100.0 * (b - a) / a


def _numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    # bool is an int in Python but not a number in JSON; the SQL side skips it too.
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def fell_beyond(baseline: float | None, current: float | None, threshold: float) -> bool:
    """The regression rule: `current` fell by more than `threshold` times `baseline`.

    `threshold` is a fraction of the baseline (0.05: more than 5 % below it);
    a missing side never regresses.
    """
    return (
        baseline is not None and current is not None and baseline - current > threshold * baseline
    )


def compare_metrics(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[ComparisonRow]:
    """Every numeric metric of two metric objects, side by side."""
    na, nb = _numbers(a), _numbers(b)
    rows = []
    for metric in sorted(set(na) | set(nb), key=metric_rank):
        va, vb = na.get(metric), nb.get(metric)
        delta = vb - va if va is not None and vb is not None else None
        rows.append(
            ComparisonRow(metric=metric, a=va, b=vb, delta=delta, pct_change=pct_change(va, vb))
        )
    return rows


def regression_verdict(
    current: Snapshot | None, baseline: Snapshot | None, threshold: float
) -> RegressionVerdict:
    """Current against baseline: a metric regresses when it fell by more than
    `threshold` times its baseline value."""
    if current is None:
        return RegressionVerdict(status="no_current", regressed=False, threshold=threshold)
    if baseline is None:
        return RegressionVerdict(
            status="no_baseline",
            regressed=False,
            threshold=threshold,
            current_version=current.snapshot_version,
        )
    checks = []
    for metric, column in REGRESSION_METRICS:
        bv: float | None = getattr(baseline, column)
        cv: float | None = getattr(current, column)
        delta = cv - bv if bv is not None and cv is not None else None
        regressed = fell_beyond(bv, cv, threshold)
        checks.append(
            RegressionCheck(
                metric=metric,
                baseline=bv,
                current=cv,
                delta=delta,
                pct_change=pct_change(bv, cv),
                regressed=regressed,
            )
        )
    regressed = any(c.regressed for c in checks)
    return RegressionVerdict(
        status="regression" if regressed else "ok",
        regressed=regressed,
        threshold=threshold,
        current_version=current.snapshot_version,
        baseline_version=baseline.snapshot_version,
        checks=checks,
    )


def config_of(record: MonitoringRecord, meta: PushMetadata) -> SnapshotConfig:
    """The configuration a published record belongs to."""
    return SnapshotConfig(
        model_version=record.model_version,
        dataset_version=record.dataset_version,
        prompt_version=record.prompt_version,
        environment=meta.environment,
    )


def check_threshold(threshold: float) -> None:
    """Refuse a threshold outside [0, 1]: it is a fraction of the baseline."""
    if not 0.0 <= threshold <= 1.0:
        raise StoreError(f"threshold must be a fraction between 0 and 1, got {threshold}")
