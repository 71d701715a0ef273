"""Telling a dead worker from a slow one: living workers renew the jobs they hold.

On a Redis broker, a job a worker has taken but not acknowledged sits in the
`unacked` hash, and its delivery time in the `unacked_index` sorted set;
every worker periodically delivers again the jobs whose time is older than
the visibility timeout, assuming their worker vanished. A short timeout
would then deliver a slow but living job a second time; a long one leaves a
dead worker's jobs waiting for an hour.

Here each worker process refreshes, every quarter of the timeout, the time
of every job it holds (taken, waiting for a countdown, or running). A job
whose worker died is no longer refreshed and comes back after the timeout
(45 s by default); a job that runs for an hour never does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

import redis

log = logging.getLogger("benchq.jobs")

UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"


def renew(client: redis.Redis, tags: Iterable[str], now: float | None = None) -> set[str]:  # type: ignore[type-arg]
    """Refresh the delivery time of these jobs; returns the tags no longer held (acknowledged).

    Only tags still in the index are touched (`ZADD XX`): an acknowledged
    job is not brought back into it.
    """
    tags = list(tags)
    if not tags:
        return set()
    stamp = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    for tag in tags:
        pipe.zadd(UNACKED_INDEX, {tag: stamp}, xx=True)
        pipe.hexists(UNACKED, tag)
    replies = pipe.execute()
    held = replies[1::2]
    return {tag for tag, present in zip(tags, held, strict=True) if not present}


class LeaseKeeper:
    """A daemon thread that renews the jobs this process holds."""

    def __init__(self, client: redis.Redis, interval: float) -> None:  # type: ignore[type-arg]
        self.client = client
        self.interval = interval
        self._tags: dict[str, str] = {}
        """Task id -> delivery tag of each job this process holds."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, task_id: str, tag: str) -> None:
        """A job was taken by this process."""
        with self._lock:
            self._tags[task_id] = tag

    def release(self, task_id: str) -> None:
        """A job of this process ended (it will be acknowledged, or was)."""
        with self._lock:
            self._tags.pop(task_id, None)

    def held(self) -> set[str]:
        """The delivery tags this process renews now."""
        with self._lock:
            return set(self._tags.values())

    def start(self) -> None:
        """Start renewing, every `interval` seconds, until `stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="benchq-leases", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop renewing (the jobs held then come back after the timeout, if unacknowledged)."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                gone = renew(self.client, self.held())
            except redis.RedisError as exc:
                # The broker is away: nothing can be delivered again meanwhile either.
                log.warning("could not renew the jobs this worker holds: %s", exc)
                continue
            with self._lock:
                self._tags = {t: tag for t, tag in self._tags.items() if tag not in gone}
