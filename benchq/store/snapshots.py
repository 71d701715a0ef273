"""Snapshot arithmetic shared by the backends that do it in Python (SQLite).

Postgres and Supabase do the same in SQL (`supabase/migrations`); the
contract tests hold both to the same answers, so keep them in step: the
metric order, `pct_change` = 100 * (b - a) / a, and the regression rules
(`benchq.regression.original`, `benchmark_regression_check` in SQL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchq.errors import StoreError
from benchq.regression.original import (
    DEFAULT_RULE,
    RULES,
    RegressionRule,
    dropped_beyond,
    metric_regressed,
)
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

#: Metrics a regression check shows; all are higher-is-better, on a 0-1 scale.
#: Which of them gate depends on the rule (the original's: F1 only). Latency and
#: cost vary run to run with the network, so they inform, not gate.
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
    """The `relative` rule for one metric: `current` fell by more than `threshold` times
    `baseline` (0.05: more than 5 % below it); a missing side never regresses."""
    return dropped_beyond(baseline, current, threshold, relative=True)


def record_json(record: MonitoringRecord) -> dict[str, Any]:
    """A record as every backend stores it: what it lacks is absent (unknown), not zero.

    The original stored a pushed `metrics` object as it was given; leaving out
    the None of unset fields keeps it so (`benchq push --verify` compares).
    """
    return record.model_dump(mode="json", exclude_none=True)


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
    current: Snapshot | None,
    baseline: Snapshot | None,
    threshold: float,
    rule: RegressionRule = DEFAULT_RULE,
) -> RegressionVerdict:
    """Current against baseline under `rule` (default: the original's, F1 drop > threshold)."""
    if current is None:
        return RegressionVerdict(
            status="no_current", regressed=False, threshold=threshold, rule=rule
        )
    if baseline is None:
        return RegressionVerdict(
            status="no_baseline",
            regressed=False,
            threshold=threshold,
            rule=rule,
            current_version=current.snapshot_version,
        )
    checks = []
    for metric, column in REGRESSION_METRICS:
        bv: float | None = getattr(baseline, column)
        cv: float | None = getattr(current, column)
        delta = cv - bv if bv is not None and cv is not None else None
        regressed = metric_regressed(rule, metric, bv, cv, threshold)
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
        rule=rule,
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


def check_threshold(threshold: float, rule: str = DEFAULT_RULE) -> None:
    """Refuse a threshold outside [0, 1] (a drop of a 0-1 score, or a fraction) or an
    unknown rule."""
    if not 0.0 <= threshold <= 1.0:
        raise StoreError(f"threshold must be between 0 and 1, got {threshold}")
    if rule not in RULES:
        raise StoreError(f"unknown regression rule {rule!r}; the rules are {', '.join(RULES)}")
