"""Convert an aggregate into a monitoring record: the unit published to the store.

This is the original `convert_benchmark_to_monitoring.py` (aggregated-metrics
branch), with the values it left at zero or got wrong filled in for real:

* `analysis_cost`: the original divided a `total_cost` the files never held,
  so it was always 0; here it is the run's real cost per document.
* `error_count` / `success_count` / issue totals: the original read keys the
  files never held (so 0 errors, all successes, 0 issues); here they are real.

Kept as the original did it, so a record converted by benchq says what the
original's said: `model_version` `<model>-v1.0`, `model_provider` the model
name (the original's "provider" label), dataset `benchmark-set-v1`, prompt `v1`,
`latency_ms` = the average *pipeline* latency, `duration_seconds` = that
average in seconds (the original's figure, a per-document average despite
its name), `timestamp` as `datetime.utcnow().isoformat() + "Z"`.

Beside the original: `total_latency_seconds`, the sum of every case's
pipeline latency. A run that benchq publishes itself passes its wall time as
`duration_seconds`, which is what the original's push stored in that column
(from its `--duration` flag).
"""

from __future__ import annotations

from datetime import UTC, datetime

from benchq.scoring.schema import AggregatedMetrics, MonitoringMetrics, MonitoringRecord

__all__ = ["format_timestamp", "to_monitoring"]


def to_monitoring(
    agg: AggregatedMetrics,
    *,
    model: str,
    model_version: str | None = None,
    model_provider: str | None = None,
    dataset_version: str = "benchmark-set-v1",
    prompt_version: str = "v1",
    duration_seconds: float | None = None,
    timestamp: datetime | None = None,
) -> MonitoringRecord:
    """Build the monitoring record of one aggregate (the original converter's output).

    `model_version` defaults to `<model>-v1.0` and `model_provider` to
    `model`, as the original's converter wrote them. `duration_seconds`
    defaults to the original's figure: the average pipeline latency in
    seconds. `timestamp` defaults to now; it is written in UTC as ISO 8601
    with a `Z` suffix.
    """
    total = agg.total_documents
    if duration_seconds is None:
        duration_seconds = agg.avg_pipeline_latency_ms / 1000
    return MonitoringRecord(
        model_version=model_version or f"{model}-v1.0",
        model_provider=model_provider or model,
        dataset_version=dataset_version,
        dataset_size=total,
        prompt_version=prompt_version,
        metrics=MonitoringMetrics(
            precision=agg.issue_precision,
            recall=agg.issue_recall,
            f1=agg.issue_f1_score,
            latency_ms=agg.avg_pipeline_latency_ms,
            analysis_cost=agg.total_cost_usd / total if total > 0 else 0.0,
            total_documents=total,
            total_issues_detected=agg.total_issues_detected,
            total_issues_expected=agg.total_issues_expected,
            precision_ci=agg.issue_precision_ci,
            recall_ci=agg.issue_recall_ci,
            f1_ci=agg.issue_f1_ci,
        ),
        duration_seconds=duration_seconds,
        error_count=agg.error_count,
        success_count=agg.successful_extractions,
        timestamp=format_timestamp(timestamp),
        total_latency_seconds=sum(r.pipeline_latency_ms for r in agg.individual_results) / 1000,
    )


def format_timestamp(when: datetime | None = None) -> str:
    """ISO 8601 in UTC with a `Z` suffix, as the original wrote it (a naive time is UTC)."""
    when = when or datetime.now(UTC)
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat() + "Z"
