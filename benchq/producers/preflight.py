"""Before a run is recorded anywhere: can the broker and the store be reached?

A run recorded in the store whose jobs never reach the broker stays `queued`
for ever; a traceback of Celery's connection retries tells a user nothing
they can act on. So a producer asks both first (the store through
`ResultsStore.ping`), with short timeouts, and stops with one line naming
what it could not reach.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis

from benchq.errors import BrokerUnavailable

#: Seconds to wait for the broker before calling it unreachable.
BROKER_TIMEOUT = 5.0


def safe_url(url: str) -> str:
    """`url` with any password replaced by `***`, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def check_broker(url: str, timeout: float = BROKER_TIMEOUT) -> None:
    """PING the broker; `BrokerUnavailable` naming it (password hidden) when it does not answer."""
    if url.startswith("redis+socket://"):
        client = redis.Redis(
            unix_socket_path=url.removeprefix("redis+socket://"),
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
        )
    elif url.startswith(("redis://", "rediss://", "unix://")):
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    else:
        # Another transport (amqp, ...): Celery itself will say whether it answers.
        return
    try:
        client.ping()
    except redis.RedisError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BrokerUnavailable(f"cannot reach the broker at {safe_url(url)}: {detail}") from None
    finally:
        client.close()
