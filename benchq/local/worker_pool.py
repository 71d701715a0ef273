"""Local Celery worker processes, started as `benchq worker` would start them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from benchq.local.process import spawn, stop


def worker_argv(
    *,
    name: str,
    queues: list[str],
    pool: str,
    concurrency: int,
    loglevel: str = "WARNING",
) -> list[str]:
    """The command line of one worker process (the same one `benchq worker` runs)."""
    return [
        sys.executable,
        "-m",
        "celery",
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
        str(concurrency),
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
        log_dir: Path | None = None,
        name_prefix: str = "local",
    ) -> None:
        self.count = count
        self.env = {**os.environ, **env}
        self.queues = queues
        self.pool = pool
        self.concurrency = concurrency
        self.log_dir = log_dir
        self.name_prefix = name_prefix
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        """Start the worker processes (they connect to the broker on their own)."""
        for i in range(self.count):
            name = f"{self.name_prefix}{i + 1}@%h"
            argv = worker_argv(
                name=name, queues=self.queues, pool=self.pool, concurrency=self.concurrency
            )
            log_path = str(self.log_dir / f"worker{i + 1}.log") if self.log_dir else None
            self.procs.append(spawn(argv, env=self.env, log_path=log_path))

    def alive(self) -> int:
        """How many worker processes are still running."""
        return sum(1 for p in self.procs if p.poll() is None)

    def stop(self) -> None:
        """Warm shutdown of every worker (SIGTERM), SIGKILL after a grace period."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            stop(proc, timeout=15.0)
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
