"""Local Celery worker processes, started as `benchq worker` would start them."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from celery import Celery
from kombu.connection import Connection

from benchq.config.settings import MIN_AUTO_BATCH
from benchq.local.forked import ForkedWorker, Zygote, fork_workers

#: How long `WorkerPool.wait_ready` waits for the answers to one ping.
PING_ROUND_SECONDS = 0.1


def pool_slots(concurrency: int, batch_size: int) -> int:
    """Jobs a worker process takes at once to keep `concurrency` model calls in flight.

    Enough batches to fill the calls, one more so the next batch is already
    running while one drains its last slow calls, and one for the chord
    callbacks. Not more: a worker that takes more jobs than it can run holds
    back cases that another worker could start now.
    """
    return -(-concurrency // batch_size) + 2


def worker_env(concurrency: int, batch_size: int) -> dict[str, str]:
    """The environment a worker's tasks read their call limit and batch size from."""
    return {"BENCHQ_WORKER_CONCURRENCY": str(concurrency), "BENCHQ_BATCH_SIZE": str(batch_size)}


def worker_argv(args: list[str]) -> list[str]:
    """The command line of one worker process (the same one `benchq worker` runs).

    `args` is what follows `celery` (`celery_worker_args`); the concurrency
    it names must be in the process's environment too (`worker_env`).
    """
    return [sys.executable, "-m", "celery", *args]


def celery_worker_args(
    *,
    name: str,
    queues: list[str],
    pool: str,
    concurrency: int,
    batch_size: int = MIN_AUTO_BATCH,
    loglevel: str = "WARNING",
) -> list[str]:
    """What follows `celery` on a worker's command line (`worker_argv` puts the program first).

    `concurrency` is the model calls the process keeps in flight.
    """
    return [
        "-A",
        "benchq.workers.app:app",
        "worker",
        "--hostname",
        name,
        "--queues",
        ",".join(queues),
        "--pool",
        pool,
        "--concurrency",
        str(pool_slots(concurrency, batch_size)),
        "--loglevel",
        loglevel,
        # One machine, one broker: gossip and mingle only cost start-up time.
        "--without-gossip",
        "--without-mingle",
    ]


class WorkerPool:
    """N worker processes bound to this process's lifetime."""

    def __init__(
        self,
        *,
        count: int,
        env: dict[str, str],
        queues: list[str],
        pool: str = "threads",
        concurrency: int = 8,
        batch_size: int = MIN_AUTO_BATCH,
        log_dir: Path | None = None,
        name_prefix: str = "local",
        loglevel: str = "WARNING",
        reply_poll_seconds: float | None = None,
    ) -> None:
        self.count = count
        self.env = {**os.environ, **env, **worker_env(concurrency, batch_size)}
        self.queues = queues
        self.pool = pool
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.log_dir = log_dir
        self.name_prefix = name_prefix
        self.loglevel = loglevel
        # How long each wait for ping replies lasts at the broker (a BRPOP):
        # kombu's default is 1 s, and fractions need Redis 6 or later.
        self.reply_poll_seconds = reply_poll_seconds
        self.zygote: Zygote | None = None
        self.procs: list[ForkedWorker] = []

    def start(self) -> None:
        """Start the worker processes (they connect to the broker on their own).

        They are forked by one zygote process that imports Celery, benchq and
        the SDKs once for all of them (`benchq.local.zygote`); each then runs
        the command line `celery_worker_args` gives, as `benchq worker` would.
        """
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        argvs: list[list[str]] = []
        logs: list[str | None] = []
        for i in range(self.count):
            # The zygote runs `celery` itself: only what follows the program.
            argvs.append(
                celery_worker_args(
                    name=f"{self.name_prefix}{i + 1}@%h",
                    queues=self.queues,
                    pool=self.pool,
                    concurrency=self.concurrency,
                    batch_size=self.batch_size,
                    loglevel=self.loglevel,
                )
            )
            log = self.log_dir / f"{self.name_prefix}{i + 1}.log" if self.log_dir else None
            logs.append(str(log) if log else None)
        # SIGKILL, not SIGTERM, for the workers if `benchq run` dies: a warm
        # shutdown waits for the calls in flight (minutes, against a slow
        # model), for a run nobody waits for any more. Prefork pool children
        # die with their worker (Celery gives them PR_SET_PDEATHSIG SIGKILL).
        # An orderly stop (`stop()`) still shuts down warm.
        self.zygote = fork_workers(
            argvs,
            queues=self.queues,
            env=self.env,
            log_paths=logs,
            zygote_log=str(self.log_dir / "start.log") if self.log_dir else None,
        )
        self.procs = list(self.zygote.workers)

    def node_names(self) -> list[str]:
        """The Celery node names of the processes (`%h` expanded as Celery does)."""
        host = socket.gethostname()
        return [f"{self.name_prefix}{i + 1}@{host}" for i in range(self.count)]

    def wait_ready(self, app: Celery, timeout: float = 60.0) -> bool:
        """Wait until every process answers a ping: started, SDKs loaded, consuming.

        A run enqueued after this measures its jobs, not the workers' start.
        Returns False, without raising, when a process died or time ran out:
        the run's own wait reports dead workers with their logs.
        """
        deadline = time.monotonic() + timeout
        names = set(self.node_names())
        answered: set[str] = set()
        with self.ping_connection(app) as conn:
            while time.monotonic() < deadline and self.alive() == self.count:
                waiting = sorted(names - answered)
                # Short rounds: a ping sent before a worker consumes is lost, and its
                # round waits out the whole timeout (0.5 s rounds left 0.4-1.4 s
                # between the last worker's start and the run's; 0.1 s, 0.05-0.4 s).
                replies = app.control.ping(
                    destination=waiting,
                    timeout=PING_ROUND_SECONDS,
                    limit=len(waiting),
                    connection=conn,
                )
                answered |= {name for reply in replies for name in reply}
                if answered >= names:
                    return True
        return False

    def ping_connection(self, app: Celery) -> Connection:
        """The broker connection `wait_ready` pings on.

        With kombu's default, a round that ended before the workers answered
        held up the replies to a later one by about a second, in a third to
        two thirds of the starts (docs/performance.md; a connection of its
        own for each round did not help). Waits for replies of at most
        `reply_poll_seconds`, shorter than a round, did.
        """
        options = {}
        if self.reply_poll_seconds is not None:
            options["polling_interval"] = self.reply_poll_seconds
        conn: Connection = app.connection_for_write(transport_options=options)
        return conn

    def alive(self) -> int:
        """How many worker processes are still running."""
        return sum(1 for p in self.procs if p.poll() is None)

    def terminate(self) -> None:
        """Ask every worker to shut down warm (SIGTERM), without waiting for it."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()

    def stop(self) -> None:
        """Warm shutdown of every worker (SIGTERM), SIGKILL after a grace period."""
        if self.zygote is not None:
            self.zygote.stop(timeout=15.0)
            self.zygote = None
        self.procs.clear()

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
