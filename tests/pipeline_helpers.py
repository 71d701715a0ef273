"""Helpers for tests that drive real workers: start them, enqueue, wait."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchq.cases.suite import load_suite
from benchq.config.settings import Settings
from benchq.jobs.broker import broker_client
from benchq.jobs.celery_app import make_app
from benchq.jobs.ledger import forget
from benchq.jobs.target import worker_environment
from benchq.local.worker_pool import WorkerPool
from benchq.producers.enqueue import enqueue_run, send_jobs
from benchq.producers.models import all_queues
from benchq.producers.plan import ModelPlan, RunPlan, plan_run
from benchq.producers.resume import plan_resume
from benchq.store.factory import open_target, resolve_store_target

BASELINE = ModelPlan(
    name="baseline", provider="baseline", model_version="baseline-rules-v2", model_id="rules-v2"
)


def cli(*args: str) -> list[str]:
    """argv running the benchq command of this checkout."""
    return [sys.executable, "-m", "benchq.cli", *args]


def settings_for(tmp: Path, broker: str, **extra: object) -> Settings:
    """Settings pointing at a test broker and a SQLite store in `tmp`."""
    return Settings(  # type: ignore[call-arg]
        broker_url=broker, store_url=f"sqlite:///{tmp / 'benchq.db'}", **extra
    )


def workers(
    settings: Settings,
    count: int,
    *,
    prefix: str = "w",
    concurrency: int = 2,
    extra_env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    queues: list[str] | None = None,
) -> WorkerPool:
    """Worker processes (not started) for these settings (`extra_env` on top).

    They serve every queue, or only `queues`.
    """
    env = worker_environment(settings, resolve_store_target(settings))
    return WorkerPool(
        count=count,
        env={**env, **(extra_env or {}), "PYTHONPATH": os.pathsep.join(sys.path)},
        queues=queues if queues is not None else all_queues(settings),
        pool="threads",
        concurrency=concurrency,
        batch_size=settings.batch_size,
        name_prefix=prefix,
        log_dir=log_dir,
        loglevel="INFO" if log_dir is not None else "WARNING",
    )


def enqueue(settings: Settings, suite_dir: Path, run_id: str | None = None) -> RunPlan:
    """Plan and enqueue a baseline run of the suite (`settings.batch_size` cases a job)."""
    plan = plan_run(
        load_suite(suite_dir), [BASELINE], run_id=run_id, batch_size=settings.batch_size
    )
    target = resolve_store_target(settings)
    store = open_target(target)
    enqueue_run(make_app(settings), plan, store, store_identity=target.identity)
    store.close()
    return plan


def resume(settings: Settings, suite_dir: Path, run_id: str) -> None:
    """What `benchq resume` sends for a run, done in process (the workers are the test's)."""
    target = resolve_store_target(settings)
    store = open_target(target)
    try:
        plan = plan_resume(store, settings, run_id, suite_dir)
        store.reopen_run(run_id)
        forget(broker_client(settings.broker_url or ""), run_id, list(plan.missing))
        send_jobs(make_app(settings), plan.plan, plan.missing, store_identity=target.identity)
    finally:
        store.close()
