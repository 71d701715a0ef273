"""Helpers for tests that drive real workers: start them, enqueue, wait."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchq.cases.suite import load_suite
from benchq.config.settings import Settings
from benchq.local.worker_pool import WorkerPool
from benchq.producers.enqueue import enqueue_run
from benchq.producers.models import all_queues
from benchq.producers.plan import ModelPlan, RunPlan, plan_run
from benchq.store.sqlite import SQLiteStore
from benchq.workers.celery_config import make_app

BASELINE = ModelPlan(name="baseline", provider="baseline", model_version="baseline-v1.0")


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
) -> WorkerPool:
    """Worker processes (not started) for these settings (`extra_env` on top)."""
    env = {
        "BENCHQ_BROKER_URL": settings.broker_url or "",
        "BENCHQ_STORE_URL": settings.effective_store_url(),
        "BENCHQ_VISIBILITY_TIMEOUT": str(settings.visibility_timeout),
        "BENCHQ_RESTORE_INTERVAL": str(settings.restore_interval),
    }
    return WorkerPool(
        count=count,
        env={**env, **(extra_env or {}), "PYTHONPATH": os.pathsep.join(sys.path)},
        queues=all_queues(settings),
        pool="threads",
        concurrency=concurrency,
        batch_size=settings.batch_size,
        name_prefix=prefix,
    )


def enqueue(settings: Settings, suite_dir: Path, run_id: str | None = None) -> RunPlan:
    """Plan and enqueue a baseline run of the suite (`settings.batch_size` cases a job)."""
    plan = plan_run(
        load_suite(suite_dir), [BASELINE], run_id=run_id, batch_size=settings.batch_size
    )
    store = SQLiteStore(settings.effective_store_url().removeprefix("sqlite:///"))
    enqueue_run(make_app(settings), plan, store)
    store.close()
    return plan
