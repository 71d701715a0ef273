"""`benchq run`: the producer and the embedded runtime, composed.

The producer (`benchq.producers`) and the embedded runtime (`benchq.local`)
never import each other; this module, on the command's side, starts the
runtime the settings call for and drives the producer through it.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from celery import Celery
from rich.console import Console

from benchq import collector
from benchq.cli_summary import print_summary
from benchq.config.settings import Settings
from benchq.errors import RunFailed
from benchq.jobs.broker import broker_client
from benchq.jobs.celery_app import make_app
from benchq.jobs.ledger import forget
from benchq.local.runtime import runtime
from benchq.producers.enqueue import record_run, send_jobs, send_run_jobs
from benchq.producers.models import model_queues, resolve_models, run_queues
from benchq.producers.plan import RunPlan, check_run_id, parse_models
from benchq.producers.preflight import check_broker
from benchq.producers.resume import plan_resume
from benchq.producers.runner import (
    RunOutcome,
    collect_outcome,
    load_plan,
    open_checked_store,
    print_worker_logs,
    wait_with_bar,
)
from benchq.store.base import ResultsStore
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
    repeats: int = 1,
) -> RunOutcome:
    """Enqueue a run, wait for it with a progress bar, write its files, print a summary.

    With no broker configured, a private Redis and worker processes are
    started for the run and stopped afterwards; they get the store the
    producer resolved, as it is.
    """
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    # Refused before anything starts: unknown models, missing credentials, a bad run id.
    resolved = resolve_models(parse_models(models), settings)
    if run_id is not None:
        check_run_id(run_id)

    def prepare() -> RunPlan:
        # The suite is loaded and checked while the workers start (they import
        # Celery and the SDKs meanwhile, on the other cores).
        return load_plan(
            settings,
            suite_path=suite_path,
            models=models,
            run_id=run_id,
            use_cache=use_cache,
            regression_threshold=regression_threshold,
            repeats=repeats,
            resolved=resolved,
        )

    def send(
        app: Celery, plan: RunPlan, store: ResultsStore, identity: str, broker_url: str
    ) -> None:
        # The run and its documents are recorded already (`record_run`, while
        # the workers started): what is left is sending the jobs.
        send_run_jobs(app, plan, store_identity=identity)
        console.print(
            f"run [bold]{plan.run_id}[/]: {plan.case_count} cases enqueued in {plan.job_count} jobs"
        )

    return _drive(
        settings,
        prepare,
        model_queues(resolved),
        send,
        record=record_run,
        workers=workers,
        timeout=timeout,
        console=console,
    )


def resume_benchmark(
    settings: Settings,
    *,
    run_id: str,
    suite_path: Path | None,
    workers: int | None,
    timeout: float | None,
    console: Console,
) -> RunOutcome:
    """`benchq resume`: enqueue exactly what a run lacks, wait for it, finish it."""
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    store, _ = open_checked_store(settings)
    try:
        resume = plan_resume(store, settings, run_id, suite_path)
    finally:
        store.close()

    def send(
        app: Celery, plan: RunPlan, store: ResultsStore, identity: str, broker_url: str
    ) -> None:
        store.reopen_run(run_id)
        # Cases the lost jobs handed over may never have reached the store.
        forget(broker_client(broker_url), run_id, list(resume.missing))
        send_jobs(app, resume.plan, resume.missing, store_identity=identity)
        console.print(
            f"run [bold]{run_id}[/] resumed: {resume.case_count} missing cases of "
            f"{len(resume.missing)} model(s) enqueued"
        )

    return _drive(
        settings,
        lambda: resume.plan,
        run_queues(resume.plan),
        send,
        workers=workers,
        timeout=timeout,
        console=console,
    )


Send = Callable[[Celery, RunPlan, ResultsStore, str, str], None]


def _drive(
    settings: Settings,
    prepare: Callable[[], RunPlan],
    queues: list[str],
    send: Send,
    *,
    record: Callable[[RunPlan, ResultsStore], None] | None = None,
    workers: int | None,
    timeout: float | None,
    console: Console,
) -> RunOutcome:
    """Start what the run needs, plan it meanwhile, send its jobs, wait, write files and summary.

    The broker and workers are started first and `prepare` (loading the
    suite) runs while they start. If it raises, everything started is stopped
    and nothing is written: the store is opened and the workers' logs kept
    only once the plan stands. `record` (recording the run before its jobs)
    runs while the workers may still be starting; `send` once they answer,
    so the run's time is its jobs', not the workers' start.
    """
    # SIGTERM (from CI or a supervisor) must clean up exactly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    target = resolve_store_target(settings)
    started = time.monotonic()
    if settings.broker_url:
        check_broker(settings.broker_url)
    with contextlib.ExitStack() as stack:
        rt = stack.enter_context(runtime(settings, target, queues=queues, local_workers=workers))
        with collector.kept():  # the cases live until the command ends
            plan = prepare()
        store, identity = open_checked_store(settings)
        stack.callback(store.close)
        # Only for a run that will be recorded: a store that does not answer
        # (exit 1) leaves no log folder of a run that never was.
        rt.keep_logs(settings.results_dir / "logs" / plan.run_id)
        broker_url = rt.settings.broker_url or ""
        touched = False  # whether this command has recorded or changed the run yet
        try:
            if record is not None:
                touched = True
                record(plan, store)
            rt.wait_ready()
            touched = True
            send(make_app(rt.settings), plan, store, identity, broker_url)
            wait_with_bar(store, plan, rt.workers_alive, timeout, console, broker_url=broker_url)
        except RunFailed as exc:
            # The run is recorded before its first job is sent, so it exists here.
            store.set_run_status(plan.run_id, "failed", error=str(exc))
            print_worker_logs(rt.log_dir, console)
            raise
        except KeyboardInterrupt:
            if touched:  # a recorded run that will get no (more) jobs is over
                store.set_run_status(plan.run_id, "failed", error="interrupted (Ctrl-C or SIGTERM)")
            raise
        # The run is over: the workers shut down (warm) while its files are written.
        rt.stop_workers_soon()
        outcome = collect_outcome(store, plan.run_id, settings.results_dir)
    print_summary(outcome, time.monotonic() - started, console)
    return outcome
