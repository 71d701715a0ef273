"""The results store interface. Each backend is one module beside this one.

Every write is idempotent on its natural key, because Celery delivers at
least once: a redelivered job re-writes the same row, never a second one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from benchq.errors import NotFound
from benchq.scoring.schema import CaseResult, MonitoringRecord
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


class ResultsStore(ABC):
    """Where runs, case results and run summaries are kept."""

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

    @abstractmethod
    def count_case_results(self, run_id: str, model_name: str) -> int:
        """How many distinct cases of (run, model) have a stored result."""

    @abstractmethod
    def save_run_summary(self, summary: RunModelSummary) -> None:
        """Store the aggregate of one (run, model); replaces an earlier one."""

    @abstractmethod
    def run_summaries(self, run_id: str) -> list[RunModelSummary]:
        """The summaries stored so far for a run."""

    @abstractmethod
    def set_run_status(self, run_id: str, status: str) -> None:
        """Mark a run done or failed."""

    def progress(self, run_id: str) -> RunProgress:
        """How many case results are stored per model, and which models finished."""
        run = self.get_run(run_id)
        done = {m: self.count_case_results(run_id, m) for m in run.models}
        finished = [s.model_name for s in self.run_summaries(run_id)]
        return RunProgress(
            run_id=run_id,
            status=run.status,
            expected={m: run.cases_per_model for m in run.models},
            done=done,
            finished_models=finished,
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
        self, config: SnapshotConfig, threshold: float = 0.05
    ) -> RegressionVerdict:
        """The current snapshot against the baseline on precision, recall and F1.

        A metric regresses when it fell by more than `threshold` times its
        baseline value (0.05: more than 5 % below the baseline).
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

    def close(self) -> None:  # noqa: B027 - backends without connections need nothing
        """Release connections."""


def _describe(config: SnapshotConfig) -> str:
    return (
        f"{config.model_version}/{config.dataset_version}/"
        f"{config.prompt_version}/{config.environment}"
    )
