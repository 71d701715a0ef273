"""Result schemas: the original file formats, plus what benchq adds beside them.

`CaseResult.original()` and `AggregatedMetrics.original()` give exactly the
original system's fields, in its order, so its JSON files stay comparable.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from benchq.scoring.limits import (
    Count,
    ExtraMetric,
    Fraction,
    Label,
    Line,
    Number,
    check_text,
)

#: Metrics a record may carry beside the named ones.
_MAX_EXTRA_METRICS = 64

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


#: A [low, high] interval, as JSON writes it (a list: strict validation reads no tuple).
Interval = Annotated[list[float], Field(min_length=2, max_length=2)]
FractionInterval = Annotated[list[Fraction], Field(min_length=2, max_length=2)]


def result_key(case_id: str, repeat: int) -> str:
    """A case result's key in the store: the case id, or `id~repeat` after the first run."""
    return case_id if repeat == 0 else f"{case_id}~{repeat}"


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
    repeat: int = Field(default=0, ge=0)
    """Which run of the case this is (`--repeat N`: 0 to N-1)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def result_key(self) -> str:
        """The case's key in the store: its id, or `id~repeat` for repeats after the first.

        `~` cannot be in a case id, so no repeat's key is another case's.
        """
        return result_key(self.document_name, self.repeat)

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
    issue_precision_ci: Interval | None = None
    """95 % bootstrap interval over cases of `issue_precision` ([low, high])."""
    issue_recall_ci: Interval | None = None
    issue_f1_ci: Interval | None = None
    repeats: int = 1
    """Times each case ran (`--repeat`); the scores pool every repeat."""
    unstable_cases: list[str] = Field(default_factory=list)
    """Cases whose outcome (TP/FP/FN) differed between repeats: a model that answers
    differently each time on them."""

    def original(self) -> dict[str, Any]:
        """The original file's content: its fields only, in its order."""
        data = self.model_dump(exclude={"individual_results"})
        out = {name: data[name] for name in ORIGINAL_AGGREGATE_FIELDS if name in data}
        out["individual_results"] = [r.original() for r in self.individual_results]
        return out


class MonitoringMetrics(BaseModel):
    """The `metrics` object of a monitoring record (original field names).

    Every field is optional, as it was for the original's push script (which
    only warned about a missing metric): what a record lacks is stored as
    unknown (null), never as zero. Metrics no field names (the original's
    sample record has `accuracy`, `true_positives`, ...) are kept as they are,
    if each is a bounded number, a boolean, null or a short text.
    """

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, ExtraMetric] = Field(init=False)

    precision: Fraction | None = None
    recall: Fraction | None = None
    f1: Fraction | None = None
    latency_ms: Annotated[float, Number(0, 1e10)] | None = None
    analysis_cost: Annotated[float, Number(0, 1e6)] | None = None
    """Average cost of analysing one document, USD."""
    total_documents: Count | None = None
    total_issues_detected: Count | None = None
    total_issues_expected: Count | None = None
    precision_ci: FractionInterval | None = None
    """Beside the original: 95 % bootstrap interval of `precision` over cases."""
    recall_ci: FractionInterval | None = None
    f1_ci: FractionInterval | None = None

    @model_validator(mode="after")
    def _bounded_extras(self) -> MonitoringMetrics:
        extra = self.__pydantic_extra__ or {}
        if len(extra) > _MAX_EXTRA_METRICS:
            raise ValueError(f"at most {_MAX_EXTRA_METRICS} metrics beside the named ones")
        for key in extra:
            try:
                check_text(key, 64, blank=False)
            except ValueError as exc:
                raise ValueError(f"metric name {key[:40]!r}: {exc}") from None
        return self


class MonitoringRecord(BaseModel):
    """The converter's output: the unit that is published to the results store.

    The original's push script required `model_version`, `dataset_version`,
    `prompt_version` and `metrics`; everything else is optional here too
    (`benchq push` checks the four are present), and a missing value is
    stored as unknown (null).
    """

    model_version: Annotated[str, Label(128)]
    model_provider: Annotated[str, Label(64)] | None = None
    dataset_version: Annotated[str, Label(128)] = "benchmark-set-v1"
    dataset_size: Count | None = None
    prompt_version: Annotated[str, Label(128)] = "v1"
    metrics: MonitoringMetrics
    duration_seconds: Annotated[float, Number(0, 1e9)] | None = None
    """As the original's converter computed it: the average pipeline latency per
    document, in seconds (see docs/migrating.md); a run's wall time when benchq
    published the record itself."""
    error_count: Count | None = None
    success_count: Count | None = None
    timestamp: Annotated[str, Line(64)] | None = None
    """ISO 8601, UTC."""

    # --- beside the original ---------------------------------------------------
    total_latency_seconds: Annotated[float, Number(0, 1e12)] | None = None
    """Sum of every case's pipeline latency, failures included: what the run cost in
    model time (the original's `duration_seconds` is a per-document average)."""
    model_id: Annotated[str, Label(256)] | None = None
    """The provider's own model id behind `model_version`."""
    prompt_digest: Annotated[str, Label(128)] | None = None
    """Digest of the prompt text behind `prompt_version`."""
