"""The response cache: an unchanged (model, prompt, parameters, document) is not asked twice.

The key covers everything that decides an answer: provider, model id, prompt
version and digest, output schema, sampling parameters and the document. A
cached answer keeps the tokens, latency and cost measured when it was made
(they describe the model, which is what the benchmark reports) and says
`cached=True`, `attempts=0`, so a reader can tell that no call, and no money,
was spent this time. Errors are never cached: a failed case is tried again.

Backends implement the two-coroutine `ResponseCache` protocol. Both are
awaited on the worker's event loop, never called blocking from it: Redis
through redis.asyncio, the SQLite file in a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

import redis
import redis.asyncio

from benchq.providers.base import ModelAnswer, Provider
from benchq.sqlite_wal import use_wal

log = logging.getLogger(__name__)


class ResponseCache(Protocol):
    """Where answers are kept, as opaque strings under opaque keys."""

    async def get(self, key: str) -> str | None:
        """The value stored under `key`, or None."""
        ...

    async def put(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing any older one."""
        ...


def cache_key(
    provider: str,
    model_id: str,
    prompt_version: str,
    params: Mapping[str, Any],
    document: str,
) -> str:
    """A SHA-256 hex key over everything that decides an answer."""
    payload = json.dumps(
        {
            "provider": provider,
            "model_id": model_id,
            "prompt_version": prompt_version,
            "params": dict(params),
            "document": document,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class RedisCache:
    """A cache shared by the fleet, in Redis, with an expiry.

    A Redis failure is logged and treated as a miss: the cache saves money, it
    must never fail a case.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,  # type: ignore[type-arg]
        *,
        prefix: str = "benchq:cache:",
        ttl_seconds: int = 30 * 86400,
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.ttl = ttl_seconds

    async def get(self, key: str) -> str | None:
        """The value under `key`, or None (also when Redis fails)."""
        try:
            value = await self.redis.get(self.prefix + key)
        except redis.RedisError as exc:
            log.warning("response cache read failed: %s", exc)
            return None
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    async def put(self, key: str, value: str) -> None:
        """Store `value` with the cache's expiry (a failure is logged, not raised)."""
        try:
            await self.redis.set(self.prefix + key, value, ex=self.ttl)
        except redis.RedisError as exc:
            log.warning("response cache write failed: %s", exc)


class SQLiteCache:
    """A cache in a local SQLite file: the embedded default's persistent cache.

    The embedded Redis lives only as long as one `benchq run`, so a cache in
    it would be empty on every re-run; this file, kept beside the store in the
    working directory, is what makes a re-run of an unchanged suite free.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._conn().execute(
            "CREATE TABLE IF NOT EXISTS response_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            use_wal(conn)
            self._local.conn = conn
        return conn

    async def get(self, key: str) -> str | None:
        """The value under `key`, or None (also when the file cannot be read)."""
        return await asyncio.to_thread(self._get, key)

    async def put(self, key: str, value: str) -> None:
        """Store `value` (a failure is logged, not raised)."""
        await asyncio.to_thread(self._put, key, value)

    def _get(self, key: str) -> str | None:
        try:
            row = (
                self._conn()
                .execute("SELECT value FROM response_cache WHERE key=?", (key,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            log.warning("response cache read failed: %s", exc)
            return None
        return None if row is None else str(row[0])

    def _put(self, key: str, value: str) -> None:
        try:
            self._conn().execute(
                "INSERT OR REPLACE INTO response_cache VALUES (?, ?)", (key, value)
            )
        except sqlite3.Error as exc:
            log.warning("response cache write failed: %s", exc)


class CachingProvider(Provider):
    """Wraps a provider: answers from the cache when it can, stores what it gets.

    `mode="use"` reads and writes; `mode="refresh"` skips reads (forces fresh
    calls) but still writes, to renew the cache.
    """

    def __init__(
        self,
        inner: Provider,
        cache: ResponseCache,
        *,
        identity: Mapping[str, Any],
        mode: Literal["use", "refresh"] = "use",
    ) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.model_id = inner.model_id
        self.prompt_digest = inner.prompt_digest
        self.cache = cache
        self.identity = dict(identity)
        self.mode = mode

    def key_for(self, document: str) -> str:
        """The cache key of `document` under this provider's identity."""
        ident = dict(self.identity)
        provider = str(ident.pop("provider", self.kind))
        model_id = str(ident.pop("model_id", ""))
        prompt_version = str(ident.pop("prompt_version", ""))
        return cache_key(provider, model_id, prompt_version, ident, document)

    async def analyze_async(self, document: str) -> ModelAnswer:
        """The cached answer (marked `cached=True`), or the inner provider's, then stored."""
        key = self.key_for(document)
        if self.mode == "use":
            hit = await self.cache.get(key)
            if hit is not None:
                try:
                    answer = ModelAnswer.model_validate_json(hit)
                except ValueError:
                    log.warning("response cache entry %s is unreadable; calling the model", key)
                else:
                    return answer.model_copy(update={"cached": True, "attempts": 0})
        answer = await self.inner.analyze_async(document)
        await self.cache.put(key, answer.model_dump_json())
        return answer

    def close(self) -> None:
        """Close the inner provider."""
        self.inner.close()
