"""Fleet-wide request, token and concurrency limits per model, kept in Redis.

Every worker thread on every machine asks the same Redis keys, so a model's
requests-per-minute and tokens-per-minute hold for the fleet as a whole:

- Rates use GCRA (a leaky bucket that stores one "theoretical arrival time"
  per limit): one Lua script checks the request and the token limit together
  and commits both or neither, timed by Redis's own clock so that machines
  with skewed clocks still agree. A burst of a tenth of a minute's allowance
  is let through at once; after that calls are paced evenly.
- Tokens are not known before the call, so an estimate is charged up front
  and the difference settled when the provider reports the real usage.
- Concurrency is an adaptive limit (AIMD): halved when the provider answers
  429 (at most once per cool-down, as one burst of 429s is one signal), and
  raised by 1/limit per success, about +1 per limit's worth of calls. Slots
  are leases in a sorted set that expire unless renewed: a living worker
  renews the slots of its running calls, one that dies mid-call frees them
  within a lease (30 s), not after the longest call's timeout. A freed slot
  goes to the call that has waited longest anywhere in the fleet, not to
  whoever asks next: a worker that frees a slot and asks again at once (in
  the same batch, even) would otherwise keep the model to itself while
  others wait and defer their jobs.
- While nobody in the fleet waits, a process keeps a slot its call freed
  for its own next call, for a moment (`SPARE_SECONDS`), instead of giving
  it back and asking again: two limiter operations (and their share of a
  batched round trip) saved per call, the bulk of the limiter's CPU at
  hundreds of calls in flight. Every reply from Redis says
  whether anyone waits and whether the fleet holds more slots than its
  limit; such a reply is trusted for `QUIET_SECONDS`, so a call that starts
  waiting elsewhere is passed over for that long at most. Only without
  rate limits: with them, every call is charged in Redis anyway.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio
import redis.exceptions

from benchq.errors import InfraUnavailable, ProviderBusy, ProviderError

# One script runs a batch of operations, in order and atomically: every call
# that waits on the loop for Redis at the same moment shares one round trip
# (see `_Batcher`). Each operation is its kind, its argument count, then its
# arguments; the reply holds one result per operation.
_BATCH_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
-- a waiting call asks again at least every 0.2 s; one silent for 2 s gave up
local WAITER_US = 2000000

local function rate(a, i)
  -- GCRA over KEYS[1] (requests) and KEYS[2] (tokens): both or neither
  local wait = 0
  local tats = {}
  for k = 1, 2 do
    local incr = tonumber(a[i + 2 * k - 2])
    local tau = tonumber(a[i + 2 * k - 1])
    if incr > 0 then
      local tat = tonumber(redis.call('GET', KEYS[k]) or '0')
      if tat < now then tat = now end
      local new_tat = tat + incr
      local allow_at = new_tat - tau
      if allow_at > now and allow_at - now > wait then wait = allow_at - now end
      tats[k] = new_tat
    end
  end
  if wait > 0 then return wait end
  for k = 1, 2 do
    if tats[k] then
      redis.call('SET', KEYS[k], tats[k], 'PX', math.floor((tats[k] - now) / 1000) + 1000)
    end
  end
  return 0
end

local function settle(delta)
  if delta == 0 then return 0 end
  local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tat < now then tat = now end
  tat = tat + delta
  if tat > now then
    redis.call('SET', KEYS[2], tat, 'PX', math.floor((tat - now) / 1000) + 1000)
  end
  return 0
end

local function slot(a, i)
  -- A free slot goes to the calls that have waited longest, fleet-wide
  -- (KEYS[5]: lease -> when it first asked; KEYS[6]: lease -> when it last
  -- asked, so a caller that gave up is forgotten after WAITER_US).
  local lease = a[i]
  local lease_us = tonumber(a[i + 1])
  local max_c = tonumber(a[i + 2])
  local min_c = tonumber(a[i + 3])
  local queue = a[i + 4] == '1'  -- a caller that will ask again with this lease
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  local limit = tonumber(redis.call('HGET', KEYS[4], 'limit') or max_c)
  if limit > max_c then limit = max_c end
  if limit < min_c then limit = min_c end
  local free = math.floor(limit) - redis.call('ZCARD', KEYS[3])
  local ahead = 0
  if redis.call('EXISTS', KEYS[6]) == 1 then
    for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now - WAITER_US)) do
      redis.call('ZREM', KEYS[5], gone)
      redis.call('ZREM', KEYS[6], gone)
    end
    local since = redis.call('ZSCORE', KEYS[5], lease)
    if since then
      ahead = redis.call('ZCOUNT', KEYS[5], '-inf', '(' .. since)
    else
      ahead = redis.call('ZCARD', KEYS[5])
    end
  end
  if free > ahead then
    redis.call('ZADD', KEYS[3], now + lease_us, lease)
    redis.call('PEXPIRE', KEYS[3], math.floor(lease_us / 1000) + 1000)
    redis.call('ZREM', KEYS[5], lease)
    redis.call('ZREM', KEYS[6], lease)
    return 1
  end
  if queue then
    redis.call('ZADD', KEYS[5], 'NX', now, lease)
    redis.call('ZADD', KEYS[6], now, lease)
    redis.call('PEXPIRE', KEYS[5], math.floor(WAITER_US / 1000) + 1000)
    redis.call('PEXPIRE', KEYS[6], math.floor(WAITER_US / 1000) + 1000)
  end
  return 0
end

local function release(a, i)
  local max_c = tonumber(a[i + 2])
  local min_c = tonumber(a[i + 3])
  local cooldown = tonumber(a[i + 4])
  redis.call('ZREM', KEYS[3], a[i])
  local limit = tonumber(redis.call('HGET', KEYS[4], 'limit') or max_c)
  if a[i + 1] == 'throttled' then
    local last = tonumber(redis.call('HGET', KEYS[4], 'last_cut') or '0')
    if now - last >= cooldown then
      limit = math.max(min_c, limit / 2)
      redis.call('HSET', KEYS[4], 'last_cut', now)
    end
  elseif a[i + 1] == 'ok' then
    limit = math.min(max_c, limit + 1 / limit)
  end
  redis.call('HSET', KEYS[4], 'limit', tostring(limit))
  redis.call('EXPIRE', KEYS[4], 86400)
  return tostring(limit)
end

local out = {}
local i = 1
local k = 1
while i <= #ARGV do
  local op = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  local a = i + 2
  if op == 'rate' then
    out[k] = rate(ARGV, a)
  elseif op == 'settle' then
    out[k] = settle(tonumber(ARGV[a]))
  elseif op == 'slot' then
    out[k] = slot(ARGV, a)
  elseif op == 'slotrate' then
    -- a slot, then the rates while holding it: -1 without a slot, else the wait
    if slot(ARGV, a) == 1 then out[k] = rate(ARGV, a + 5) else out[k] = -1 end
  elseif op == 'renew' then
    -- the leases of calls still running: held for another lease period
    local lease_us = tonumber(ARGV[a])
    for j = a + 1, a + n - 1 do
      redis.call('ZADD', KEYS[3], 'XX', now + lease_us, ARGV[j])
    end
    redis.call('PEXPIRE', KEYS[3], math.floor(lease_us / 1000) + 1000)
    out[k] = 0
  elseif op == 'leave' then
    -- a waiting call that gave up (deferred, cancelled) leaves the line
    redis.call('ZREM', KEYS[5], ARGV[a])
    redis.call('ZREM', KEYS[6], ARGV[a])
    out[k] = 0
  elseif op == 'end' then
    out[k] = release(ARGV, a)
  elseif op == 'endsettle' then
    out[k] = release(ARGV, a)
    settle(tonumber(ARGV[a + 5]))
  elseif op == 'grow' then
    -- successes of calls that reused their process's slot: +1/limit each
    local max_c = tonumber(ARGV[a + 1])
    local limit = tonumber(redis.call('HGET', KEYS[4], 'limit') or max_c)
    for _ = 1, tonumber(ARGV[a]) do limit = math.min(max_c, limit + 1 / limit) end
    redis.call('HSET', KEYS[4], 'limit', tostring(limit))
    redis.call('EXPIRE', KEYS[4], 86400)
    out[k] = 0
  else
    return redis.error_reply('unknown limiter operation ' .. tostring(op))
  end
  i = a + n
  k = k + 1
end
-- last, the fleet's state for reusing slots in a process: calls waiting,
-- slots held, the adaptive limit ('' when never adapted)
out[k] = {redis.call('ZCARD', KEYS[5]), redis.call('ZCARD', KEYS[3]),
          redis.call('HGET', KEYS[4], 'limit') or ''}
return out
"""

#: Operations sent in one round trip at most (a bound on the script's run time).
_MAX_BATCH = 256

#: How long a slot is held without renewal: a dead worker's slots are free
#: again this long after it died (a living one renews them every third of it).
SLOT_LEASE_SECONDS = 30.0

#: How long a slot its call freed stays with the process for its next call
#: (while the fleet is quiet) before it is given back.
SPARE_SECONDS = 0.05

#: How long a reply saying that nobody in the fleet waits is trusted: the
#: longest a call that starts waiting elsewhere is passed over.
QUIET_SECONDS = 0.1


class Limiter(Protocol):
    """What a provider asks before and tells after each attempt of a model call."""

    async def acquire_async(self, estimated_tokens: int) -> str:
        """Wait, without blocking the event loop, until a call may start; return its lease."""
        ...

    async def release_async(
        self, lease: str, *, estimated_tokens: int, actual_tokens: int | None, throttled: bool
    ) -> None:
        """The call ended: free its slot, settle its tokens, adapt concurrency."""
        ...

    async def aclose(self) -> None:
        """Give back what the process still holds for its next calls."""
        ...


class NullLimiter:
    """No limits: for the baseline, single-process runs and tests."""

    async def acquire_async(self, estimated_tokens: int) -> str:
        """Grant at once."""
        return ""

    async def release_async(
        self, lease: str, *, estimated_tokens: int, actual_tokens: int | None, throttled: bool
    ) -> None:
        """Nothing to free."""

    async def aclose(self) -> None:
        """Nothing held."""


@dataclass(frozen=True)
class _Op:
    """One limiter operation of a batch: its kind (see `_BATCH_LUA`) and arguments."""

    kind: str
    args: tuple[Any, ...]


class _Batcher:
    """Sends the operations awaited at the same moment on a loop in one script call.

    The first operation starts a round trip on the next turn of the loop;
    operations submitted meanwhile, and while a round trip is out, go in the
    next one. Under load a worker with a hundred calls in flight makes a few
    round trips where it made hundreds, and needs one connection for them,
    not one per waiting call; alone, an operation waits for nothing.
    """

    def __init__(
        self,
        script: Any,
        keys: list[str],
        model: str,
        on_state: Callable[[list[Any]], None] = lambda state: None,
    ) -> None:
        self._script = script
        self._keys = keys
        self._model = model
        self._on_state = on_state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[_Op, asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None

    def submit(self, op: _Op) -> asyncio.Future[Any]:
        """Queue `op`; the future resolves to its result (or `InfraUnavailable`)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A limiter driven from another loop (tests run several): start afresh there.
            self._loop, self._pending, self._task = loop, [], None
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((op, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[:_MAX_BATCH]
            del self._pending[:_MAX_BATCH]
            args: list[Any] = []
            for op, _ in batch:
                args += [op.kind, len(op.args), *op.args]
            try:
                replies = await self._script(keys=self._keys, args=args)
            except redis.exceptions.RedisError as exc:
                # The limiter's Redis is the broker's: its outage is benchq's, not the model's.
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            InfraUnavailable(f"fleet limiter of {self._model!r}: {exc}")
                        )
                continue
            except BaseException:
                # Cancelled (the loop is closing): nobody must wait for ever.
                for _, future in [*batch, *self._pending]:
                    future.cancel()
                self._pending = []
                raise
            *replies, state = replies
            self._on_state(state)
            for (_, future), reply in zip(batch, replies, strict=True):
                if not future.done():  # a caller that was cancelled meanwhile
                    future.set_result(reply)


class FleetLimiter:
    """Requests/min, tokens/min and adaptive concurrency for one model, shared via Redis.

    Calls wait for their limits on the process's event loop, and the
    operations run through redis.asyncio, batched (`_Batcher`), so a round
    trip to Redis never stalls the loop's other calls and a busy worker pays
    for few of them. `try_*`, `end_slot` and `settle` run one operation
    each: the steps `acquire_async` and `release_async` are made of.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,  # type: ignore[type-arg]
        model: str,
        *,
        requests_per_minute: int = 0,
        tokens_per_minute: int = 0,
        max_concurrency: int = 16,
        min_concurrency: int = 1,
        lease_seconds: float = 300.0,
        cooldown_seconds: float = 5.0,
        burst_fraction: float = 0.1,
        max_wait_seconds: float = 600.0,
        defer_after_seconds: float | None = None,
        prefix: str = "benchq:limit",
    ) -> None:
        self.redis = client
        self.model = model
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self.max_concurrency = max_concurrency
        self.min_concurrency = max(1, min(min_concurrency, max_concurrency))
        self.lease_us = int(lease_seconds * 1e6)
        self.cooldown_us = int(cooldown_seconds * 1e6)
        self.burst_fraction = burst_fraction
        self.max_wait = max_wait_seconds
        # Past this much waiting, raise ProviderBusy so the job is requeued
        # instead of holding a worker thread that other models could use.
        self.defer_after = defer_after_seconds
        base = f"{prefix}:{model}"
        # one hash tag per model: all its keys land on one Redis Cluster slot
        self.keys = {
            "req": f"{base}:{{{model}}}:req",
            "tok": f"{base}:{{{model}}}:tok",
            "leases": f"{base}:{{{model}}}:leases",
            "state": f"{base}:{{{model}}}:state",
            "waiting": f"{base}:{{{model}}}:waiting",
            "asked": f"{base}:{{{model}}}:asked",
        }
        # Lease ids: unique across the fleet by a random prefix per limiter,
        # then a counter (a fresh uuid4 per call costs a system call each).
        self._lease_prefix = f"{uuid.uuid4().hex[:16]}-"
        self._lease_numbers = itertools.count()
        keys = [self.keys[k] for k in ("req", "tok", "leases", "state", "waiting", "asked")]
        self._batch = _Batcher(client.register_script(_BATCH_LUA), keys, model, self._on_state)
        # Slots of calls still running are renewed every third of a lease,
        # so a lease can be short: a worker that dies frees its slots within
        # `lease_seconds`, however long a call may take.
        self._held: set[str] = set()
        self._renewer: asyncio.Task[None] | None = None
        # Slots freed by this process's calls, kept for its next ones (held
        # and renewed meanwhile), with when each was freed; successes not yet
        # counted in Redis; until when the fleet was last seen quiet.
        self._reuse = not self.rpm and not self.tpm
        self._spare: collections.deque[tuple[str, float]] = collections.deque()
        self._grown = 0
        self._quiet_until = 0.0
        self._spare_timer: asyncio.TimerHandle | None = None
        self._spare_loop: asyncio.AbstractEventLoop | None = None

    # -- the operations' arguments ----------------------------------------------------
    def _op(self, kind: str, *args: Any) -> asyncio.Future[Any]:
        return self._batch.submit(_Op(kind, args))

    def _rate_args(self, tokens: int) -> tuple[int, ...] | None:
        if not self.rpm and not self.tpm:
            return None
        req_interval = int(60e6 / self.rpm) if self.rpm else 0
        req_tau = max(1, int(self.rpm * self.burst_fraction)) * req_interval
        tok_interval = 60e6 / self.tpm if self.tpm else 0.0
        # a call bigger than the burst would never fit: let it fit alone
        tok_burst = max(int(self.tpm * self.burst_fraction), tokens)
        tok_incr = int(tokens * tok_interval) if self.tpm else 0
        return (req_interval, req_tau, tok_incr, int(tok_burst * tok_interval))

    def _settle_delta(self, estimated_tokens: int, actual_tokens: int | None) -> int:
        if not self.tpm or actual_tokens is None or actual_tokens == estimated_tokens:
            return 0
        return int((actual_tokens - estimated_tokens) * 60e6 / self.tpm)

    def _slot_args(self, lease: str, queue: bool) -> tuple[Any, ...]:
        # queue: the caller asks again with this lease until it gets a slot,
        # so it takes its place in the fleet's line of waiting calls
        flag = "1" if queue else "0"
        return (lease, self.lease_us, self.max_concurrency, self.min_concurrency, flag)

    def _end_args(self, lease: str, outcome: str) -> tuple[Any, ...]:
        return (lease, outcome, self.max_concurrency, self.min_concurrency, self.cooldown_us)

    def _new_lease(self) -> str:
        return f"{self._lease_prefix}{next(self._lease_numbers)}"

    # -- rates ------------------------------------------------------------------
    async def try_rate(self, tokens: int) -> float:
        """Charge one request and `tokens` if both limits allow now; else seconds to wait."""
        args = self._rate_args(tokens)
        return 0.0 if args is None else int(await self._op("rate", *args)) / 1e6

    async def settle(self, estimated_tokens: int, actual_tokens: int | None) -> None:
        """Correct the token charge once the provider reported the real usage."""
        delta = self._settle_delta(estimated_tokens, actual_tokens)
        if delta:
            await self._op("settle", delta)

    # -- concurrency ---------------------------------------------------------------
    async def try_slot(self) -> str | None:
        """Take a concurrency slot if one is free now; return its lease id."""
        lease = self._new_lease()
        return lease if int(await self._take("slot", lease, (), queue=False)) == 1 else None

    async def end_slot(self, lease: str, outcome: str) -> float:
        """Free `lease`; outcome `ok` grows the limit, `throttled` cuts it. Returns the limit."""
        self._held.discard(lease)
        return float(await self._op("end", *self._end_args(lease, outcome)))

    def _hold(self, lease: str) -> str:
        """Renew `lease` while its call runs (until it is released)."""
        self._held.add(lease)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew())
        return lease

    async def _renew(self) -> None:
        while self._held:
            await asyncio.sleep(self.lease_us / 3e6)
            if self._held:
                try:
                    await self._op("renew", self.lease_us, *sorted(self._held))
                except InfraUnavailable:
                    continue  # the broker is away; its leases wait for it too

    async def _take(
        self, kind: str, lease: str, rate: tuple[int, ...], *, queue: bool = True
    ) -> Any:
        """Run a slot-taking operation; a caller cancelled meanwhile gives the slot back."""
        future = self._op(kind, *self._slot_args(lease, queue), *rate)
        try:
            return await future
        except asyncio.CancelledError:
            # The operation still runs in Redis and may take the slot: free it
            # right after (operations run in the order they were queued).
            self._op("end", *self._end_args(lease, "none")).add_done_callback(_quiet)
            raise

    async def concurrency_limit(self) -> float:
        """The fleet's current adaptive concurrency limit for this model."""
        try:
            value = await self.redis.hget(self.keys["state"], "limit")
        except redis.exceptions.RedisError as exc:
            raise InfraUnavailable(f"fleet limiter of {self.model!r}: {exc}") from exc
        return float(value) if value is not None else float(self.max_concurrency)

    # -- the Limiter protocol ------------------------------------------------------
    async def acquire_async(self, estimated_tokens: int) -> str:
        """Wait for a slot, then for the rate limits; ProviderError after `max_wait_seconds`.

        A waiting call costs no thread. An error or a cancellation while it
        waits for the rate gives its slot back. The slot and the first rate
        check are one operation. While the fleet is quiet, a slot a call of
        this process freed a moment ago is taken again without asking Redis
        (`release_async`).
        """
        if self._spare:
            if time.monotonic() < self._quiet_until:
                return self._spare.pop()[0]
            self._give_back_spares()  # before asking: these ends run first
        started = time.monotonic()
        deadline = started + self.max_wait
        lease = self._new_lease()
        rate = self._rate_args(estimated_tokens)
        try:
            while True:
                if rate is None:
                    if int(await self._take("slot", lease, ())) == 1:
                        return self._hold(lease)
                else:
                    got = int(await self._take("slotrate", lease, rate))
                    if got == 0:
                        return self._hold(lease)
                    if got > 0:
                        self._hold(lease)
                        wait = got / 1e6
                        break
                self._defer_if_long(started, random.uniform(0.5, 2.0), "concurrency")
                await asyncio.sleep(self._checked_wait(deadline, random.uniform(0.02, 0.2)))
        except BaseException:
            # Giving up (deferred, cancelled, an outage): out of the line at
            # once, or the calls behind it would wait for a caller who left.
            self._op("leave", lease).add_done_callback(_quiet)
            raise
        try:
            while wait > 0:
                self._defer_if_long(started, wait, "rate", ahead=wait)
                # jitter, so waiting workers do not all ask again at the same instant
                await asyncio.sleep(self._checked_wait(deadline, wait + random.uniform(0, 0.05)))
                wait = await self.try_rate(estimated_tokens)
        except BaseException:
            await self.end_slot(lease, "none")
            raise
        return lease

    def _defer_if_long(
        self, started: float, retry_after: float, what: str, ahead: float = 0.0
    ) -> None:
        if self.defer_after is None:
            return
        if time.monotonic() - started + ahead > self.defer_after:
            raise ProviderBusy(
                f"model {self.model!r}: fleet {what} limit reached; requeued",
                retry_after=retry_after,
            )

    async def release_async(
        self, lease: str, *, estimated_tokens: int, actual_tokens: int | None, throttled: bool
    ) -> None:
        """Free the slot, settle tokens and adapt the concurrency limit (one operation).

        While the fleet is quiet, a slot whose call succeeded stays with the
        process for its next call instead (`SPARE_SECONDS`).
        """
        if not throttled and self._reuse and time.monotonic() < self._quiet_until:
            self._keep_spare(lease)
            return
        if throttled:
            self._quiet_until = 0.0
            self._give_back_spares()
        self._held.discard(lease)
        end = self._end_args(lease, "throttled" if throttled else "ok")
        delta = self._settle_delta(estimated_tokens, actual_tokens)
        await (self._op("endsettle", *end, delta) if delta else self._op("end", *end))

    async def aclose(self) -> None:
        """Give back the slots kept for this process's next calls, and count their successes."""
        if self._spare_timer is not None:
            self._spare_timer.cancel()
            self._spare_timer = None
        ends = self._give_back_spares()
        if ends:
            await asyncio.gather(*ends, return_exceptions=True)

    # -- slots kept for the process's next calls -----------------------------------------
    def _on_state(self, state: list[Any]) -> None:
        """A reply's view of the fleet: may freed slots stay in the process for a while?"""
        waiting, held, limit = int(state[0]), int(state[1]), state[2]
        cap = float(limit) if limit not in ("", b"", None) else float(self.max_concurrency)
        cap = min(float(self.max_concurrency), max(float(self.min_concurrency), cap))
        if waiting == 0 and held <= math.floor(cap):
            self._quiet_until = time.monotonic() + QUIET_SECONDS
        else:
            self._quiet_until = 0.0
            if self._spare:
                self._give_back_spares()

    def _keep_spare(self, lease: str) -> None:
        self._spare.append((lease, time.monotonic()))
        self._grown += 1
        loop = asyncio.get_running_loop()
        # (a timer of a loop that has since closed would never fire)
        if self._spare_timer is None or self._spare_loop is not loop:
            self._spare_loop = loop
            self._spare_timer = loop.call_later(SPARE_SECONDS, self._expire_spares)

    def _expire_spares(self) -> None:
        """Give back the slots kept longer than `SPARE_SECONDS`; look again for the rest."""
        self._spare_timer = None
        cutoff = time.monotonic() - SPARE_SECONDS
        expired = []
        while self._spare and self._spare[0][1] <= cutoff:
            expired.append(self._spare.popleft()[0])
        self._give_back(expired)
        if self._spare:
            wait = max(0.0, self._spare[0][1] + SPARE_SECONDS - time.monotonic())
            self._spare_timer = asyncio.get_running_loop().call_later(wait, self._expire_spares)

    def _give_back_spares(self) -> list[asyncio.Future[Any]]:
        leases = [lease for lease, _ in self._spare]
        self._spare.clear()
        return self._give_back(leases)

    def _give_back(self, leases: list[str]) -> list[asyncio.Future[Any]]:
        """End `leases` (kept, not used again) and count the successes kept so far."""
        ops = []
        for lease in leases:
            self._held.discard(lease)
            ops.append(self._op("end", *self._end_args(lease, "none")))
        if self._grown:
            ops.append(self._op("grow", self._grown, self.max_concurrency))
            self._grown = 0
        for op in ops:
            op.add_done_callback(_quiet)
        return ops

    def _checked_wait(self, deadline: float, seconds: float) -> float:
        if time.monotonic() + seconds > deadline:
            raise ProviderError(
                f"model {self.model!r}: waited {self.max_wait:.0f}s for a rate-limit slot"
            )
        return seconds


def _quiet(future: asyncio.Future[Any]) -> None:
    """Retrieve a fire-and-forget operation's outcome, so asyncio does not log it as lost."""
    if not future.cancelled():
        future.exception()
