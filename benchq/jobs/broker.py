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


def broker_client(url: str, *, max_connections: int | None = None, **options: Any) -> redis.Redis:  # type: ignore[type-arg]
    """A blocking redis-py client for a broker URL (`redis://`, `rediss://`, `redis+socket://`).

    With `max_connections`, a thread that finds every connection busy waits
    for one (`BlockingConnectionPool`) instead of failing.
    """
    socket = _socket_kwargs(url)
    if socket is None and urlparse(url).scheme not in ("redis", "rediss"):
        raise ConfigError(
            f"BENCHQ_BROKER_URL: benchq needs a Redis broker, got scheme of {url[:16]!r}"
        )
    if max_connections is not None:
        if socket is not None:
            pool = redis.BlockingConnectionPool(
                max_connections=max_connections,
                timeout=None,  # type: ignore[arg-type]
                connection_class=redis.UnixDomainSocketConnection,  # type: ignore[arg-type]
                path=socket["unix_socket_path"],
                password=socket["password"],
                db=socket["db"],
                **options,
            )
        else:
            pool = redis.BlockingConnectionPool.from_url(
                url, max_connections=max_connections, timeout=None, **options
            )
        return redis.Redis(connection_pool=pool)
    if socket is not None:
        return redis.Redis(**socket, **options)
    return redis.Redis.from_url(url, **options)


def broker_client_async(
    url: str, *, max_connections: int | None = None, **options: Any
) -> redis.asyncio.Redis:  # type: ignore[type-arg]
    """`broker_client` for redis.asyncio (its connections bind to the loop that first uses them).

    With `max_connections`, the client's pool holds at most that many
    connections and a caller that finds them all busy waits for one
    (redis-py's `BlockingConnectionPool`, no time limit) instead of failing
    with `MaxConnectionsError`: a busy pool is not an outage.
    """
    socket = _socket_kwargs(url)
    if socket is None and urlparse(url).scheme not in ("redis", "rediss"):
        raise ConfigError(
            f"BENCHQ_BROKER_URL: benchq needs a Redis broker, got scheme of {url[:16]!r}"
        )
    if max_connections is not None:
        if socket is not None:
            pool = redis.asyncio.BlockingConnectionPool(
                max_connections=max_connections,
                timeout=None,
                connection_class=redis.asyncio.UnixDomainSocketConnection,
                path=socket["unix_socket_path"],
                password=socket["password"],
                db=socket["db"],
                **options,
            )
        else:
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                url, max_connections=max_connections, timeout=None, **options
            )
        return redis.asyncio.Redis(connection_pool=pool)
    if socket is not None:
        return redis.asyncio.Redis(**socket, **options)
    return redis.asyncio.Redis.from_url(url, **options)
