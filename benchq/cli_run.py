"""`benchq run`: the producer and the embedded runtime, composed.

The producer (`benchq.producers`) and the embedded runtime (`benchq.local`)
never import each other; this module, on the command's side, starts the
runtime the settings call for and drives the producer through it.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

from rich.console import Console

from benchq.config.settings import Settings
from benchq.errors import RunFailed
from benchq.jobs.celery_app import make_app
from benchq.local.runtime import runtime
from benchq.producers.enqueue import enqueue_run
from benchq.producers.models import run_queues
from benchq.producers.preflight import check_broker
from benchq.producers.runner import (
    RunOutcome,
    collect_outcome,
    load_plan,
    open_checked_store,
    print_summary,
    print_worker_logs,
    wait_with_bar,
)
from benchq.store.factory import resolve_store_target


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
    """Enqueue a run, wait for it with a progress bar, write its files, print a summary.

    With no broker configured, a private Redis and worker processes are
    started for the run and stopped afterwards; they get the store the
    producer resolved, as it is.
    """
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    plan = load_plan(
        settings,
        suite_path=suite_path,
        models=models,
        run_id=run_id,
        use_cache=use_cache,
        regression_threshold=regression_threshold,
    )
    # SIGTERM (from CI or a supervisor) must clean up exactly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    target = resolve_store_target(settings)
    store, identity = open_checked_store(settings)
    started = time.monotonic()
    log_dir = settings.results_dir / "logs" / plan.run_id
    try:
        if settings.broker_url:
            check_broker(settings.broker_url)
        with runtime(
            settings, target, queues=run_queues(plan), local_workers=workers, log_dir=log_dir
        ) as rt:
            try:
                enqueue_run(make_app(rt.settings), plan, store, store_identity=identity)
                console.print(
                    f"run [bold]{plan.run_id}[/]: {plan.case_count} cases enqueued"
                    f" in {plan.job_count} jobs"
                )
                wait_with_bar(store, plan, rt.workers_alive, timeout, console)
            except RunFailed as exc:
                # The run is recorded before its first job is sent, so it exists here.
                store.set_run_status(plan.run_id, "failed", error=str(exc))
                print_worker_logs(rt.log_dir, console)
                raise
            except KeyboardInterrupt:
                store.set_run_status(plan.run_id, "failed", error="interrupted (Ctrl-C or SIGTERM)")
                raise
        outcome = collect_outcome(store, plan.run_id, settings.results_dir)
    finally:
        store.close()
    print_summary(outcome, time.monotonic() - started, console)
    return outcome
