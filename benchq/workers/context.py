"""Per-process resources of a worker: settings, store, Redis and providers, made once.

Tasks run in threads of one worker process; these are shared by them and
created lazily, so importing the tasks module opens nothing, and a worker of
the provider queues never opens the store (it may not have its credentials).
Model calls of every task run on the process's one event loop
(`benchq.providers.aio`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from functools import cache

import redis
import redis.asyncio

from benchq.config.registry import load_registry
from benchq.config.settings import Settings, load_settings
from benchq.errors import ConfigError
from benchq.jobs.broker import broker_client, broker_client_async
from benchq.jobs.messages import CacheMode
from benchq.jobs.target import cache_path
from benchq.providers.base import Provider
from benchq.providers.cache import RedisCache, ResponseCache, SQLiteCache
from benchq.providers.factory import make_provider
from benchq.store.base import ResultsStore
from benchq.store.factory import StoreTarget, open_target, resolve_store_target
from benchq.workers.leases import LeaseKeeper

_lock = threading.Lock()
_provider_lock = threading.Lock()
_providers: dict[tuple[str, str, str], Provider] = {}


@cache
def settings() -> Settings:
    """The worker's settings, read once from its environment."""
    return load_settings()


@cache
def store_target() -> StoreTarget:
    """The store this worker's settings name (resolved by the same rule as the producer's)."""
    return resolve_store_target(settings())


@cache
def store() -> ResultsStore:
    """The worker's results store (thread-safe backends); opened on first use only."""
    with _lock:
        return open_target(store_target())


def _broker_url() -> str:
    url = settings().broker_url
    if not url:
        raise ConfigError("worker started without BENCHQ_BROKER_URL")
    return url


def pool_sizes(worker_concurrency: int, batch_size: int) -> tuple[int, int]:
    """Connections of a worker's two Redis pools: (blocking client, redis.asyncio client).

    The blocking client serves the job threads (ledger, hand-over) and the
    lease keeper: at most one connection each, and a worker runs
    `pool_slots` jobs at once. On the event loop each call in flight holds
    at most one connection at a time (a cache read or write), and each
    model's limiter one for its batched operations. Both pools make a caller
    that finds every connection busy wait for one, so an undersized pool
    slows a worker down but never fails a case.
    """
    threads = -(-worker_concurrency // batch_size) + 2
    return threads + 4, worker_concurrency + 8


@cache
def broker_redis() -> redis.Redis:  # type: ignore[type-arg]
    """The broker's Redis: the ledger of handed-over cases, and the scheduler's claims."""
    cfg = settings()
    return broker_client(
        _broker_url(), max_connections=pool_sizes(cfg.worker_concurrency, cfg.batch_size)[0]
    )


@cache
def broker_redis_async() -> redis.asyncio.Redis:  # type: ignore[type-arg]
    """The broker's Redis through redis.asyncio: fleet limits and the shared cache.

    Used only on the process's model-call loop, so nothing a call waits for
    blocks the other calls in flight.
    """
    cfg = settings()
    return broker_client_async(
        _broker_url(), max_connections=pool_sizes(cfg.worker_concurrency, cfg.batch_size)[1]
    )


@cache
def leases() -> LeaseKeeper:
    """This process's lease keeper: renews the jobs it holds, every quarter of the timeout."""
    keeper = LeaseKeeper(broker_redis(), interval=max(1.0, settings().visibility_timeout / 4))
    keeper.start()
    return keeper


@cache
def response_cache() -> ResponseCache:
    """The response cache: in the broker's Redis, or beside the store of the embedded default."""
    path = cache_path(store_target(), _broker_url())
    return SQLiteCache(path) if path is not None else RedisCache(broker_redis_async())


def provider(
    model_name: str, cache_mode: CacheMode = "use", prompt_version: str = "v1"
) -> Provider:
    """The provider serving a registry model, made once per process, cache mode and prompt."""
    key = (model_name, cache_mode, prompt_version)
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
                async_redis=broker_redis_async(),
                # Not even opened when off: a cache file nobody reads costs
                # its writers' start-up (and, opened by every worker at
                # once, made them wait for each other).
                cache=response_cache()
                if spec.provider != "baseline" and cfg.response_cache
                else None,
                cache_mode=cache_mode,
                prompt_version=prompt_version,
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
