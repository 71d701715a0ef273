"""Bounded retries with exponential backoff and jitter, honouring Retry-After.

The SDKs' own retries are switched off (OpenAI `max_retries=0`, google-genai
`HttpRetryOptions(attempts=1)`), so this module is the only place a call is
repeated, and the number of attempts recorded in results is the real one.

Only `ProviderRetryable` (429, 5xx, timeouts, connection resets) is retried
under the full policy; `ProviderUnreachable` (refused, unknown host) gets
`unreachable_attempts` quick tries, for a server that is just restarting;
`ProviderRejected` (400, 401, 403, ...) fails at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from benchq.errors import ProviderRetryable, ProviderUnreachable

T = TypeVar("T")


class ProviderThrottled(ProviderRetryable):
    """The provider answered 429: retryable, and a signal to slow the fleet down."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a model call is repeated."""

    max_attempts: int = 5
    """Attempts in all, the first included."""
    initial_delay: float = 1.0
    """Seconds before the first retry; doubles each time."""
    max_delay: float = 60.0
    """Longest backoff between two attempts."""
    max_retry_after: float = 120.0
    """Longest server-requested wait we honour; a longer Retry-After ends the retries."""
    unreachable_attempts: int = 2
    """Attempts, the first included, when nothing answers at the endpoint."""
    unreachable_delay: float = 0.5
    """Seconds between those attempts."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """How to wait between attempts, on the event loop."""

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff before attempt `attempt + 1`."""
        ceiling = min(self.max_delay, self.initial_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or HTTP date)."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError):
        return None  # unreadable: fall back to our own backoff
    return max(0.0, parsed.timestamp() - time.time())


def wait_before_retry(exc: BaseException, attempt: int, policy: RetryPolicy) -> float:
    """Seconds before the attempt after `attempt` failed with `exc`.

    Backoff, but never shorter than the Retry-After the server asked for.
    """
    if isinstance(exc, ProviderUnreachable):
        return policy.unreachable_delay
    delay = policy.backoff(attempt)
    if isinstance(exc, ProviderRetryable) and exc.retry_after is not None:
        # a little jitter on top, so a fleet told "wait 2s" does not return in step
        delay = max(delay, exc.retry_after + random.uniform(0, 0.1 * exc.retry_after + 0.05))
    return delay


def should_retry(exc: BaseException, attempt: int, policy: RetryPolicy) -> bool:
    """Whether a call that failed with `exc` on attempt number `attempt` is tried again."""
    if attempt >= policy.max_attempts:
        return False
    if isinstance(exc, ProviderUnreachable):
        return attempt < policy.unreachable_attempts
    if not isinstance(exc, ProviderRetryable):
        return False
    # a server asking for a very long pause: give up now, the job retries later
    return exc.retry_after is None or exc.retry_after <= policy.max_retry_after


async def call_with_retry_async(
    fn: Callable[[], Awaitable[T]], policy: RetryPolicy
) -> tuple[T, int]:
    """Await `fn` until it succeeds or fails for good; return its result and the attempts used.

    The last error is re-raised as it is (a `ProviderError`, with its cause
    chained). The waits between attempts do not block the event loop.

    A plain loop rather than tenacity's `AsyncRetrying`: the loop is the
    whole policy, and tenacity's per-call set-up (a retry state, wrapped
    coroutines, its action chain) was 8 % of a worker's CPU at 256 calls in
    flight, almost all of it on calls that succeed at once.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn(), attempt
        except Exception as exc:
            if not should_retry(exc, attempt, policy):
                raise
            await policy.sleep(wait_before_retry(exc, attempt, policy))
