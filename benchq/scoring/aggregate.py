"""Aggregate the case results of one (run, model) into the original metrics file.

The original's figures are reproduced exactly (micro-averages over documents,
latency over successful cases only); nothing is rounded here, display code
rounds. benchq's additions (totals, cost, occurrence-aware metrics, facts
accuracy) are computed beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from benchq.scoring.schema import AggregatedMetrics, CaseResult

__all__ = ["Totals", "aggregate", "format_generated_at", "micro_prf"]


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
    totals = Totals()
    for result in results:
        totals.add(result)
    return totals.metrics(model_name, generated_at, individual_results=list(results))


class Totals:
    """The sums `aggregate` is made of, gathered one case result at a time.

    A run of 100,000 cases is aggregated from pages of results without
    holding them all: these sums (a few dozen numbers) are all the metrics
    need. Adding the results in the same order as `aggregate` gives the very
    same figures, floating-point sums included.
    """

    def __init__(self) -> None:
        self.total = 0
        self.successful = 0
        self.tp = self.fp = self.fn = 0
        self.count_tp = self.count_fp = self.count_fn = 0
        self.facts_correct = self.facts_total = 0
        self.json_valid = 0
        self.tokens: dict[str, list[int]] = {"in": [0, 0], "out": [0, 0], "all": [0, 0]}
        """Per count: [sum of the reported values, how many cases reported it]."""
        self.extraction_ms = 0.0
        self.pipeline_ms = 0.0
        self.issues_detected = self.issues_expected = 0
        self.cost_usd = 0.0
        self.cached = 0
        self.errors = 0
        self.first_error: tuple[str, str] | None = None
        """(case, message) of the first failed case added."""
        self.model_ids: set[str] = set()
        self.prompt_digests: set[str] = set()

    def add(self, r: CaseResult) -> None:
        """Count one case result in."""
        self.total += 1
        if r.extraction_success:
            self.successful += 1
            self.extraction_ms += r.extraction_latency_ms
            self.pipeline_ms += r.pipeline_latency_ms
        self.tp += r.true_positives
        self.fp += r.false_positives
        self.fn += r.false_negatives
        self.count_tp += r.count_true_positives
        self.count_fp += r.count_false_positives
        self.count_fn += r.count_false_negatives
        self.facts_correct += r.facts_correct
        self.facts_total += r.facts_total
        self.json_valid += r.json_valid
        for key, value in (("in", r.input_tokens), ("out", r.output_tokens)):
            if value is not None:
                self.tokens[key][0] += value
                self.tokens[key][1] += 1
        if r.total_tokens is not None:
            self.tokens["all"][0] += r.total_tokens
            self.tokens["all"][1] += 1
        self.issues_detected += r.issues_detected
        self.issues_expected += r.issues_expected
        self.cost_usd += r.cost_usd
        self.cached += r.cached
        if r.error_message:
            self.errors += 1
            if self.first_error is None:
                self.first_error = (r.document_name, r.error_message)
        if r.model_id:
            self.model_ids.add(r.model_id)
        if r.prompt_digest:
            self.prompt_digests.add(r.prompt_digest)

    def metrics(
        self,
        model_name: str,
        generated_at: datetime | None = None,
        individual_results: list[CaseResult] | None = None,
    ) -> AggregatedMetrics:
        """The aggregate of everything added (`individual_results` as given, default none)."""
        precision, recall, f1 = micro_prf(self.tp, self.fp, self.fn)
        count_precision, count_recall, count_f1 = micro_prf(
            self.count_tp, self.count_fp, self.count_fn
        )
        return AggregatedMetrics(
            model_name=model_name,
            total_documents=self.total,
            successful_extractions=self.successful,
            extraction_accuracy=_percent(self.successful, self.total),
            issue_precision=precision,
            issue_recall=recall,
            issue_f1_score=f1,
            json_validity_rate=_percent(self.json_valid, self.total),
            avg_input_tokens=self._mean_reported("in"),
            avg_output_tokens=self._mean_reported("out"),
            avg_total_tokens=self._mean_reported("all"),
            avg_extraction_latency_ms=self._per_success(self.extraction_ms),
            avg_pipeline_latency_ms=self._per_success(self.pipeline_ms),
            generated_at=format_generated_at(generated_at),
            individual_results=individual_results or [],
            error_count=self.total - self.successful,
            total_issues_detected=self.issues_detected,
            total_issues_expected=self.issues_expected,
            total_input_tokens=self.tokens["in"][0],
            total_output_tokens=self.tokens["out"][0],
            total_cost_usd=self.cost_usd,
            count_precision=count_precision,
            count_recall=count_recall,
            count_f1_score=count_f1,
            facts_accuracy=_percent(self.facts_correct, self.facts_total),
            cached_count=self.cached,
        )

    def _per_success(self, total: float) -> float:
        return total / self.successful if self.successful else 0.0

    def _mean_reported(self, key: str) -> float | None:
        # The original always wrote 0.0 here because no provider reported tokens;
        # None says "not reported" instead of claiming a free model.
        value, count = self.tokens[key]
        return value / count if count else None


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
