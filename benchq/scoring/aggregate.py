"""Aggregate the case results of one (run, model) into the original metrics file.

The original's figures are reproduced exactly (micro-averages over documents,
latency over successful cases only); nothing is rounded here, display code
rounds. benchq's additions (totals, cost, occurrence-aware metrics, facts
accuracy) are computed beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from benchq.scoring.schema import AggregatedMetrics, CaseResult

__all__ = ["aggregate", "format_generated_at", "micro_prf"]


def aggregate(
    model_name: str,
    results: Sequence[CaseResult],
    generated_at: datetime | None = None,
) -> AggregatedMetrics:
    """Aggregate case results into the per-model metrics of one run.

    precision = ΣTP/(ΣTP+ΣFP), recall = ΣTP/(ΣTP+ΣFN), F1 their harmonic
    mean, each 0 when its denominator is 0 (0-1 scale). Extraction accuracy
    and JSON validity are percentages of all cases. Latency averages cover
    successful cases only (original rule); token averages cover the cases
    that reported that count and are None when none did. `generated_at`
    defaults to now and is written in UTC. No results give all zeros.
    """
    total = len(results)
    successful = [r for r in results if r.extraction_success]

    precision, recall, f1 = micro_prf(
        sum(r.true_positives for r in results),
        sum(r.false_positives for r in results),
        sum(r.false_negatives for r in results),
    )
    count_precision, count_recall, count_f1 = micro_prf(
        sum(r.count_true_positives for r in results),
        sum(r.count_false_positives for r in results),
        sum(r.count_false_negatives for r in results),
    )
    facts_total = sum(r.facts_total for r in results)

    return AggregatedMetrics(
        model_name=model_name,
        total_documents=total,
        successful_extractions=len(successful),
        extraction_accuracy=_percent(len(successful), total),
        issue_precision=precision,
        issue_recall=recall,
        issue_f1_score=f1,
        json_validity_rate=_percent(sum(1 for r in results if r.json_valid), total),
        avg_input_tokens=_mean_reported(r.input_tokens for r in results),
        avg_output_tokens=_mean_reported(r.output_tokens for r in results),
        avg_total_tokens=_mean_reported(r.total_tokens for r in results),
        avg_extraction_latency_ms=_mean([r.extraction_latency_ms for r in successful]),
        avg_pipeline_latency_ms=_mean([r.pipeline_latency_ms for r in successful]),
        generated_at=format_generated_at(generated_at),
        individual_results=list(results),
        error_count=total - len(successful),
        total_issues_detected=sum(r.issues_detected for r in results),
        total_issues_expected=sum(r.issues_expected for r in results),
        total_input_tokens=sum(r.input_tokens or 0 for r in results),
        total_output_tokens=sum(r.output_tokens or 0 for r in results),
        total_cost_usd=sum(r.cost_usd for r in results),
        count_precision=count_precision,
        count_recall=count_recall,
        count_f1_score=count_f1,
        facts_accuracy=_percent(sum(r.facts_correct for r in results), facts_total),
        cached_count=sum(1 for r in results if r.cached),
    )


def micro_prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from summed counts; 0 wherever a denominator is 0."""
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def format_generated_at(when: datetime | None = None) -> str:
    """`YYYY-MM-DD HH:MM:SS` in UTC (a naive datetime is taken to be UTC already).

    The original wrote local time in this format; benchq writes UTC so runs
    from machines in different zones sort and compare correctly.
    """
    when = when or datetime.now(UTC)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _percent(part: int, whole: int) -> float:
    return part / whole * 100 if whole > 0 else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _mean_reported(values: Iterable[int | None]) -> float | None:
    # The original always wrote 0.0 here because no provider reported tokens;
    # None says "not reported" instead of claiming a free model.
    reported = [v for v in values if v is not None]
    return sum(reported) / len(reported) if reported else None
