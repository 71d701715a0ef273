"""Result schemas: the original file formats, plus what benchq adds beside them.

`CaseResult.original()` and `AggregatedMetrics.original()` give exactly the
original system's fields, in its order, so its JSON files stay comparable.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

#: The fields of one `individual_results[]` entry in the original, in order.
ORIGINAL_CASE_FIELDS: tuple[str, ...] = (
    "document_name",
    "document_type",
    "extraction_success",
    "extraction_latency_ms",
    "pipeline_latency_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "issues_detected",
    "issues_expected",
    "true_positives",
    "false_positives",
    "false_negatives",
    "json_valid",
    "error_message",
)

#: The fields of `aggregated_metrics_<model>.json` in the original, in order.
ORIGINAL_AGGREGATE_FIELDS: tuple[str, ...] = (
    "model_name",
    "total_documents",
    "successful_extractions",
    "extraction_accuracy",
    "issue_precision",
    "issue_recall",
    "issue_f1_score",
    "json_validity_rate",
    "avg_input_tokens",
    "avg_output_tokens",
    "avg_total_tokens",
    "avg_extraction_latency_ms",
    "avg_pipeline_latency_ms",
    "generated_at",
    "individual_results",
)


class CaseResult(BaseModel):
    """The outcome of one (run, model, case): a scored answer or a stored failure."""

    # --- the original's fields -------------------------------------------------
    document_name: str
    """The case id (the input file's stem)."""
    document_type: str
    extraction_success: bool
    """False when the model call failed; the case still counts in the aggregate."""
    extraction_latency_ms: float = 0.0
    pipeline_latency_ms: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    issues_detected: int = 0
    issues_expected: int = 0
    """All expected issues, `should_detect` false included (original rule)."""
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    json_valid: bool = False
    error_message: str | None = None

    # --- beside the original ---------------------------------------------------
    run_id: str = ""
    model_name: str = ""
    detected_types: list[str] = Field(default_factory=list)
    """Normalised detected issue types, one entry per reported issue."""
    expected_types: list[str] = Field(default_factory=list)
    """Normalised expected types with `should_detect` true, one entry per issue."""
    count_true_positives: int = 0
    """Occurrence-aware TP: matches issues one to one, so two duplicates need two findings."""
    count_false_positives: int = 0
    count_false_negatives: int = 0
    facts_correct: int = 0
    """Extracted fact fields that match the ground truth."""
    facts_total: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    attempts: int = 0
    raw_output: str = ""
    worker: str | None = None
    finished_at: str | None = None
    """ISO 8601 UTC time the result was scored."""
    model_id: str | None = None
    """The provider's own id of the model that answered (`gpt-4o-mini`)."""
    prompt_digest: str | None = None
    """Digest of the prompt text the model was sent; None for models without one."""

    def original(self) -> dict[str, Any]:
        """The original system's fields only, in its order."""
        data = self.model_dump()
        return {name: data[name] for name in ORIGINAL_CASE_FIELDS}


class AggregatedMetrics(BaseModel):
    """Per-model aggregate of one run: the original `aggregated_metrics` file, and more."""

    model_name: str
    total_documents: int
    successful_extractions: int
    extraction_accuracy: float
    """Share of documents whose extraction succeeded, 0-100."""
    issue_precision: float
    """Micro-averaged over documents, 0-1."""
    issue_recall: float
    issue_f1_score: float
    json_validity_rate: float
    """Share of answers that were valid JSON, 0-100."""
    avg_input_tokens: float | None
    avg_output_tokens: float | None
    avg_total_tokens: float | None
    avg_extraction_latency_ms: float
    """Over successful cases only (original rule)."""
    avg_pipeline_latency_ms: float
    generated_at: str
    """`YYYY-MM-DD HH:MM:SS`, as the original wrote it."""
    individual_results: list[CaseResult]

    # --- beside the original ---------------------------------------------------
    error_count: int = 0
    total_issues_detected: int = 0
    total_issues_expected: int = 0
    total_input_tokens: int = 0
    total_output_tokens: int = 0
    total_cost_usd: float = 0.0
    count_precision: float = 0.0
    """Occurrence-aware precision (see `CaseResult.count_true_positives`)."""
    count_recall: float = 0.0
    count_f1_score: float = 0.0
    facts_accuracy: float = 0.0
    """Share of fact fields extracted correctly, 0-100."""
    cached_count: int = 0

    def original(self) -> dict[str, Any]:
        """The original file's content: its fields only, in its order."""
        data = self.model_dump(exclude={"individual_results"})
        out = {name: data[name] for name in ORIGINAL_AGGREGATE_FIELDS if name in data}
        out["individual_results"] = [r.original() for r in self.individual_results]
        return out


class MonitoringMetrics(BaseModel):
    """The `metrics` object of a monitoring record (original field names)."""

    precision: float
    recall: float
    f1: float
    latency_ms: float
    analysis_cost: float
    """Average cost of analysing one document, USD."""
    total_documents: int
    total_issues_detected: int
    total_issues_expected: int


class MonitoringRecord(BaseModel):
    """The converter's output: the unit that is published to the results store."""

    model_version: str
    model_provider: str
    dataset_version: str = "benchmark-set-v1"
    dataset_size: int
    prompt_version: str = "v1"
    metrics: MonitoringMetrics
    duration_seconds: float
    error_count: int
    success_count: int
    timestamp: str
    """ISO 8601, UTC."""
    model_id: str | None = None
    """Beside the original: the provider's own model id behind `model_version`."""
    prompt_digest: str | None = None
    """Beside the original: digest of the prompt text behind `prompt_version`."""
