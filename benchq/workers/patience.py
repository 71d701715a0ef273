"""Waiting out an outage of the broker's Redis inside a job, instead of failing its cases.

A model worker talks to the broker's Redis for the fleet limits, the ledger
of handed-over cases and to hand results on; when Redis restarts, those calls
fail for a few seconds. None of that is the model's doing, so the job waits
(backing off) and carries on where it was, rather than storing errors or
giving up a batch whose model calls already cost money.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import kombu.exceptions
import redis.exceptions

from benchq.errors import InfraUnavailable

log = logging.getLogger("benchq.jobs")

T = TypeVar("T")

#: How long a job waits for the broker to come back before it fails.
PATIENCE_SECONDS = 1800.0

#: What an outage of the broker looks like from a worker.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    InfraUnavailable,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    kombu.exceptions.OperationalError,
)


def backoff(attempt: int) -> float:
    """Seconds before trying again: 0.5, 1, 2 ... capped at 15, jittered."""
    return min(15.0, 0.5 * 2.0 ** min(attempt, 5)) * random.uniform(0.7, 1.0)


class Patience:
    """One job's budget for waiting out outages, shared by all its steps."""

    def __init__(
        self,
        what: str,
        *,
        seconds: float = PATIENCE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.what = what
        self.deadline = time.monotonic() + seconds
        self.attempt = 0
        self._sleep = sleep

    def wait(self, error: BaseException | str) -> None:
        """Back off after an outage; `InfraUnavailable` once the budget is spent."""
        if time.monotonic() >= self.deadline:
            raise InfraUnavailable(f"{self.what}: still failing after waiting: {error}")
        delay = backoff(self.attempt)
        self.attempt += 1
        log.warning("%s: broker unavailable (%s); trying again in %.1fs", self.what, error, delay)
        self._sleep(delay)

    def call(self, fn: Callable[[], T]) -> T:
        """`fn()`, repeated through outages of the broker."""
        while True:
            try:
                return fn()
            except OUTAGE_ERRORS as exc:
                self.wait(exc)
