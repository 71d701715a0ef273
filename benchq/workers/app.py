"""The workers' Celery app: `celery -A benchq.workers.app:app worker`.

The settings are read once here, at the worker's entry point, from the
environment (`BENCHQ_BROKER_URL`, ...). Producers use
`benchq.workers.celery_config.make_app` with their own settings instead.
"""

from __future__ import annotations

from celery import Celery

from benchq.config.settings import load_settings
from benchq.workers.celery_config import CONTROL_QUEUE, make_app, provider_queue

__all__ = ["CONTROL_QUEUE", "app", "make_app", "provider_queue"]


def _app_from_environment() -> Celery:
    settings = load_settings()
    if not settings.broker_url:
        # Importing the module must work without a broker (the CLI imports task
        # signatures); workers and producers always pass a configured broker.
        settings = settings.model_copy(update={"broker_url": "redis://localhost:6379/0"})
    return make_app(settings)


app = _app_from_environment()
