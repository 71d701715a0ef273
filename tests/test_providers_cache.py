"""The response cache: an unchanged suite makes no provider calls; answers are marked."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
from pydantic import SecretStr
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from standin import Fault, StandinServer
from standin.redis_proc import private_redis

from benchq.config.registry import ModelSpec
from benchq.errors import ProviderRejected
from benchq.providers.cache import CachingProvider, RedisCache, SQLiteCache, cache_key
from benchq.providers.openai_chat import OpenAIChatProvider
from benchq.providers.prompts import load_prompt
from benchq.providers.retry import RetryPolicy
from tests.memory_cache import MemoryCache
from tests.sqlite_writer import open_while_written

DOCS = ["bill one", "bill two", "bill three"]


@pytest.fixture
def server() -> Iterator[StandinServer]:
    with StandinServer() as s:
        yield s


def _openai(server: StandinServer, **spec_fields: Any) -> OpenAIChatProvider:
    spec = ModelSpec(
        name="openai",
        provider="openai",
        model_id="gpt-test",
        price_input_per_mtok=1.0,
        price_output_per_mtok=1.0,
        **spec_fields,
    )
    return OpenAIChatProvider(
        spec,
        api_key=SecretStr("k"),
        base_url=server.openai_base_url,
        prompt=load_prompt("v1"),
        retry=RetryPolicy(max_attempts=1),
    )


def _cached(
    server: StandinServer, cache: MemoryCache | RedisCache, **kw: object
) -> CachingProvider:
    inner = _openai(server, **kw)
    return CachingProvider(inner, cache, identity=inner.cache_identity())


def test_key_changes_with_every_input() -> None:
    base = cache_key("openai", "gpt", "v1", {"temperature": 0}, "doc")
    assert base == cache_key("openai", "gpt", "v1", {"temperature": 0}, "doc")
    variants = [
        cache_key("gemini", "gpt", "v1", {"temperature": 0}, "doc"),
        cache_key("openai", "gpt-2", "v1", {"temperature": 0}, "doc"),
        cache_key("openai", "gpt", "v2", {"temperature": 0}, "doc"),
        cache_key("openai", "gpt", "v1", {"temperature": 0.5}, "doc"),
        cache_key("openai", "gpt", "v1", {"temperature": 0}, "doc "),
    ]
    assert len({base, *variants}) == 6


def test_rerunning_an_unchanged_suite_makes_no_calls(server: StandinServer) -> None:
    cache = MemoryCache()
    first = [_cached(server, cache).analyze(d) for d in DOCS]
    assert server.count() == 3 and not any(a.cached for a in first)

    second = [_cached(server, cache).analyze(d) for d in DOCS]

    assert server.count() == 3
    assert all(a.cached and a.attempts == 0 for a in second)
    # the figures describe the model's answer, as measured when it was made
    for a, b in zip(first, second, strict=True):
        assert (b.input_tokens, b.output_tokens, b.cost_usd, b.raw_output) == (
            a.input_tokens,
            a.output_tokens,
            a.cost_usd,
            a.raw_output,
        )


def test_changed_parameters_miss_the_cache(server: StandinServer) -> None:
    cache = MemoryCache()
    _cached(server, cache).analyze("doc")
    _cached(server, cache, temperature=0.7).analyze("doc")
    _cached(server, cache, max_output_tokens=100).analyze("doc")
    assert server.count() == 3


def test_refresh_mode_bypasses_reads_but_renews(server: StandinServer) -> None:
    cache = MemoryCache()
    inner = _openai(server)
    CachingProvider(inner, cache, identity=inner.cache_identity()).analyze("doc")
    refreshed = CachingProvider(inner, cache, identity=inner.cache_identity(), mode="refresh")

    answer = refreshed.analyze("doc")

    assert server.count() == 2 and not answer.cached and len(cache) == 1


def test_errors_are_not_cached(server: StandinServer) -> None:
    cache = MemoryCache()
    server.script(Fault(status=400))
    with pytest.raises(ProviderRejected):
        _cached(server, cache).analyze("doc")
    assert len(cache) == 0
    assert not _cached(server, cache).analyze("doc").cached
    assert server.count() == 2


def test_redis_cache_is_shared_across_workers(server: StandinServer, tmp_path: Path) -> None:
    with private_redis(tmp_path) as rds:
        sock = rds.connection_pool.connection_kwargs["path"]
        worker_a = RedisCache(redis.asyncio.Redis(unix_socket_path=sock))
        worker_b = RedisCache(redis.asyncio.Redis(unix_socket_path=sock))
        _cached(server, worker_a).analyze("doc")

        answer = _cached(server, worker_b).analyze("doc")

        assert answer.cached and server.count() == 1
        (key,) = list(rds.scan_iter())
        assert 0 < rds.ttl(key) <= 30 * 86400


def test_redis_cache_failure_is_a_miss_not_an_error(server: StandinServer) -> None:
    no_retry = Retry(NoBackoff(), 0)  # fail fast: the point is the miss, not redis-py's backoff
    dead = RedisCache(
        redis.asyncio.Redis(unix_socket_path="/nonexistent/redis.sock", retry=no_retry)
    )

    answer = _cached(server, dead).analyze("doc")

    assert answer.json_valid and not answer.cached


def test_the_sqlite_cache_opened_while_another_process_writes_a_new_file_waits_for_it(
    tmp_path: Path,
) -> None:
    # The cache's file is switched to WAL on open, which SQLite refuses at
    # once while another connection writes to a new file (benchq.sqlite_wal).
    path = tmp_path / "cache.db"
    cache = open_while_written(path, lambda: SQLiteCache(path))
    asyncio.run(cache.put("k", "v"))
    assert asyncio.run(cache.get("k")) == "v"
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
