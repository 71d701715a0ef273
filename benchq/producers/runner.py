"""The producer's commands: `benchq run` (enqueue and wait) and `benchq enqueue`."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchq.config.settings import Settings
from benchq.errors import ConfigError, RunFailed
from benchq.producers.enqueue import enqueue_run
from benchq.producers.models import resolve_models, run_queues
from benchq.producers.plan import RunPlan, parse_models, plan_run
from benchq.producers.preflight import check_broker
from benchq.producers.provenance import detect_provenance
from benchq.producers.wait import wait_for_run
from benchq.scoring.schema import AggregatedMetrics
from benchq.store.base import ResultsStore
from benchq.store.factory import open_store
from benchq.store.schema import RegressionVerdict, RunProgress, SnapshotConfig


class RunOutcome(BaseModel):
    """What a finished run produced, per model."""

    run_id: str
    aggregates: list[AggregatedMetrics]
    """The published models' aggregates, in the order the run named them."""
    verdicts: dict[str, RegressionVerdict]
    """Regression verdict of each published model's configuration after this run."""
    failures: dict[str, str] = {}
    """Models that failed (too many failed cases): model name -> why; nothing was published."""

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
) -> RunPlan:
    """Load and validate everything a run needs; raises before anything is enqueued."""
    from benchq.cases.suite import load_suite, sample_suite_path

    names = parse_models(models)
    resolved = resolve_models(names, settings)
    suite = load_suite(suite_path or sample_suite_path())
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
    )


def _open_checked_store(settings: Settings) -> ResultsStore:
    """The store, once it has answered; `StoreUnavailable` (exit 1) otherwise."""
    store = open_store(settings)
    try:
        store.ping()
    except BaseException:
        store.close()
        raise
    return store


def enqueue_only(
    settings: Settings,
    *,
    suite_path: Path | None,
    models: str,
    run_id: str | None,
    use_cache: bool = True,
) -> RunPlan:
    """Enqueue a run on the configured broker; returns its plan without waiting."""
    from benchq.workers.celery_config import make_app

    if not settings.broker_url:
        raise ConfigError(
            "BENCHQ_BROKER_URL is not set: `benchq enqueue` hands jobs to running workers; "
            "use `benchq run` to run on this machine alone"
        )
    plan = load_plan(
        settings, suite_path=suite_path, models=models, run_id=run_id, use_cache=use_cache
    )
    # Both must answer before the run is recorded: nothing is left behind otherwise.
    store = _open_checked_store(settings)
    try:
        check_broker(settings.broker_url)
        enqueue_run(make_app(settings), plan, store)
    finally:
        store.close()
    return plan


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_benchmark(
    settings: Settings,
    *,
    suite_path: Path | None,
    models: str,
    run_id: str | None,
    workers: int | None,
    timeout: float | None,
    console: Console,
    use_cache: bool = True,
    regression_threshold: float = 0.05,
) -> RunOutcome:
    """Enqueue a run, wait for it with a progress bar, write its files, print a summary."""
    from benchq.local.runtime import runtime
    from benchq.workers.celery_config import make_app

    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    plan = load_plan(
        settings, suite_path=suite_path, models=models, run_id=run_id, use_cache=use_cache
    )
    # SIGTERM (from CI or a supervisor) must clean up exactly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    store = _open_checked_store(settings)
    if settings.broker_url:
        try:
            check_broker(settings.broker_url)
        except BaseException:
            store.close()
            raise
    started = time.monotonic()
    log_dir = settings.results_dir / "logs" / plan.run_id
    try:
        with runtime(
            settings, queues=run_queues(plan), local_workers=workers, log_dir=log_dir
        ) as rt:
            try:
                enqueue_run(make_app(rt.settings), plan, store)
                console.print(
                    f"run [bold]{plan.run_id}[/]: {plan.case_count} cases enqueued"
                    f" in {plan.job_count} jobs"
                )
                _wait_with_bar(store, plan, rt.workers_alive, timeout, console)
            except RunFailed as exc:
                # The run is recorded before its first job is sent, so it exists here.
                store.set_run_status(plan.run_id, "failed", error=str(exc))
                _print_worker_logs(rt.log_dir, console)
                raise
            except KeyboardInterrupt:
                store.set_run_status(plan.run_id, "failed", error="interrupted (Ctrl-C or SIGTERM)")
                raise
        outcome = collect_outcome(store, plan, settings.results_dir, regression_threshold)
    finally:
        store.close()
    print_summary(outcome, time.monotonic() - started, console)
    return outcome


def wait_and_collect(
    settings: Settings,
    plan: RunPlan,
    *,
    timeout: float | None,
    console: Console,
    regression_threshold: float = 0.05,
) -> RunOutcome:
    """`benchq enqueue --wait`: wait for remote workers to publish the run, then collect."""
    store = open_store(settings)
    try:
        _wait_with_bar(store, plan, None, timeout, console)
        return collect_outcome(store, plan, settings.results_dir, regression_threshold)
    finally:
        store.close()


def _wait_with_bar(
    store: ResultsStore,
    plan: RunPlan,
    workers_alive: Callable[[], bool] | None,
    timeout: float | None,
    console: Console,
) -> RunProgress:
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
        )


def collect_outcome(
    store: ResultsStore, plan: RunPlan, results_dir: Path, regression_threshold: float
) -> RunOutcome:
    """Write the original result files and check each model against its baseline."""
    from benchq.scoring.files import write_aggregated

    summaries = {s.model_name: s for s in store.run_summaries(plan.run_id)}
    aggregates: list[AggregatedMetrics] = []
    verdicts: dict[str, RegressionVerdict] = {}
    failures: dict[str, str] = {}
    published = [m for m in plan.models if summaries[m.name].status == "published"]
    for model in plan.models:
        summary = summaries[model.name]
        if summary.status == "failed":
            # A score made of failures is no score: no result files, no verdict.
            failures[model.name] = summary.error or "failed"
            continue
        agg = AggregatedMetrics.model_validate(summary.aggregated)
        # The last model of the run is also the original's `aggregated_metrics.json`.
        write_aggregated(agg, results_dir, latest=model is published[-1])
        aggregates.append(agg)
        config = SnapshotConfig(
            model_version=model.model_version,
            dataset_version=plan.dataset_version,
            prompt_version=plan.prompt_version,
            environment=plan.environment,
        )
        verdicts[model.name] = store.regression_check(config, regression_threshold)
    return RunOutcome(
        run_id=plan.run_id, aggregates=aggregates, verdicts=verdicts, failures=failures
    )


def _print_worker_logs(log_dir: Path | None, console: Console) -> None:
    if log_dir is None or not log_dir.exists():
        return
    for log in sorted(log_dir.glob("*.log")):
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        # Job lines are JSON; Celery's own warnings and tracebacks are what explain a failure.
        tail = [ln for ln in lines if not ln.startswith("{")][-30:]
        if tail:
            console.print(f"--- {log} (last lines) ---", markup=False)
            console.print("\n".join(tail), markup=False)


def print_summary(outcome: RunOutcome, seconds: float, console: Console) -> None:
    """The per-model summary table, and regression verdicts."""
    table = Table(title=f"run {outcome.run_id} ({seconds:.1f}s)")
    for col in (
        "model", "cases", "precision", "recall", "F1", "JSON valid", "errors",
        "latency", "tokens", "cost", "regression",
    ):  # fmt: skip
        table.add_column(col, justify="left" if col in ("model", "regression") else "right")
    for agg in outcome.aggregates:
        verdict = outcome.verdicts.get(agg.model_name)
        table.add_row(
            agg.model_name,
            str(agg.total_documents),
            f"{agg.issue_precision:.3f}",
            f"{agg.issue_recall:.3f}",
            f"{agg.issue_f1_score:.3f}",
            f"{agg.json_validity_rate:.1f}%",
            str(agg.error_count),
            f"{agg.avg_extraction_latency_ms:.1f} ms",
            "-"
            if agg.avg_total_tokens is None
            else str(agg.total_input_tokens + agg.total_output_tokens),
            f"${agg.total_cost_usd:.4f}",
            _verdict_text(verdict),
        )
    if outcome.aggregates:
        console.print(table)
    for model, error in outcome.failures.items():
        # Whole, never in a table cell: the error is what the reader needs to act on.
        console.print(f"FAILED {model}: nothing published: {error}", markup=False, soft_wrap=True)


def _verdict_text(verdict: RegressionVerdict | None) -> str:
    if verdict is None:
        return "-"
    if verdict.status == "regression":
        worst = [c.metric for c in verdict.checks if c.regressed]
        return (
            f"REGRESSED ({', '.join(worst)}) vs v{verdict.baseline_version} [{verdict.rule_text()}]"
        )
    if verdict.status == "no_baseline":
        return "no baseline set"
    return f"ok vs v{verdict.baseline_version} [{verdict.rule_text()}]"
