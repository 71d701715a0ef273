"""Redis clients for a broker URL as Celery spells it.

Celery writes a unix socket as `redis+socket:///path` (with the database as
`?virtual_host=N`), which redis-py's `from_url` does not read; producers,
workers and the scheduler all talk to the broker's Redis directly (limits,
cache, claims, health), so they share these two functions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import redis
import redis.asyncio

from benchq.errors import ConfigError


def _socket_kwargs(url: str) -> dict[str, Any] | None:
    parsed = urlparse(url)
    if parsed.scheme not in ("redis+socket", "socket", "unix"):
        return None
    query = parse_qs(parsed.query)
    db = int(query.get("virtual_host", query.get("db", ["0"]))[0] or 0)
    return {"unix_socket_path": parsed.path, "password": parsed.password, "db": db}


def broker_client(url: str, **options: Any) -> redis.Redis:  # type: ignore[type-arg]
    """A blocking redis-py client for a broker URL (`redis://`, `rediss://`, `redis+socket://`)."""
    socket = _socket_kwargs(url)
    if socket is not None:
        return redis.Redis(**socket, **options)
    if urlparse(url).scheme in ("redis", "rediss"):
        return redis.Redis.from_url(url, **options)
    raise ConfigError(f"BENCHQ_BROKER_URL: benchq needs a Redis broker, got scheme of {url[:16]!r}")


def broker_client_async(url: str, **options: Any) -> redis.asyncio.Redis:  # type: ignore[type-arg]
    """`broker_client` for redis.asyncio (its connections bind to the loop that first uses them)."""
    socket = _socket_kwargs(url)
    if socket is not None:
        return redis.asyncio.Redis(**socket, **options)
    if urlparse(url).scheme in ("redis", "rediss"):
        return redis.asyncio.Redis.from_url(url, **options)
    raise ConfigError(f"BENCHQ_BROKER_URL: benchq needs a Redis broker, got scheme of {url[:16]!r}")
