"""The producer's commands: `benchq run` (enqueue and wait) and `benchq enqueue`."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchq.cases.schema import Suite
from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.producers.enqueue import enqueue_run
from benchq.producers.models import all_queues, resolve_models
from benchq.producers.plan import RunPlan, parse_models, plan_run
from benchq.producers.wait import RunFailed, wait_for_run
from benchq.scoring.schema import AggregatedMetrics
from benchq.store.base import ResultsStore
from benchq.store.factory import open_store
from benchq.store.schema import RunProgress


def load_plan(
    settings: Settings, *, suite_path: Path | None, models: str, run_id: str | None
) -> RunPlan:
    """Load and validate everything a run needs; raises before anything is enqueued."""
    from benchq.cases.suite import load_suite, sample_suite_path

    names = parse_models(models)
    resolved = resolve_models(names, settings)
    suite: Suite = load_suite(suite_path or sample_suite_path())
    return plan_run(
        suite,
        resolved,
        run_id=run_id,
        dataset_version=settings.dataset_version,
        prompt_version=settings.prompt_version,
        environment=settings.environment,
    )


def enqueue_only(
    settings: Settings, *, suite_path: Path | None, models: str, run_id: str | None
) -> str:
    """Enqueue a run on the configured broker; returns its id without waiting."""
    from benchq.workers.app import make_app

    if not settings.broker_url:
        raise ConfigError(
            "BENCHQ_BROKER_URL is not set: `benchq enqueue` hands jobs to running workers; "
            "use `benchq run` to run on this machine alone"
        )
    plan = load_plan(settings, suite_path=suite_path, models=models, run_id=run_id)
    store = open_store(settings)
    try:
        return enqueue_run(make_app(settings), plan, store)
    finally:
        store.close()


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
) -> list[AggregatedMetrics]:
    """Enqueue a run, wait for it with a progress bar, write its files, print a summary."""
    from benchq.local.runtime import runtime
    from benchq.workers.app import make_app

    plan = load_plan(settings, suite_path=suite_path, models=models, run_id=run_id)
    # SIGTERM (from CI or a supervisor) must clean up exactly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    store = open_store(settings)
    started = time.monotonic()
    try:
        with runtime(settings, queues=all_queues(settings), local_workers=workers) as rt:
            app = make_app(rt.settings)
            try:
                enqueue_run(app, plan, store)
                console.print(f"run [bold]{plan.run_id}[/]: {plan.job_count} jobs enqueued")
                _wait_with_bar(store, plan, rt.workers_alive, timeout, console)
            except (RunFailed, KeyboardInterrupt):
                # The run is recorded before its first job is sent, so it exists here.
                store.set_run_status(plan.run_id, "failed")
                _print_worker_logs(rt.log_dir, console)
                raise
        results = _write_results(store, plan, settings.results_dir)
    finally:
        store.close()
    _print_summary(results, time.monotonic() - started, console)
    return results


def _wait_with_bar(
    store: ResultsStore,
    plan: RunPlan,
    workers_alive: object,
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
        task = bar.add_task("cases", total=plan.job_count)

        def update(p: RunProgress) -> None:
            bar.update(task, completed=sum(p.done.values()))

        return wait_for_run(
            store,
            plan.run_id,
            on_progress=update,
            workers_alive=workers_alive,  # type: ignore[arg-type]
            timeout=timeout,
        )


def _write_results(
    store: ResultsStore, plan: RunPlan, results_dir: Path
) -> list[AggregatedMetrics]:
    from benchq.scoring.files import write_aggregated

    summaries = {s.model_name: s for s in store.run_summaries(plan.run_id)}
    out: list[AggregatedMetrics] = []
    for model in plan.models:
        agg = AggregatedMetrics.model_validate(summaries[model.name].aggregated)
        # The last model of the run is also the original's `aggregated_metrics.json`.
        write_aggregated(agg, results_dir, latest=model is plan.models[-1])
        out.append(agg)
    return out


def _print_worker_logs(log_dir: Path | None, console: Console) -> None:
    if log_dir is None:
        return
    for log in sorted(log_dir.glob("*.log")):
        tail = log.read_text(errors="replace")[-3000:]
        if tail.strip():
            console.print(f"--- {log.name} (last lines) ---\n{tail}", markup=False)


def _print_summary(results: list[AggregatedMetrics], seconds: float, console: Console) -> None:
    table = Table(title=f"benchmark summary ({seconds:.1f}s)")
    for col in ("model", "cases", "precision", "recall", "F1", "JSON valid", "errors", "latency"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for agg in results:
        table.add_row(
            agg.model_name,
            str(agg.total_documents),
            f"{agg.issue_precision:.3f}",
            f"{agg.issue_recall:.3f}",
            f"{agg.issue_f1_score:.3f}",
            f"{agg.json_validity_rate:.1f}%",
            str(agg.error_count),
            f"{agg.avg_extraction_latency_ms:.1f} ms",
        )
    console.print(table)
