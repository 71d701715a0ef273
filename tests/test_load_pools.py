"""Under load, a busy connection pool is waited for, never turned into a case error.

redis-py's pools hold 100 connections by default and aiohttp's 100 too; a
worker keeping more calls in flight than that used to store
`MaxConnectionsError: Too many connections` as the model's answer for some
of its cases. Assertions are on counts, never on time.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from benchq.jobs.broker import broker_client, broker_client_async
from tests.pipeline_helpers import cli
from tests.standin.server import Fault, StandinServer

#: Above redis-py's and aiohttp's default pool sizes (100 each).
IN_FLIGHT = 150
CASES = 450


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


def _our_clients(url: str, name: str) -> int:
    info = broker_client(url).client_list()
    return sum(1 for c in info if c.get("name") == name)


def test_an_exhausted_async_pool_makes_callers_wait_not_fail(redis_url: str) -> None:
    async def scenario() -> tuple[list[bytes | None], int]:
        client = broker_client_async(redis_url, max_connections=2, client_name="bq-pool-test")
        await client.set("k", "v")

        async def slow_get() -> bytes | None:
            # a server-side wait, so the 2 connections are all busy at once
            pipe = client.pipeline(transaction=False)
            pipe.blpop(["nothing-here"], timeout=0.01)
            pipe.get("k")
            return (await pipe.execute())[1]  # type: ignore[no-any-return]

        got = await asyncio.gather(*(slow_get() for _ in range(40)))
        seen = _our_clients(redis_url, "bq-pool-test")
        await client.aclose()
        return got, seen

    got, connections = asyncio.run(scenario())

    assert got == [b"v"] * 40  # every caller got its answer
    assert connections <= 2  # by waiting for one of the pool's connections


def test_an_exhausted_blocking_pool_makes_threads_wait_not_fail(redis_url: str) -> None:
    client = broker_client(redis_url, max_connections=2, client_name="bq-pool-test")
    client.set("k", "v")
    errors: list[BaseException] = []

    def one() -> None:
        try:
            pipe = client.pipeline(transaction=False)
            pipe.blpop(["nothing-here"], timeout=0.01)
            pipe.get("k")
            assert pipe.execute()[1] == b"v"
        except BaseException as exc:  # collected: the assertion below names them
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert _our_clients(redis_url, "bq-pool-test") <= 2


def test_more_calls_in_flight_than_the_pools_hold_store_only_answers(
    clean_env: Path, standin: StandinServer
) -> None:
    suite = clean_env / "suite"
    generate_suite(CASES, 14, suite)
    # Answers take long enough that a worker holds all its calls at once.
    standin.state.default = Fault(delay=0.4)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "OPENAI_"))}
    env.update(
        BENCHQ_MEDGEMMA_BASE_URL=standin.openai_base_url,
        BENCHQ_MODEL__MEDGEMMA__CONCURRENCY=str(IN_FLIGHT),
        BENCHQ_WORKER_CONCURRENCY=str(IN_FLIGHT),
        # One job holds all the calls: they all start, and ask Redis, at once.
        BENCHQ_BATCH_SIZE=str(IN_FLIGHT),
        BENCHQ_RESPONSE_CACHE="false",
    )
    run = subprocess.run(
        cli("run", "--suite", str(suite), "--models", "medgemma", "--workers", "1"),
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    with sqlite3.connect(clean_env / "benchq.db") as conn:
        rows = [json.loads(r[0]) for r in conn.execute("SELECT result FROM benchmark_case_results")]
    errors = [r["error_message"] for r in rows if r["error_message"]]
    assert errors == []
    assert len(rows) == CASES
    # Nor did a job take a busy pool for an outage of the broker and wait it out.
    logs = "".join(p.read_text() for p in (clean_env / "benchmarks/results/logs").rglob("*.log"))
    assert "case_done" in logs  # the workers' own logs
    assert "connections" not in logs.lower()
    assert "broker unavailable" not in logs
    # The worker really had more calls in flight than a default pool holds.
    assert standin.state.max_in_flight > 100
    # With the cache off its file is not even opened (every worker opening it
    # at the same moment made some of them fail their first job).
    assert not (clean_env / "benchq-cache.db").exists()
