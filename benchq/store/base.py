"""The results store interface. Each backend is one module beside this one.

Every write is idempotent on its natural key, because Celery delivers at
least once: a redelivered job re-writes the same row, never a second one.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator

from benchq.errors import NotFound
from benchq.regression.original import DEFAULT_RULE, DEFAULT_THRESHOLD, RegressionRule
from benchq.scoring.schema import CaseResult, MonitoringRecord
from benchq.store.aggregates import (
    CaseChange,
    CaseDocument,
    ConfigSummary,
    DailyMetrics,
    DashboardFilter,
    ModelStats,
    ModelUsage,
    diff_cases,
)
from benchq.store.explorer import ExplorerReads
from benchq.store.schema import (
    ComparisonRow,
    LatestBenchmark,
    PushMetadata,
    RegressionVerdict,
    RunModelSummary,
    RunProgress,
    RunRecord,
    Snapshot,
    SnapshotConfig,
    SnapshotFilter,
    TrendPoint,
)


class ResultsStore(ExplorerReads, ABC):
    """Where runs, case results and run summaries are kept (and the explorer's reads)."""

    @abstractmethod
    def create_run(self, run: RunRecord) -> None:
        """Record a new run; re-creating the same run id is a no-op."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; raises `NotFound`."""

    @abstractmethod
    def save_case_results(self, results: Iterable[CaseResult]) -> None:
        """Insert or replace case results keyed by (run_id, model_name, document_name)."""

    def save_case_result(self, result: CaseResult) -> None:
        """Insert or replace one case result."""
        self.save_case_results([result])

    @abstractmethod
    def case_results(self, run_id: str, model_name: str) -> list[CaseResult]:
        """All stored case results of one (run, model), ordered by case id."""

    def iter_case_results(
        self, run_id: str, model_name: str, *, page_size: int = 1000
    ) -> Iterator[list[CaseResult]]:
        """The case results of one (run, model) in pages, ordered by case id.

        What reads a whole run (the aggregate) holds one page at a time, not
        100,000 results. This default reads them all at once; backends that
        can page override it.
        """
        yield self.case_results(run_id, model_name)

    @abstractmethod
    def count_case_results(self, run_id: str, model_name: str) -> int:
        """How many distinct cases of (run, model) have a stored result."""

    @abstractmethod
    def stored_case_ids(self, run_id: str, model_name: str, among: Collection[str]) -> set[str]:
        """Which of the case ids `among` already have a stored result for (run, model).

        A job delivered again asks this for its own cases only, so the answer
        stays as small as a job however large the run.
        """

    @abstractmethod
    def save_run_summary(self, summary: RunModelSummary) -> None:
        """Store the aggregate of one (run, model); replaces an earlier one."""

    @abstractmethod
    def run_summaries(self, run_id: str) -> list[RunModelSummary]:
        """The summaries stored so far for a run."""

    @abstractmethod
    def set_run_status(self, run_id: str, status: str, error: str | None = None) -> None:
        """Mark a run done or failed; `error` says why, and the first one given is kept."""

    @abstractmethod
    def reopen_run(self, run_id: str) -> None:
        """Make a run queued again (`benchq resume`): its error and notification claim go.

        Every stored result, summary and snapshot of the run stays as it is.
        """

    @abstractmethod
    def claim_notification(self, run_id: str) -> bool:
        """Claim the sending of a run's notification: True for exactly one caller per run."""

    @abstractmethod
    def release_notification(self, run_id: str) -> None:
        """Undo a claim whose notification could not be delivered, so it is tried again."""

    def progress(self, run_id: str) -> RunProgress:
        """How many case results are stored per model, and which models finished."""
        run = self.get_run(run_id)
        done = {m: self.count_case_results(run_id, m) for m in run.models}
        summaries = self.run_summaries(run_id)
        finished = [s.model_name for s in summaries if s.final]
        return RunProgress(
            run_id=run_id,
            status=run.status,
            expected={m: run.cases_per_model * run.repeats for m in run.models},
            done=done,
            finished_models=finished,
            failed_models=[s.model_name for s in summaries if s.status == "failed"],
            error=run.error,
        )

    # --- versioned snapshots ---------------------------------------------------

    @abstractmethod
    def publish(
        self, record: MonitoringRecord, meta: PushMetadata, *, run_id: str | None = None
    ) -> Snapshot:
        """Append a transaction and a snapshot of the record's configuration.

        The snapshot gets version MAX+1 of its configuration (model, dataset,
        prompt, environment) and becomes its only current one, atomically,
        also when many workers publish the same configuration at once.
        `run_id` is benchq's run behind the record (its case results), if any.
        """

    @abstractmethod
    def latest_benchmarks(self) -> list[LatestBenchmark]:
        """The current, active snapshot of every configuration."""

    @abstractmethod
    def performance_trends(self, days: int = 30) -> list[TrendPoint]:
        """Daily averages per configuration over the last `days` UTC days, today included."""

    @abstractmethod
    def snapshot_history(
        self,
        model_version: str,
        dataset_version: str = "benchmark-set-v1",
        prompt_version: str = "v1",
        environment: str = "local",
    ) -> list[Snapshot]:
        """Every snapshot of one configuration, newest version first."""

    @abstractmethod
    def checkout(self, config: SnapshotConfig, version: int) -> Snapshot:
        """Make `version` the configuration's current snapshot; missing: `NotFound`, no change."""

    @abstractmethod
    def compare(self, config: SnapshotConfig, a: int, b: int) -> list[ComparisonRow]:
        """Every numeric metric of versions `a` and `b`; a missing version: `NotFound`."""

    @abstractmethod
    def set_baseline(self, config: SnapshotConfig, version: int) -> Snapshot:
        """Make `version` the configuration's only baseline; missing: `NotFound`, no change."""

    @abstractmethod
    def regression_check(
        self,
        config: SnapshotConfig,
        threshold: float = DEFAULT_THRESHOLD,
        rule: RegressionRule = DEFAULT_RULE,
    ) -> RegressionVerdict:
        """The current snapshot against the baseline.

        The default rule is the original's: a regression when the baseline's
        F1 minus the current F1 is more than `threshold` (0.05), on the scores
        at four decimal places (exactly 0.05 is not more). `absolute` and
        `relative` judge precision, recall and F1 alike
        (`benchq.regression.original`). The verdict names its rule.
        """

    @abstractmethod
    def list_snapshots(self, filters: SnapshotFilter | None = None) -> list[Snapshot]:
        """Snapshots matching `filters`, newest first (for the dashboard)."""

    def get_snapshot(self, config: SnapshotConfig, version: int) -> Snapshot:
        """One version of a configuration; raises `NotFound`."""
        for snap in self.snapshot_history(
            config.model_version, config.dataset_version, config.prompt_version, config.environment
        ):
            if snap.snapshot_version == version:
                return snap
        raise NotFound(f"no snapshot version {version} of {_describe(config)}")

    # --- dashboard aggregates (computed in the database) --------------------------

    @abstractmethod
    def configurations(self, environment: str | None = None) -> list[ConfigSummary]:
        """Every configuration with active snapshots: counts, current and baseline figures."""

    @abstractmethod
    def daily_metrics(
        self, filters: DashboardFilter, *, per_model: bool = False
    ) -> list[DailyMetrics]:
        """Per UTC day (and per model if asked): snapshot count and F1 mean, std, min, max."""

    @abstractmethod
    def model_stats(self, filters: DashboardFilter) -> list[ModelStats]:
        """Per model over the filter: snapshot count and F1 mean, std, min, max, means."""

    @abstractmethod
    def model_usage(self, filters: DashboardFilter) -> list[ModelUsage]:
        """Tokens and cost of the case results behind each current snapshot of the filter.

        Only current snapshots: a configuration's cost is what its current
        version costs; `filters.days` is therefore not applied.
        """

    # --- the documents behind case results -------------------------------------------

    @abstractmethod
    def save_case_documents(self, run_id: str, documents: Iterable[CaseDocument]) -> None:
        """Insert or replace the documents a run showed its models, keyed by (run, case)."""

    @abstractmethod
    def case_documents(self, run_id: str) -> dict[str, CaseDocument]:
        """The documents stored for a run, by case id (empty when none were stored)."""

    # --- case-level comparison of snapshots --------------------------------------------

    def snapshot_model_name(self, snapshot: Snapshot) -> str | None:
        """The model name the case results of a snapshot's run are stored under.

        Snapshots name a model version (`openai-v1.0`); case results the
        registry name (`openai`). The run's summary records which model
        published which version; a run without summaries falls back to its
        model list, then to the version itself. None: no run behind it.
        """
        run_id = snapshot.benchq_run_id
        if not run_id:
            return None
        for summary in self.run_summaries(run_id):
            if summary.monitoring.get("model_version") == snapshot.model_version:
                return summary.model_name
        try:
            models = self.get_run(run_id).models
        except NotFound:
            models = []
        for name in models:
            if snapshot.model_version in (name, f"{name}-v1.0"):
                return name
        return snapshot.model_version

    def snapshot_cases(self, config: SnapshotConfig, version: int) -> list[CaseResult]:
        """The case results behind one snapshot; empty when it was pushed without a run."""
        snapshot = self.get_snapshot(config, version)
        model = self.snapshot_model_name(snapshot)
        if model is None or snapshot.benchq_run_id is None:
            return []
        return self.case_results(snapshot.benchq_run_id, model)

    def case_diff(self, config: SnapshotConfig, a: int, b: int) -> list[CaseChange]:
        """Cases whose outcome changed from version `a` to `b` (issues newly missed or found)."""
        return diff_cases(self.snapshot_cases(config, a), self.snapshot_cases(config, b))

    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the store answers a trivial query now."""
        with contextlib.suppress(NotFound):
            self.get_run("-")

    def close(self) -> None:
        """Release connections."""


def _describe(config: SnapshotConfig) -> str:
    return (
        f"{config.model_version}/{config.dataset_version}/"
        f"{config.prompt_version}/{config.environment}"
    )
