"""Per-process resources of a worker: settings, store, Redis and providers, made once.

Tasks run in threads of one worker process; these are shared by them and
created lazily, so importing the tasks module opens nothing. Model calls of
every task run on the process's one event loop (`benchq.providers.aio`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from functools import cache
from pathlib import Path
from typing import Literal

import redis
import redis.asyncio

from benchq.config.registry import load_registry
from benchq.config.settings import Settings, load_settings
from benchq.providers.base import Provider
from benchq.providers.cache import RedisCache, ResponseCache, SQLiteCache
from benchq.providers.factory import make_provider
from benchq.store.base import ResultsStore
from benchq.store.factory import open_store

_lock = threading.Lock()
_provider_lock = threading.Lock()
_providers: dict[tuple[str, str], Provider] = {}

CacheMode = Literal["use", "refresh"]


@cache
def settings() -> Settings:
    """The worker's settings, read once from its environment."""
    return load_settings()


@cache
def store() -> ResultsStore:
    """The worker's results store (thread-safe backends)."""
    with _lock:
        return open_store(settings())


def redis_client(url: str) -> redis.Redis:  # type: ignore[type-arg]
    """A redis-py client for a Celery broker URL (`redis://...` or `redis+socket:///path`)."""
    path = _socket_path(url)
    return redis.Redis(unix_socket_path=path) if path else redis.Redis.from_url(url)


def async_redis_client(url: str) -> redis.asyncio.Redis:  # type: ignore[type-arg]
    """`redis_client`, for redis.asyncio (its connections bind to the loop that first uses them)."""
    path = _socket_path(url)
    return redis.asyncio.Redis(unix_socket_path=path) if path else redis.asyncio.Redis.from_url(url)


def _socket_path(url: str) -> str | None:
    # Celery spells a unix socket `redis+socket://`, which redis-py's from_url does not know.
    return url.removeprefix("redis+socket://") if url.startswith("redis+socket://") else None


@cache
def broker_redis() -> redis.Redis:  # type: ignore[type-arg]
    """The broker's Redis: home of the fleet-wide rate limits and the shared cache."""
    url = settings().broker_url
    if not url:
        raise RuntimeError("worker started without BENCHQ_BROKER_URL")
    return redis_client(url)


@cache
def broker_redis_async() -> redis.asyncio.Redis:  # type: ignore[type-arg]
    """`broker_redis` through redis.asyncio; used only on the process's model-call loop."""
    return async_redis_client(settings().broker_url or "")


@cache
def response_cache() -> ResponseCache:
    """The response cache: beside a SQLite store (one machine), else in the shared Redis.

    A SQLite store means one machine and, usually, the embedded Redis that
    dies with the run; a file beside the store keeps answers across runs. A
    shared store means a shared, persistent broker, which all workers reach.
    """
    url = settings().effective_store_url()
    if url.startswith("sqlite:///"):
        return SQLiteCache(Path(url.removeprefix("sqlite:///")).parent / "benchq-cache.db")
    return RedisCache(broker_redis())


def provider(model_name: str, cache_mode: CacheMode = "use") -> Provider:
    """The provider serving a registry model, made once per process and cache mode."""
    key = (model_name, cache_mode)
    found = _providers.get(key)
    if found is not None:
        return found
    # Held while building: otherwise every thread of a fresh worker builds its
    # own SDK client (and connection pool) for the first jobs.
    with _provider_lock:
        found = _providers.get(key)
        if found is None:
            cfg = settings()
            spec = load_registry(cfg).get(model_name)
            found = make_provider(
                spec,
                cfg,
                redis=broker_redis(),
                async_redis=broker_redis_async(),
                cache=response_cache() if spec.provider != "baseline" else None,
                cache_mode=cache_mode,
            )
            _providers[key] = found
        return found


_slots: dict[str, asyncio.Semaphore] = {}


def call_slots(model_name: str) -> asyncio.Semaphore:
    """The in-flight limit of one model's calls in this process (`worker_concurrency`).

    Shared by every job of the model that the process runs at once; only
    ever used on the process's model-call loop.
    """
    with _lock:
        found = _slots.get(model_name)
        if found is None:
            found = _slots[model_name] = asyncio.Semaphore(settings().worker_concurrency)
        return found


def close_providers() -> None:
    """Close every provider this process made (their HTTP connection pools).

    Called when a worker shuts down: an aiohttp session left open is
    reported as an error at exit, which reads like a failure in the logs.
    """
    with _provider_lock:
        made = list(_providers.values())
        _providers.clear()
    for found in made:
        try:
            found.close()
        except Exception:  # shutting down: one stubborn pool must not keep the others open
            logging.getLogger(__name__).warning("closing %s failed", found.kind, exc_info=True)


def worker_name() -> str:
    """This worker's host name, recorded with each result."""
    return socket.gethostname()
