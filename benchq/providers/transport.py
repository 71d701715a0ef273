"""A lean HTTP path for model calls: JSON POSTs on one aiohttp session per provider.

The SDKs' request machinery is most of what a model call costs a worker:
at 128 calls in flight, `AsyncOpenAI.post` on aiohttp spent 0.98 ms of CPU
per call, google-genai's `generate_content` 2.05 ms, a bare aiohttp POST of
the same body 0.27-0.30 ms (bench/sdk_transport.py, docs/performance.md).
A provider therefore builds its request once through its SDK (URL,
headers: what the user configured on the SDK's client) and
sends each call's body here; errors and answers are turned back into the
SDK's own types by the provider, so what users see is unchanged.

The session is made on the loop that first uses it (aiohttp binds to it),
with at most `limit` connections: sized from the calls a worker keeps in
flight, and a call that finds them all busy waits for one (aiohttp's
connector queues it), never fails for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, read whole."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class JsonTransport:
    """POSTs JSON bodies and reads the answers, on a connection pool of its own."""

    def __init__(self, *, limit: int, timeout: float) -> None:
        self.limit = max(1, limit)
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_here(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.limit, limit_per_host=0)
            # No `skip_auto_headers`: it sends every request down aiohttp's slow
            # header path (a fifth of a call's CPU); the SDK's headers name
            # their own User-Agent anyway.
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
            self._loop = loop
        return self._session

    async def post(self, url: str, data: bytes, headers: Mapping[str, str]) -> Reply:
        """POST `data`, a serialised JSON body; aiohttp's errors and `TimeoutError` propagate."""
        async with self._session_here().post(url, data=data, headers=headers) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    async def aclose(self) -> None:
        """Close the pool (on the loop it was opened on)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
