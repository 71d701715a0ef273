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
  are leases in a sorted set that expire, so a worker that dies mid-call
  does not hold its slot for ever.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio
import redis.exceptions

from benchq.errors import InfraUnavailable, ProviderBusy, ProviderError

_RATE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
local tats = {}
for i = 1, 2 do
  local incr = tonumber(ARGV[2 * i - 1])
  local tau = tonumber(ARGV[2 * i])
  if incr > 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    if tat < now then tat = now end
    local new_tat = tat + incr
    local allow_at = new_tat - tau
    if allow_at > now and allow_at - now > wait then wait = allow_at - now end
    tats[i] = new_tat
  end
end
if wait > 0 then return wait end
for i = 1, 2 do
  if tats[i] then
    redis.call('SET', KEYS[i], tats[i], 'PX', math.floor((tats[i] - now) / 1000) + 1000)
  end
end
return 0
"""

_SETTLE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local delta = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
tat = tat + delta
if tat > now then
  redis.call('SET', KEYS[1], tat, 'PX', math.floor((tat - now) / 1000) + 1000)
end
return 0
"""

_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_c = tonumber(ARGV[3])
local min_c = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit') or max_c)
if limit > max_c then limit = max_c end
if limit < min_c then limit = min_c end
if redis.call('ZCARD', KEYS[1]) < math.floor(limit) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[2]) / 1000) + 1000)
  return 1
end
return 0
"""

_RELEASE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_c = tonumber(ARGV[3])
local min_c = tonumber(ARGV[4])
local cooldown = tonumber(ARGV[5])
redis.call('ZREM', KEYS[1], ARGV[1])
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit') or max_c)
if ARGV[2] == 'throttled' then
  local last = tonumber(redis.call('HGET', KEYS[2], 'last_cut') or '0')
  if now - last >= cooldown then
    limit = math.max(min_c, limit / 2)
    redis.call('HSET', KEYS[2], 'last_cut', now)
  end
elseif ARGV[2] == 'ok' then
  limit = math.min(max_c, limit + 1 / limit)
end
redis.call('HSET', KEYS[2], 'limit', tostring(limit))
redis.call('EXPIRE', KEYS[2], 86400)
return tostring(limit)
"""


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


class NullLimiter:
    """No limits: for the baseline, single-process runs and tests."""

    async def acquire_async(self, estimated_tokens: int) -> str:
        """Grant at once."""
        return ""

    async def release_async(
        self, lease: str, *, estimated_tokens: int, actual_tokens: int | None, throttled: bool
    ) -> None:
        """Nothing to free."""


@dataclass(frozen=True)
class _Script:
    """One Lua script call: which script, its keys and arguments."""

    name: str
    keys: list[str]
    args: list[Any]


class FleetLimiter:
    """Requests/min, tokens/min and adaptive concurrency for one model, shared via Redis.

    Calls wait for their limits on the process's event loop, and the
    scripts run through redis.asyncio, so a round trip to Redis never stalls
    the loop's other calls. `try_*`, `end_slot` and `settle` run one script
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
        }
        # Lease ids: unique across the fleet by a random prefix per limiter,
        # then a counter (a fresh uuid4 per call costs a system call each).
        self._lease_prefix = f"{uuid.uuid4().hex[:16]}-"
        self._lease_numbers = itertools.count()
        sources = {"rate": _RATE_LUA, "settle": _SETTLE_LUA, "acquire": _ACQUIRE_LUA}
        sources["release"] = _RELEASE_LUA
        self._scripts = {name: client.register_script(lua) for name, lua in sources.items()}

    # -- the scripts' calls ---------------------------------------------------------
    async def _run(self, call: _Script) -> Any:
        try:
            return await self._scripts[call.name](keys=call.keys, args=call.args)
        except redis.exceptions.RedisError as exc:
            # The limiter's Redis is the broker's: its outage is benchq's, not the model's.
            raise InfraUnavailable(f"fleet limiter of {self.model!r}: {exc}") from exc

    def _rate_call(self, tokens: int) -> _Script | None:
        if not self.rpm and not self.tpm:
            return None
        req_interval = int(60e6 / self.rpm) if self.rpm else 0
        req_tau = max(1, int(self.rpm * self.burst_fraction)) * req_interval
        tok_interval = 60e6 / self.tpm if self.tpm else 0.0
        # a call bigger than the burst would never fit: let it fit alone
        tok_burst = max(int(self.tpm * self.burst_fraction), tokens)
        tok_incr = int(tokens * tok_interval) if self.tpm else 0
        args = [req_interval, req_tau, tok_incr, int(tok_burst * tok_interval)]
        return _Script("rate", [self.keys["req"], self.keys["tok"]], args)

    def _settle_call(self, estimated_tokens: int, actual_tokens: int | None) -> _Script | None:
        if not self.tpm or actual_tokens is None or actual_tokens == estimated_tokens:
            return None
        delta = int((actual_tokens - estimated_tokens) * 60e6 / self.tpm)
        return _Script("settle", [self.keys["tok"]], [delta])

    def _slot_call(self, lease: str) -> _Script:
        args = [lease, self.lease_us, self.max_concurrency, self.min_concurrency]
        return _Script("acquire", [self.keys["leases"], self.keys["state"]], args)

    def _end_call(self, lease: str, outcome: str) -> _Script:
        args = [lease, outcome, self.max_concurrency, self.min_concurrency, self.cooldown_us]
        return _Script("release", [self.keys["leases"], self.keys["state"]], args)

    def _new_lease(self) -> str:
        return f"{self._lease_prefix}{next(self._lease_numbers)}"

    # -- rates ------------------------------------------------------------------
    async def try_rate(self, tokens: int) -> float:
        """Charge one request and `tokens` if both limits allow now; else seconds to wait."""
        call = self._rate_call(tokens)
        return 0.0 if call is None else int(await self._run(call)) / 1e6

    async def settle(self, estimated_tokens: int, actual_tokens: int | None) -> None:
        """Correct the token charge once the provider reported the real usage."""
        call = self._settle_call(estimated_tokens, actual_tokens)
        if call is not None:
            await self._run(call)

    # -- concurrency ---------------------------------------------------------------
    async def try_slot(self) -> str | None:
        """Take a concurrency slot if one is free now; return its lease id."""
        lease = self._new_lease()
        return lease if int(await self._run(self._slot_call(lease))) == 1 else None

    async def end_slot(self, lease: str, outcome: str) -> float:
        """Free `lease`; outcome `ok` grows the limit, `throttled` cuts it. Returns the limit."""
        return float(await self._run(self._end_call(lease, outcome)))

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
        waits for the rate gives its slot back.
        """
        started = time.monotonic()
        deadline = started + self.max_wait
        lease = self._new_lease()
        while int(await self._run(self._slot_call(lease))) != 1:
            self._defer_if_long(started, random.uniform(0.5, 2.0), "concurrency")
            await asyncio.sleep(self._checked_wait(deadline, random.uniform(0.02, 0.2)))
        try:
            while (wait := await self.try_rate(estimated_tokens)) > 0:
                self._defer_if_long(started, wait, "rate", ahead=wait)
                # jitter, so waiting workers do not all ask again at the same instant
                await asyncio.sleep(self._checked_wait(deadline, wait + random.uniform(0, 0.05)))
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
        """Free the slot, settle tokens and adapt the concurrency limit."""
        await self.end_slot(lease, "throttled" if throttled else "ok")
        await self.settle(estimated_tokens, actual_tokens)

    def _checked_wait(self, deadline: float, seconds: float) -> float:
        if time.monotonic() + seconds > deadline:
            raise ProviderError(
                f"model {self.model!r}: waited {self.max_wait:.0f}s for a rate-limit slot"
            )
        return seconds
