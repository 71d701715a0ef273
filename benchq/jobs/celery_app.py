"""The Celery app both sides of the queue build from their settings.

Producers call `make_app(settings)`; the workers' `benchq.workers.app`
calls it with the settings of their environment. Routing, serialisation and
acknowledgement rules therefore cannot differ between the two sides.
"""

from __future__ import annotations

from celery import Celery

from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.jobs import body
from benchq.jobs.backend import backend_url
from benchq.jobs.names import PUBLISH_QUEUE, SAVE_CASES

#: Seconds the broker's restore lock outlives a worker that died holding it.
UNACKED_MUTEX_EXPIRE = 10


def make_app(settings: Settings) -> Celery:
    """A Celery app for these settings. The broker must be set (embedded runs set it)."""
    if not settings.broker_url:
        raise ConfigError(
            "BENCHQ_BROKER_URL is not set: workers need a broker "
            "(`benchq run` starts a private one for you)"
        )
    # The task modules are the workers' business: a producer only sends by name.
    body.register()
    app = Celery("benchq")
    backend = settings.result_backend or settings.broker_url
    if backend.startswith(("redis://", "rediss://", "redis+socket://")):
        backend = backend_url(backend)
    app.conf.update(
        broker_url=settings.broker_url,
        result_backend=backend,
        # JSON only: a pickle on a shared broker would let anyone who can write
        # to Redis run code on every worker.
        task_serializer="json",
        result_serializer="json",
        # benchq's body format for the jobs and hand-overs that carry a JSON
        # text (benchq.jobs.body): JSON too, one layer of escaping less.
        accept_content=["json", body.CONTENT_TYPE],
        result_accept_content=["json"],
        # A job is acknowledged only once it has run; if the worker dies first,
        # the job is delivered again (the store is idempotent per case).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Model calls take seconds: a worker should not hoard jobs another
        # worker could start now.
        worker_prefetch_multiplier=1,
        task_default_queue=PUBLISH_QUEUE,
        task_track_started=False,
        result_expires=86400,
        result_extended=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # A message's body as its JSON text, not base64 of it: kombu
            # encodes on the way in and decodes on the way out, and (for the
            # unacknowledged copy) writes the message out once more, and a
            # job holds its cases' documents. Each message says its own
            # encoding, so messages of either kind are read by either version.
            "body_encoding": None,
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": settings.restore_interval,
            # Scan on every interval: otherwise restoring takes interval x 10.
            "unacked_restore_throttle": 1,
            # The lock a worker holds while it restores expired jobs: kombu's
            # default keeps it 5 minutes, so a worker SIGKILLed inside a sweep
            # stopped every redelivery for 5 minutes. A sweep takes
            # milliseconds, and each message is restored in a WATCH
            # transaction, so two sweeps at once cannot restore one twice.
            "unacked_mutex_expire": UNACKED_MUTEX_EXPIRE,
        },
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        # A Redis that restarts under a running job: the job's result and its
        # chord count wait for it to come back, instead of failing the job.
        result_backend_always_retry=True,
        result_backend_max_retries=120,
        result_backend_max_sleep_between_retries_ms=5000,
        worker_hijack_root_logger=False,
        # Task events cost three extra Redis publishes per job. They stay off
        # until a monitor asks for them: Flower enables them on the workers
        # when it starts (`celery control enable_events`).
        worker_send_task_events=False,
        task_send_sent_event=False,
        # Nothing reads a save_cases result (the chain reads the store): storing
        # it cost a Redis write per job for nothing.
        task_annotations={SAVE_CASES: {"ignore_result": True}},
    )
    return app
