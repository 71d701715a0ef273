"""The producer's side of a run: plan it, enqueue it, wait for it, report it.

`benchq run` composes these with the embedded runtime (`benchq.cli_run`);
`benchq enqueue` and the scheduler use them on a shared broker. Nothing
here imports the workers or the embedded runtime: what crosses the queue is
`benchq.jobs`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchq.config.settings import Settings
from benchq.errors import ConfigError, RunFailed
from benchq.jobs import wakeup
from benchq.jobs.broker import broker_client
from benchq.jobs.celery_app import make_app
from benchq.jobs.liveness import run_has_jobs
from benchq.producers.enqueue import enqueue_run
from benchq.producers.models import resolve_models
from benchq.producers.plan import ModelPlan, RunPlan, parse_models, plan_run
from benchq.producers.preflight import check_broker
from benchq.producers.provenance import detect_provenance
from benchq.producers.wait import wait_for_run
from benchq.scoring.schema import AggregatedMetrics
from benchq.store.base import ResultsStore
from benchq.store.factory import open_target, resolve_store_target
from benchq.store.run_files import RunResults, run_results, write_run_files
from benchq.store.schema import RunProgress
from benchq.store.verdicts import SnapshotVerdict


class RunOutcome(BaseModel):
    """What a finished run produced, per model."""

    run_id: str
    aggregates: list[AggregatedMetrics]
    """The published models' aggregates, in the order the run named them."""
    verdicts: dict[str, SnapshotVerdict]
    """Regression verdict of each published model's configuration after this run."""
    failures: dict[str, str] = Field(default_factory=dict)
    """Models that failed (too many failed cases): model name -> why; nothing was published."""
    files: list[Path] = Field(default_factory=list)
    """The result files written for the run."""

    @property
    def regressed(self) -> bool:
        """True when any model regressed against its baseline."""
        return any(v.regressed for v in self.verdicts.values())

    @property
    def exit_code(self) -> int:
        """What `benchq run` and `enqueue --wait` exit with: 1 failed, 3 regressed, else 0."""
        if self.failures:
            return 1
        return 3 if self.regressed else 0


def load_plan(
    settings: Settings,
    *,
    suite_path: Path | None,
    models: str,
    run_id: str | None,
    use_cache: bool = True,
    regression_threshold: float = 0.05,
    repeats: int = 1,
    resolved: list[ModelPlan] | None = None,
) -> RunPlan:
    """Load and validate everything a run needs; raises before anything is enqueued.

    `resolved`: the models already resolved from `models` (`resolve_models`).
    """
    from benchq.cases.suite import load_suite, sample_suite_path

    if resolved is None:
        resolved = resolve_models(parse_models(models), settings)
    path = (suite_path or sample_suite_path()).resolve()
    suite = load_suite(path, max_input_bytes=settings.max_input_bytes)
    if suite.skipped:
        # One line a run, not one per file: the loader has logged each of them.
        print(
            f"warning: {len(suite.skipped)} input(s) without ground truth skipped", file=sys.stderr
        )
    return plan_run(
        suite,
        resolved,
        run_id=run_id,
        dataset_version=settings.dataset_version,
        prompt_version=settings.prompt_version,
        environment=settings.environment,
        provenance=detect_provenance(),
        use_cache=use_cache,
        batch_size=settings.batch_size,
        max_error_rate=settings.max_error_rate,
        regression_threshold=regression_threshold,
        suite_path=str(path),
        alpha=settings.verdict_alpha,
        repeats=repeats,
    )


def open_checked_store(settings: Settings) -> tuple[ResultsStore, str]:
    """The store and its identity, once it has answered; `StoreUnavailable` (exit 1) otherwise."""
    target = resolve_store_target(settings)
    store = open_target(target)
    try:
        store.ping()
    except BaseException:
        store.close()
        raise
    return store, target.identity


def enqueue_only(
    settings: Settings,
    *,
    suite_path: Path | None,
    models: str,
    run_id: str | None,
    use_cache: bool = True,
    regression_threshold: float = 0.05,
    repeats: int = 1,
) -> RunPlan:
    """Enqueue a run on the configured broker; returns its plan without waiting."""
    if not settings.broker_url:
        raise ConfigError(
            "BENCHQ_BROKER_URL is not set: `benchq enqueue` hands jobs to running workers; "
            "use `benchq run` to run on this machine alone"
        )
    plan = load_plan(
        settings,
        suite_path=suite_path,
        models=models,
        run_id=run_id,
        use_cache=use_cache,
        regression_threshold=regression_threshold,
        repeats=repeats,
    )
    # Both must answer before the run is recorded: nothing is left behind otherwise.
    store, identity = open_checked_store(settings)
    try:
        check_broker(settings.broker_url)
        enqueue_run(make_app(settings), plan, store, store_identity=identity)
    finally:
        store.close()
    return plan


def wait_and_collect(
    settings: Settings,
    plan: RunPlan,
    *,
    timeout: float | None,
    console: Console,
) -> RunOutcome:
    """`benchq enqueue --wait`: wait for remote workers to finish the run, then collect.

    A run that is lost on the way (its jobs vanished from the broker) is
    marked failed with that reason.
    """
    store = open_target(resolve_store_target(settings))
    try:
        try:
            wait_with_bar(store, plan, None, timeout, console, broker_url=settings.broker_url)
        except RunFailed as exc:
            store.set_run_status(plan.run_id, "failed", error=str(exc))
            raise
        return collect_outcome(store, plan.run_id, settings.results_dir)
    finally:
        store.close()


def wait_with_bar(
    store: ResultsStore,
    plan: RunPlan,
    workers_alive: Callable[[], bool] | None,
    timeout: float | None,
    console: Console,
    *,
    broker_url: str | None = None,
) -> RunProgress:
    """Wait for the run (`wait_for_run`) with a progress bar of stored cases.

    With `broker_url`, a run that stops moving is checked for jobs left on
    the broker, and reported lost when none is (`RunFailed`).
    """
    has_jobs = None
    pause: Callable[[float], object] = time.sleep
    if broker_url:
        client = broker_client(broker_url)
        kinds = sorted({m.provider for m in plan.models})

        def has_jobs() -> bool:
            return run_has_jobs(client, plan.run_id, kinds)

        def pause(seconds: float) -> object:
            # cut short when a worker says a model of the run is over
            return wakeup.wait(client, plan.run_id, seconds)

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("cases", total=plan.case_count)

        def update(p: RunProgress) -> None:
            bar.update(task, completed=sum(p.done.values()))

        return wait_for_run(
            store,
            plan.run_id,
            on_progress=update,
            workers_alive=workers_alive,
            timeout=timeout,
            has_jobs=has_jobs,
            pause=pause,
        )


def collect_outcome(store: ResultsStore, run_id: str, results_dir: Path) -> RunOutcome:
    """Write the run's result files from the store and gather its verdicts.

    The verdicts are the ones the run's own verdict steps stored: the same a
    producer that did not wait would find.
    """
    results = run_results(store, run_id)
    return _outcome(results, write_run_files(results, results_dir))


def _outcome(results: RunResults, files: list[Path]) -> RunOutcome:
    return RunOutcome(
        run_id=results.run.run_id,
        aggregates=[m.aggregated for m in results.published],
        verdicts={m.model_name: m.verdict for m in results.published if m.verdict is not None},
        failures=results.failures,
        files=files,
    )


def print_worker_logs(log_dir: Path | None, console: Console) -> None:
    """The last non-job lines of each worker log: what explains a failed run."""
    if log_dir is None or not log_dir.exists():
        return
    for log in sorted(log_dir.glob("*.log")):
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        # Job lines are JSON; Celery's own warnings and tracebacks are what explain a failure.
        tail = [ln for ln in lines if not ln.startswith("{")][-30:]
        if tail:
            console.print(f"--- {log} (last lines) ---", markup=False)
            console.print("\n".join(tail), markup=False)
