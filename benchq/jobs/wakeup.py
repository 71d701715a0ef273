"""A nudge from the workers to a producer waiting on a run: "look at the store now".

A producer learns a run's progress from the results store, which it polls
(`benchq.producers.wait`). Between a model's last step and the next poll
nothing happens: a quarter of a second at most, at the end of every run.
So the workers push a token onto a per-run list in the broker's Redis when
a model of the run is over (its verdict stored, or the run failed), and the
producer waits on that list (BLPOP) instead of sleeping between polls.

The token carries nothing: the store stays the only record, and a token
lost (a Redis restart) or never pushed (a worker of an older version) only
means the producer looks at the next poll, as before.
"""

from __future__ import annotations

import logging
import time

import redis

log = logging.getLogger("benchq.jobs")

#: Tokens nobody took (no producer waited) disappear after this.
TOKEN_TTL_SECONDS = 3600


def _key(run_id: str) -> str:
    return f"benchq:wakeup:{run_id}"


def ring(client: redis.Redis, run_id: str) -> None:  # type: ignore[type-arg]
    """Tell a producer waiting on `run_id` to look at the store now; never raises."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.rpush(_key(run_id), "1")
        pipe.expire(_key(run_id), TOKEN_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:  # the next poll finds the same news
        log.debug("could not wake the producer of run %s: %s", run_id, exc)


def wait(client: redis.Redis, run_id: str, seconds: float) -> bool:  # type: ignore[type-arg]
    """Wait up to `seconds` for a token of `run_id`; True if one came.

    With the broker unreachable, sleeps the time out instead (the caller
    polls the store either way).
    """
    started = time.monotonic()
    try:
        return client.blpop([_key(run_id)], timeout=seconds) is not None
    except redis.RedisError:
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        return False
