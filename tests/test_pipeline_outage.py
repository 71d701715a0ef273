"""The store goes away in the middle of a run: nothing is lost, nothing is stored twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from benchq.cases.generate import generate_suite
from benchq.config.settings import Settings
from benchq.producers.wait import wait_for_run
from benchq.store.migrate import upgrade
from benchq.store.postgres import PostgresStore
from tests.pipeline_helpers import BASELINE, workers

try:
    from pg_fixtures import PgCluster
except ImportError:
    from tests.pg_fixtures import PgCluster


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A cluster of this test's own, since the test stops and restarts it."""
    cluster = PgCluster(durable=True)
    yield cluster
    cluster.stop()


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.slow
def test_postgres_down_mid_run_then_back_loses_and_duplicates_nothing(
    own_cluster: PgCluster, redis_url: str, tmp_path: Path
) -> None:
    own_cluster.admin("CREATE DATABASE benchq")
    url = own_cluster.url("benchq")
    upgrade(url)
    suite = tmp_path / "suite"
    generate_suite(1500, 21, suite)

    settings = Settings(broker_url=redis_url, store_url=url)  # type: ignore[call-arg]
    pool = workers(settings, 2)
    pool.start()
    try:
        from benchq.cases.suite import load_suite
        from benchq.jobs.celery_app import make_app
        from benchq.producers.enqueue import enqueue_run
        from benchq.producers.plan import plan_run
        from benchq.store.factory import resolve_store_target

        plan = plan_run(load_suite(suite), [BASELINE])
        store = PostgresStore(url)
        identity = resolve_store_target(settings).identity
        enqueue_run(make_app(settings), plan, store, store_identity=identity)
        deadline = time.monotonic() + 120
        while _count(url, "SELECT count(*) FROM benchmark_case_results") < 50:
            assert time.monotonic() < deadline, "no progress before the outage"
            time.sleep(0.01)

        before = _count(url, "SELECT count(*) FROM benchmark_case_results")
        own_cluster.pause()
        assert before < 1500, "the run finished before the outage; make it longer"
        # Jobs keep being scored while the store is down; their results wait in
        # Redis (retry messages) rather than being dropped or recomputed.
        time.sleep(4)
        own_cluster.resume()

        wait_for_run(store, plan.run_id, timeout=300)
        assert _count(url, "SELECT count(*) FROM benchmark_case_results") == 1500
        assert (
            _count(url, "SELECT count(DISTINCT (run_id, model_name, case_id)) "
                   "FROM benchmark_case_results")
            == 1500
        )  # fmt: skip
        assert _count(url, "SELECT count(*) FROM benchmark_snapshots") == 1
        assert _count(url, "SELECT count(*) FROM benchmark_transactions") == 1
        summary = store.run_summaries(plan.run_id)
        assert summary[0].aggregated["total_documents"] == 1500
        assert summary[0].snapshot_version == 1
    finally:
        pool.stop()
