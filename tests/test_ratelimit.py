"""Fleet-wide limits in a real Redis: several limiter objects (each its own
connection, as separate workers or machines) share one budget per model.

Assertions are on counts of grants, never on elapsed time.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
from pydantic import SecretStr
from standin import Fault, StandinServer
from standin.redis_proc import private_redis

from benchq.config.registry import ModelSpec
from benchq.errors import ProviderBusy
from benchq.providers import aio
from benchq.providers.openai_chat import OpenAIChatProvider
from benchq.providers.prompts import load_prompt
from benchq.providers.ratelimit import QUIET_SECONDS, FleetLimiter
from benchq.providers.retry import RetryPolicy


@pytest.fixture
def rds(tmp_path: Path) -> Iterator[redis.Redis]:  # type: ignore[type-arg]
    with private_redis(tmp_path) as client:
        yield client


class SyncLimiter:
    """A FleetLimiter driven from test code: each coroutine runs on the process's call loop."""

    def __init__(self, limiter: FleetLimiter) -> None:
        self.limiter = limiter
        self.keys = limiter.keys

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.limiter, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        return lambda *args, **kwargs: aio.run_sync(attr(*args, **kwargs))


def _worker(rds: redis.Redis, model: str = "m", **kw: Any) -> SyncLimiter:  # type: ignore[type-arg]
    """A limiter on a connection of its own, like a worker on another machine."""
    return SyncLimiter(_async_worker(rds, model, **kw))


def test_requests_per_minute_hold_across_workers(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    # 60/min with a 10% burst: 6 calls at once for the whole fleet, then one a second
    workers = [_worker(rds, requests_per_minute=60) for _ in range(3)]

    granted = sum(1 for _ in range(10) for w in workers if w.try_rate(0) == 0)

    assert granted == 6
    wait = workers[0].try_rate(0)
    assert 0 < wait <= 1.0


def test_tokens_per_minute_hold_across_workers(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    a, b = (_worker(rds, tokens_per_minute=100_000) for _ in range(2))  # burst 10,000

    assert a.try_rate(6_000) == 0
    assert b.try_rate(6_000) > 0  # would exceed the shared burst
    assert b.try_rate(4_000) == 0
    # a call bigger than the burst is still let through alone, once the bucket is empty
    assert a.try_rate(50_000) > 0


def test_settling_returns_unused_tokens(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    a, b = (_worker(rds, tokens_per_minute=100_000) for _ in range(2))
    assert a.try_rate(9_000) == 0
    assert b.try_rate(5_000) > 0

    a.settle(estimated_tokens=9_000, actual_tokens=1_000)

    assert b.try_rate(5_000) == 0


def test_a_denied_request_charges_neither_limit(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    a = _worker(rds, requests_per_minute=600, tokens_per_minute=60_000)  # bursts 60 req, 6000 tok
    assert a.try_rate(5_000) == 0
    assert a.try_rate(5_000) > 0  # denied by tokens: must not use a request either
    granted = sum(1 for _ in range(100) if a.try_rate(0) == 0)
    assert granted == 59


def test_concurrency_is_capped_fleet_wide(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    workers = [_worker(rds, max_concurrency=3) for _ in range(4)]
    leases = [w.try_slot() for w in workers]

    assert sum(1 for x in leases if x) == 3
    first = next(x for x in leases if x)
    workers[0].end_slot(first, "none")
    assert workers[3].try_slot() is not None


def test_aimd_halves_on_429_once_per_cooldown_and_recovers(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    a, b = (_worker(rds, max_concurrency=16) for _ in range(2))

    for w in (a, b):  # one burst of 429s from two workers is one signal
        lease = w.try_slot()
        assert lease
        w.end_slot(lease, "throttled")
    assert a.concurrency_limit() == 8.0

    for _ in range(40):
        lease = b.try_slot()
        assert lease
        b.end_slot(lease, "ok")
    assert 8.0 < a.concurrency_limit() <= 16.0  # additive increase, about +1 per 8 successes
    assert a.concurrency_limit() < 14.0


def test_halved_limit_admits_fewer_calls(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    a = _worker(rds, max_concurrency=4)
    lease = a.try_slot()
    assert lease
    a.end_slot(lease, "throttled")  # 4 -> 2

    assert sum(1 for _ in range(4) if a.try_slot()) == 2


def test_slots_of_a_dead_worker_expire(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    dead = _worker(rds, max_concurrency=1, lease_seconds=0.2)
    assert dead.try_slot()  # never released
    alive = _worker(rds, max_concurrency=1)
    assert alive.try_slot() is None
    time.sleep(0.3)
    assert alive.try_slot() is not None


def test_acquire_from_many_threads_never_exceeds_the_limit(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def run() -> None:
        nonlocal in_flight, peak
        limiter = _worker(rds, max_concurrency=2)
        for _ in range(3):
            lease = limiter.acquire_async(0)
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.02)
            with lock:
                in_flight -= 1
            limiter.release_async(lease, estimated_tokens=0, actual_tokens=None, throttled=False)

    threads = [threading.Thread(target=run) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert peak <= 2


def test_provider_429_cuts_fleet_concurrency(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    limiter = _worker(rds, max_concurrency=8, tokens_per_minute=1_000_000)
    spec = ModelSpec(name="m", provider="openai", model_id="gpt-test")
    with StandinServer() as server:
        server.script(Fault(status=429, retry_after=0))
        provider = OpenAIChatProvider(
            spec,
            api_key=SecretStr("k"),
            base_url=server.openai_base_url,
            prompt=load_prompt("v1"),
            retry=RetryPolicy(initial_delay=0.01),
            limiter=limiter.limiter,
        )
        answer = provider.analyze("doc")

    assert answer.attempts == 2 and server.count() == 2
    # halved to 4 by the 429, then +1/4 for the success
    assert limiter.concurrency_limit() == pytest.approx(4.25)
    assert rds.zcard(limiter.keys["leases"]) == 0  # every slot was given back


def test_a_long_wait_defers_instead_of_blocking(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    # 6 requests a minute: after the first, the next is 10 s away, far past 1 s.
    limiter = _worker(
        rds, "slow", requests_per_minute=6, max_concurrency=4, defer_after_seconds=1.0
    )
    lease = limiter.acquire_async(10)
    limiter.release_async(lease, estimated_tokens=10, actual_tokens=10, throttled=False)
    with pytest.raises(ProviderBusy) as info:
        limiter.acquire_async(10)
    assert 5.0 < info.value.retry_after <= 10.0
    # The deferred call gave its concurrency slot back.
    assert rds.zcard(limiter.keys["leases"]) == 0


def test_a_full_fleet_defers_for_concurrency(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    limiter = _worker(rds, "busy", max_concurrency=1, defer_after_seconds=0.0)
    held = limiter.acquire_async(10)
    with pytest.raises(ProviderBusy):
        limiter.acquire_async(10)
    limiter.release_async(held, estimated_tokens=10, actual_tokens=10, throttled=False)
    assert limiter.acquire_async(10)


def _async_worker(rds: redis.Redis, model: str = "m", **kw: Any) -> FleetLimiter:  # type: ignore[type-arg]
    """A limiter with a redis.asyncio connection of its own."""
    path = rds.connection_pool.connection_kwargs["path"]
    return FleetLimiter(redis.asyncio.Redis(unix_socket_path=path), model, **kw)


def test_async_acquire_never_exceeds_the_limit(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    in_flight = 0
    peak = 0
    done = 0

    async def fleet() -> None:
        limiters = [_async_worker(rds, max_concurrency=2) for _ in range(3)]

        async def calls(limiter: FleetLimiter) -> None:
            nonlocal in_flight, peak, done
            for _ in range(3):
                lease = await limiter.acquire_async(0)
                in_flight += 1
                peak = max(peak, in_flight)
                await asyncio.sleep(0.02)
                in_flight -= 1
                await limiter.release_async(
                    lease, estimated_tokens=0, actual_tokens=None, throttled=False
                )
                done += 1

        await asyncio.gather(*(calls(lim) for lim in limiters for _ in range(4)))
        # what a worker does when it stops: give back the slots kept for next calls
        await asyncio.gather(*(lim.aclose() for lim in limiters))

    asyncio.run(fleet())

    assert peak == 2  # the limit was reached, never passed
    assert done == 36
    assert rds.zcard("benchq:limit:m:{m}:leases") == 0


def test_a_cancelled_async_acquire_gives_its_slot_back(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    # 6 requests a minute: after the first call the next waits ~10 s for the rate,
    # holding its concurrency slot while it waits.
    async def scenario() -> tuple[int, int]:
        limiter = _async_worker(rds, "slow", requests_per_minute=6, max_concurrency=4)
        first = await limiter.acquire_async(0)
        await limiter.release_async(first, estimated_tokens=0, actual_tokens=None, throttled=False)
        waiting = asyncio.ensure_future(limiter.acquire_async(0))
        while rds.zcard(limiter.keys["leases"]) == 0:  # until it holds its slot
            await asyncio.sleep(0.01)
        held = int(rds.zcard(limiter.keys["leases"]))
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return held, int(rds.zcard(limiter.keys["leases"]))

    held, after = asyncio.run(scenario())

    assert (held, after) == (1, 0)


def test_a_freed_slot_goes_to_the_worker_that_waited_not_to_the_one_that_freed_it(
    rds: redis.Redis,  # type: ignore[type-arg]
) -> None:
    async def scenario() -> tuple[str | None, str]:
        a, b = (_async_worker(rds, max_concurrency=2) for _ in range(2))
        held = [await a.try_slot(), await a.try_slot()]
        assert all(held)
        waiting = asyncio.ensure_future(b.acquire_async(0))
        while rds.zcard(b.keys["waiting"]) == 0:  # b is in line for a slot
            await asyncio.sleep(0.01)
        # a frees a slot and asks again at once: both in one batch, one script call
        freeing = asyncio.ensure_future(a.end_slot(held[0] or "", "ok"))
        again = asyncio.ensure_future(a.try_slot())
        await freeing
        return await again, await asyncio.wait_for(waiting, 30)

    again, waited = asyncio.run(scenario())

    assert again is None  # a did not jump the line
    assert waited  # b got the slot a freed
    assert rds.zcard("benchq:limit:m:{m}:waiting") == 0  # nobody left in line


def test_a_running_call_keeps_its_slot_past_the_lease(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    # Leases are short (a dead worker's slots come back soon), so a living
    # worker renews the slots of its calls for as long as they run.
    async def scenario() -> tuple[str | None, str | None]:
        living = _async_worker(rds, max_concurrency=1, lease_seconds=0.3)
        other = _async_worker(rds, max_concurrency=1)
        lease = await living.acquire_async(0)
        await asyncio.sleep(1.0)  # three leases long
        during = await other.try_slot()
        await living.release_async(lease, estimated_tokens=0, actual_tokens=None, throttled=False)
        await _given_back(rds, living)  # kept a moment for living's next call, then anyone's
        return during, await other.try_slot()

    during, after = asyncio.run(scenario())

    assert during is None  # still held: renewed while the call ran
    assert after is not None  # released, the slot is anyone's


async def _given_back(rds: redis.Redis, limiter: FleetLimiter) -> None:  # type: ignore[type-arg]
    """Wait until no slot of `limiter`'s model is held (the process gave its kept ones back)."""
    for _ in range(200):
        if rds.zcard(limiter.keys["leases"]) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the kept slots were never given back")


def _counting(limiter: FleetLimiter) -> list[int]:
    """Count the limiter's round trips to Redis (script calls)."""
    calls = [0]
    script = limiter._batch._script

    async def counted(**kw: Any) -> Any:
        calls[0] += 1
        return await script(**kw)

    limiter._batch._script = counted
    return calls


def test_a_quiet_fleet_lets_a_process_reuse_the_slots_its_calls_freed(
    rds: redis.Redis,  # type: ignore[type-arg]
) -> None:
    async def scenario() -> tuple[int, int, int, int]:
        limiter = _async_worker(rds, max_concurrency=4)
        trips = _counting(limiter)
        leases = set()
        for _ in range(50):  # one call after the other, as a busy worker's calls
            lease = await limiter.acquire_async(0)
            leases.add(lease)
            await limiter.release_async(
                lease, estimated_tokens=0, actual_tokens=None, throttled=False
            )
        during = (trips[0], int(rds.zcard(limiter.keys["leases"])))
        await limiter.aclose()
        return *during, len(leases), int(rds.zcard(limiter.keys["leases"]))

    trips, held, distinct, after = asyncio.run(scenario())

    assert trips == 1  # the first slot asked for; 49 calls reused it, none went to Redis
    assert distinct == 1
    assert held == 1  # still the fleet's to count while the process keeps it
    assert after == 0  # given back on close


def test_reused_slots_still_grow_the_adaptive_limit(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    limiter = _async_worker(rds, max_concurrency=16)
    rds.hset(limiter.keys["state"], "limit", "2")  # cut by a 429 somewhere in the fleet

    async def scenario() -> None:
        for _ in range(30):
            lease = await limiter.acquire_async(0)
            await limiter.release_async(
                lease, estimated_tokens=0, actual_tokens=None, throttled=False
            )
        await limiter.aclose()

    asyncio.run(scenario())

    expected = 2.0
    for _ in range(30):  # +1/limit per success, as when each slot is given back
        expected = min(16.0, expected + 1 / expected)
    assert float(rds.hget(limiter.keys["state"], "limit") or 0) == pytest.approx(expected)


def test_a_process_stops_reusing_its_slots_once_a_call_waits_elsewhere(
    rds: redis.Redis,  # type: ignore[type-arg]
) -> None:
    async def scenario() -> tuple[str | None, str]:
        a, b = (_async_worker(rds, max_concurrency=2) for _ in range(2))
        held = [await a.acquire_async(0), await a.acquire_async(0)]
        waiting = asyncio.ensure_future(b.acquire_async(0))
        while rds.zcard(b.keys["waiting"]) == 0:  # b is in line for a slot
            await asyncio.sleep(0.01)
        # a's last word from Redis (nobody waits) is trusted this long, no longer
        await asyncio.sleep(QUIET_SECONDS * 2)
        await a.release_async(held[0], estimated_tokens=0, actual_tokens=None, throttled=False)
        again = await a.try_slot()
        return again, await asyncio.wait_for(waiting, 30)

    again, waited = asyncio.run(scenario())

    assert again is None  # a kept nothing back and did not jump the line
    assert waited  # b got the slot a freed


def test_a_fleet_over_its_limit_ends_the_reuse_at_once(rds: redis.Redis) -> None:  # type: ignore[type-arg]
    async def scenario() -> tuple[str, str, int]:
        limiter = _async_worker(rds, max_concurrency=4)
        first = await limiter.acquire_async(0)
        await limiter.release_async(first, estimated_tokens=0, actual_tokens=None, throttled=False)
        # a reply saying the fleet holds 3 slots against a limit cut to 2
        limiter._on_state([0, 3, b"2"])
        second = await limiter.acquire_async(0)  # asks Redis, after giving the kept one back
        held = int(rds.zcard(limiter.keys["leases"]))
        await limiter.aclose()
        return first, second, held

    first, second, held = asyncio.run(scenario())

    assert second != first  # the kept slot was not used again
    assert held == 1  # only the new call's: the kept one went back first
