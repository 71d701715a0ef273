"""The workers' Celery app: `celery -A benchq.workers.app:app worker`.

The settings are read once here, at the worker's entry point, from the
environment (`BENCHQ_BROKER_URL`, ...), and the app is built by the same
`benchq.jobs.celery_app.make_app` producers use with their own settings.
"""

from __future__ import annotations

from celery import Celery

from benchq.config.settings import load_settings
from benchq.jobs.celery_app import make_app

__all__ = ["app"]


def _app_from_environment() -> Celery:
    settings = load_settings()
    if not settings.broker_url:
        # Importing the module must work without a broker (tools import task
        # modules to read their names); a worker always has one configured.
        settings = settings.model_copy(update={"broker_url": "redis://localhost:6379/0"})
    worker_app = make_app(settings)
    worker_app.conf.include = ["benchq.workers.tasks"]
    # A worker only: kombu's Redis transport takes this as its BRPOP timeout.
    # In a producer it would also make `drain_events` sleep between polls.
    worker_app.conf.broker_transport_options = {
        **worker_app.conf.broker_transport_options,
        "polling_interval": settings.worker_poll_seconds,
    }
    return worker_app


app = _app_from_environment()
