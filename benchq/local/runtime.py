"""Start (or not) the broker and workers a run needs, and stop them after."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchq.config.settings import Settings
from benchq.jobs.celery_app import make_app
from benchq.jobs.target import worker_environment
from benchq.local.redis_server import PrivateRedis
from benchq.local.worker_pool import WorkerPool
from benchq.store.factory import StoreTarget


@dataclass
class Runtime:
    """What a run talks to: settings with a broker, and local workers if any."""

    settings: Settings
    pool: WorkerPool | None
    log_dir: Path | None

    def workers_alive(self) -> bool:
        """True while the run can make progress (always, with remote workers)."""
        return self.pool is None or self.pool.alive() > 0


@contextlib.contextmanager
def runtime(
    settings: Settings,
    store: StoreTarget,
    *,
    queues: list[str],
    local_workers: int | None,
    log_dir: Path | None = None,
) -> Iterator[Runtime]:
    """The embedded default when no broker is set; the configured broker otherwise.

    With no broker, a private Redis and `settings.workers` worker processes are
    started. With a broker, local workers are started only when asked for
    (`local_workers`); otherwise the run relies on workers elsewhere. Local
    workers write to `store`, the target the caller resolved, as it is. All
    that is started here is stopped on exit, Ctrl-C included.
    """
    with contextlib.ExitStack() as stack:
        if settings.broker_url is None:
            private = stack.enter_context(PrivateRedis(settings.redis_server))
            settings = settings.model_copy(update={"broker_url": private.url})
            count = local_workers or settings.workers
        else:
            count = local_workers or 0
        pool = None
        if count > 0:
            if log_dir is None:
                log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="benchq-w-")))
            log_dir.mkdir(parents=True, exist_ok=True)
            pool = WorkerPool(
                count=count,
                env=worker_environment(settings, store),
                queues=queues,
                pool=settings.worker_pool,
                concurrency=settings.worker_concurrency,
                batch_size=settings.batch_size,
                log_dir=log_dir,
            )
            stack.enter_context(pool)
            pool.wait_ready(make_app(settings))
        yield Runtime(settings=settings, pool=pool, log_dir=log_dir)
