"""Records the results store holds, beside the case results of `scoring.schema`."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from benchq.regression.original import DEFAULT_RULE, RegressionRule, describe_rule
from benchq.scoring.limits import Label, Line, Text


class RunStatus(StrEnum):
    """Where a run is in its life."""

    queued = "queued"
    done = "done"
    failed = "failed"


class RunModel(BaseModel):
    """What one model of a run is: the configuration its results belong to."""

    model_version: str
    model_id: str
    """The provider's own model id (`gpt-4o-mini`)."""
    provider: str
    prompt_digest: str | None = None
    """Digest of the prompt text; None for models that take no prompt (the baseline)."""


class RunRecord(BaseModel):
    """One benchmark run: a suite against one or more models."""

    run_id: str
    suite: str
    """The suite's name (its folder or file name)."""
    models: list[str]
    cases_per_model: int
    created_at: str
    """ISO 8601 UTC."""
    status: RunStatus = RunStatus.queued
    dataset_version: str = "benchmark-set-v1"
    prompt_version: str = "v1"
    environment: str = "local"
    commit_sha: str | None = None
    branch_name: str | None = None
    triggered_by: str | None = None
    dataset_digest: str | None = None
    """SHA-256 of the suite's cases and ground truth, whatever its label says."""
    suite_path: str | None = None
    """Where the producer read the suite (`benchq resume` reads it there again)."""
    repeats: int = 1
    """Times each (model, case) runs (`--repeat`): a model expects cases x repeats results."""
    model_info: dict[str, RunModel] = Field(default_factory=dict)
    """Per model name: version, provider model id and prompt digest."""
    error: str | None = None
    """Why the run failed (the first error that decided it); None otherwise."""


class RunModelSummary(BaseModel):
    """What the chord callback stored for one (run, model) once all its cases were in."""

    run_id: str
    model_name: str
    aggregated: dict[str, object]
    """The full `AggregatedMetrics` dump (original fields and additions)."""
    monitoring: dict[str, object]
    """The `MonitoringRecord` dump that was published."""
    finished_at: str
    snapshot_version: int | None = None
    """The snapshot this run became, once published (versioned store)."""
    status: Literal["aggregated", "published", "failed"] = "published"
    """Where the model's chain is: `aggregated` (not yet published), `published`,
    or `failed` (too many of its cases failed; nothing is published)."""
    error: str | None = None
    """For a failed model: how many cases failed, and the first error."""
    verdict: dict[str, Any] | None = None
    """The regression verdict of the published snapshot (`RegressionVerdict` dump)."""

    @property
    def final(self) -> bool:
        """True once the model's chain is over: failed, or published with its verdict."""
        return self.status == "failed" or (self.status == "published" and self.verdict is not None)


class RunProgress(BaseModel):
    """How far a run has got, per model."""

    run_id: str
    status: RunStatus
    expected: dict[str, int] = Field(default_factory=dict)
    """Cases per model that were enqueued."""
    done: dict[str, int] = Field(default_factory=dict)
    """Case results stored per model."""
    finished_models: list[str] = Field(default_factory=list)
    """Models with a summary: published, or failed (see `error`)."""
    failed_models: list[str] = Field(default_factory=list)
    """Models whose summary says failed (too many failed cases): nothing published."""
    error: str | None = None
    """Why the run failed, once it has."""


# --- versioned snapshots (the original Supabase schema) ---------------------------

#: Where results may come from; the original's push script accepted exactly these.
Environment = Literal["github-actions", "local", "staging", "production"]
ENVIRONMENTS: tuple[str, ...] = ("github-actions", "local", "staging", "production")


class PushMetadata(BaseModel):
    """Who and what produced a monitoring record: the push script's flags.

    Every text is bounded and free of control characters (`scoring.limits`):
    these values land in the store and on the dashboard as they are.
    """

    model_config = ConfigDict(extra="forbid")

    environment: Environment
    commit_sha: Annotated[str, Label(64)]
    """The commit the benchmark ran on; required, so every figure traces to code."""
    branch_name: Annotated[str, Line(255)] | None = None
    run_id: Annotated[str, Line(128)] | None = None
    """The CI run that pushed (e.g. the GitHub Actions run id), not benchq's run id."""
    triggered_by: Annotated[str, Line(128)] | None = None
    tags: list[Annotated[str, Label(64)]] = Field(default_factory=list, max_length=32)
    notes: Annotated[str, Text(4000)] | None = None
    duration_seconds: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False)
    """The benchmark's execution time (the original's `--duration`); wins over the record's."""


class SnapshotConfig(BaseModel):
    """The configuration a snapshot series belongs to: versions number per configuration."""

    model_config = ConfigDict(frozen=True)

    model_version: str
    dataset_version: str = "benchmark-set-v1"
    prompt_version: str = "v1"
    environment: Environment = "local"


class Snapshot(BaseModel):
    """One row of `benchmark_snapshots`: a published, versioned result of a configuration."""

    id: UUID
    """A UUID on every backend, as in the original schema (see docs/architecture.md)."""
    snapshot_version: int
    created_at: datetime
    model_version: str
    dataset_version: str
    prompt_version: str
    environment: str
    transaction_id: UUID
    commit_sha: str
    metrics: dict[str, Any]
    """The monitoring record's `metrics` object, as published."""
    precision_score: float | None = None
    recall_score: float | None = None
    f1_score: float | None = None
    latency_ms: float | None = None
    cost_per_analysis: float | None = None
    is_current: bool = False
    """Exactly one snapshot per configuration is current (the newest, or a checked-out one)."""
    is_baseline: bool = False
    """At most one per configuration: what regression checks compare against."""
    is_active: bool = True
    benchq_run_id: str | None = None
    """The benchq run whose case results back this snapshot, when published by a run."""
    model_id: str | None = None
    """The provider's own model id behind `model_version`, when known."""
    prompt_digest: str | None = None
    """Digest of the prompt text behind `prompt_version`, when known."""

    @property
    def config(self) -> SnapshotConfig:
        """The configuration this snapshot belongs to."""
        return SnapshotConfig(
            model_version=self.model_version,
            dataset_version=self.dataset_version,
            prompt_version=self.prompt_version,
            environment=self.environment,
        )


class LatestBenchmark(Snapshot):
    """A row of the `latest_benchmarks` view: a current snapshot and its upload."""

    model_provider: str | None = None
    branch_name: str | None = None
    run_id: str | None = None
    """The CI run that pushed it (the transaction's `run_id`)."""
    triggered_by: str | None = None
    dataset_size: int | None = None


class ComparisonRow(BaseModel):
    """One metric of two snapshots side by side."""

    metric: str
    a: float | None
    b: float | None
    delta: float | None
    """b - a; None when either side lacks the metric."""
    pct_change: float | None
    """100 * delta / a; None when a is 0 or missing."""


class RegressionCheck(BaseModel):
    """One metric of the current snapshot against the baseline."""

    metric: str
    baseline: float | None
    current: float | None
    delta: float | None
    pct_change: float | None
    regressed: bool


class RegressionVerdict(BaseModel):
    """The outcome of a regression check of one configuration."""

    status: Literal["ok", "regression", "no_baseline", "no_current"]
    regressed: bool
    threshold: float
    """Largest tolerated drop: absolute (rules `original`, `absolute`) or a fraction
    of the baseline value (rule `relative`)."""
    rule: RegressionRule = DEFAULT_RULE
    """The rule that judged (`benchq.regression.original`); `original` by default."""
    current_version: int | None = None
    baseline_version: int | None = None
    checks: list[RegressionCheck] = Field(default_factory=list)

    def rule_text(self) -> str:
        """The rule in words, e.g. `original rule: F1 drop > 0.05`."""
        return describe_rule(self.rule, self.threshold)


class SnapshotFilter(BaseModel):
    """What the dashboard asks `list_snapshots` for; every unset field matches all."""

    model_version: str | None = None
    dataset_version: str | None = None
    prompt_version: str | None = None
    environment: str | None = None
    current_only: bool = False
    include_inactive: bool = False
    limit: int = Field(default=1000, ge=1, le=100_000)


class TrendPoint(BaseModel):
    """One row of the daily-trends view: a configuration's averages over one day."""

    day: date
    model_version: str
    dataset_version: str
    prompt_version: str
    environment: str
    snapshots: int
    avg_precision: float | None
    avg_recall: float | None
    avg_f1: float | None
    avg_latency_ms: float | None
    avg_cost: float | None
