"""The Redis result backend, without per-task pub/sub subscriptions.

Celery's Redis backend subscribes to a pub/sub channel for every task a
process sends, so that `AsyncResult.get()` can wake up. benchq never waits
on task results (progress is read from the results store), so those
subscriptions only cost a round trip per job at enqueue time and leave
dangling unsubscribes when a private Redis goes away. Chords still work: their
counting runs in the workers through the unchanged backend methods.
"""

from __future__ import annotations

from typing import Any

from celery.backends.redis import RedisBackend


class QuietRedisBackend(RedisBackend):  # type: ignore[misc]
    """A RedisBackend that does not subscribe to the results of tasks it sends."""

    def on_task_call(self, producer: Any, task_id: str) -> None:
        """Do not subscribe: nothing in benchq blocks on a task's result."""

    def on_result_fulfilled(self, result: Any) -> None:
        """Nothing to unsubscribe from (see `on_task_call`).

        Celery calls this from `AsyncResult.__del__`; unsubscribing there would
        reconnect to a Redis that a finished `benchq run` has already stopped.
        """


def backend_url(url: str) -> str:
    """The `result_backend` setting selecting this backend for a Redis URL."""
    # Celery splits the scheme at its first '+': for unix sockets the backend
    # itself expects `socket://path`, as `redis+socket://` would give it.
    url = url.removeprefix("redis+")
    return f"benchq.jobs.backend.QuietRedisBackend+{url}"
