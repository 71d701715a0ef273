"""Start (or not) the broker and workers a run needs, and stop them after."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchq.config.settings import Settings
from benchq.jobs.celery_app import make_app
from benchq.jobs.target import worker_environment
from benchq.local.redis_server import PrivateRedis
from benchq.local.worker_pool import WorkerPool
from benchq.store.factory import StoreTarget

#: BRPOP timeout of the embedded default's workers (`Settings.worker_poll_seconds`).
PRIVATE_POLL_SECONDS = 0.2

#: BRPOP timeout of `benchq run`'s wait for its workers' pings, on its own Redis:
#: shorter than a ping round (`worker_pool.PING_ROUND_SECONDS`).
PRIVATE_REPLY_POLL_SECONDS = 0.05


@dataclass
class Runtime:
    """What a run talks to: settings with a broker, and local workers if any."""

    settings: Settings
    pool: WorkerPool | None
    log_dir: Path | None
    _copy_logs_to: list[Path] = field(default_factory=list)

    def workers_alive(self) -> bool:
        """True while the run can make progress (always, with remote workers)."""
        return self.pool is None or self.pool.alive() > 0

    def wait_ready(self) -> bool:
        """Wait until every local worker answers a ping (`WorkerPool.wait_ready`).

        True at once with no local workers. False when a worker died or did not
        answer in time: the run's own wait then reports it with the logs.
        """
        return self.pool is None or self.pool.wait_ready(make_app(self.settings))

    def stop_workers_soon(self) -> None:
        """Ask the local workers to shut down (warm) without waiting; the exit waits for them."""
        if self.pool is not None:
            self.pool.terminate()

    def keep_logs(self, where: Path) -> None:
        """Keep the workers' logs in `where` (which must not exist yet) from now on.

        The logs start in a private temporary folder, so a run refused before
        this (a suite that does not load) writes nothing of its own. On one
        filesystem the folder is moved and the workers' open files move with
        it; across filesystems the logs are copied there once the workers
        have stopped.
        """
        if self.log_dir is None:
            return
        where.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(self.log_dir, where)
        except OSError:
            self._copy_logs_to.append(where)
            return
        self.log_dir = where


@contextlib.contextmanager
def runtime(
    settings: Settings,
    store: StoreTarget,
    *,
    queues: list[str],
    local_workers: int | None,
) -> Iterator[Runtime]:
    """The embedded default when no broker is set; the configured broker otherwise.

    With no broker, a private Redis and `settings.workers` worker processes are
    started. With a broker, local workers are started only when asked for
    (`local_workers`); otherwise the run relies on workers elsewhere. Local
    workers write to `store`, the target the caller resolved, as it is. All
    that is started here is stopped on exit, Ctrl-C included.

    The workers are started, not waited for: the caller does its own
    preparation (loading the suite) while they import, then calls
    `Runtime.wait_ready`. Their logs are in a temporary folder until the
    caller keeps them (`Runtime.keep_logs`); it is removed on exit otherwise.
    """
    with contextlib.ExitStack() as stack:
        private = settings.broker_url is None
        if private:
            redis = stack.enter_context(PrivateRedis(settings.redis_server))
            settings = settings.model_copy(update={"broker_url": redis.url})
            count = local_workers or settings.workers
        else:
            count = local_workers or 0
        rt = Runtime(settings=settings, pool=None, log_dir=None)
        if count > 0:
            rt.log_dir = Path(tempfile.mkdtemp(prefix="benchq-w-"))
            # Runs last (the stack unwinds in reverse): after the workers stopped.
            stack.callback(_settle_logs, rt, rt.log_dir)
            env = worker_environment(settings, store)
            if private and "worker_poll_seconds" not in settings.model_fields_set:
                # Its Redis is this machine's (6 or later): the workers stop
                # 0.2 s after they are asked, not after up to a second's BRPOP.
                env["BENCHQ_WORKER_POLL_SECONDS"] = str(PRIVATE_POLL_SECONDS)
            rt.pool = WorkerPool(
                count=count,
                env=env,
                queues=queues,
                pool=settings.worker_pool,
                concurrency=settings.worker_concurrency,
                batch_size=settings.batch_size,
                log_dir=rt.log_dir,
                reply_poll_seconds=PRIVATE_REPLY_POLL_SECONDS if private else None,
            )
            stack.enter_context(rt.pool)
        yield rt


def _settle_logs(rt: Runtime, temporary: Path) -> None:
    """Copy the logs where the caller kept them (other filesystem); remove the temporary folder."""
    for where in rt._copy_logs_to:
        shutil.copytree(temporary, where, dirs_exist_ok=True)
    # Gone already when it was moved into place.
    shutil.rmtree(temporary, ignore_errors=True)
