"""Workers nudge a waiting producer when a model of its run is over."""

from __future__ import annotations

from pathlib import Path

import redis

from benchq.cases.generate import generate_suite
from benchq.cases.suite import load_suite
from benchq.jobs import wakeup
from benchq.jobs.broker import broker_client
from benchq.jobs.celery_app import make_app
from benchq.producers.enqueue import enqueue_run
from benchq.producers.plan import plan_run
from benchq.producers.wait import wait_for_run
from benchq.store.factory import resolve_store_target
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import BASELINE, settings_for, workers


def test_a_token_wakes_the_waiter_and_none_lets_it_time_out(redis_url: str) -> None:
    client = broker_client(redis_url)
    assert wakeup.wait(client, "r-quiet", 0.05) is False
    wakeup.ring(client, "r-1")
    assert client.ttl("benchq:wakeup:r-1") > 0  # a token nobody takes goes away
    assert wakeup.wait(client, "r-1", 5.0) is True
    assert wakeup.wait(client, "r-1", 0.05) is False  # taken once


def test_an_unreachable_broker_neither_rings_nor_fails_the_wait() -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    wakeup.ring(dead, "r-1")  # no exception: the next poll finds the news anyway
    assert wakeup.wait(dead, "r-1", 0.05) is False


def test_the_workers_ring_when_a_model_is_over(clean_env: Path, redis_url: str) -> None:
    suite_dir = clean_env / "suite"
    generate_suite(6, 4, suite_dir)
    settings = settings_for(clean_env, redis_url, batch_size=3)
    plan = plan_run(load_suite(suite_dir), [BASELINE], batch_size=3)
    store = SQLiteStore(clean_env / "benchq.db")
    client = broker_client(redis_url)
    woken: list[bool] = []

    def pause(seconds: float) -> None:
        woken.append(wakeup.wait(client, plan.run_id, seconds))

    with workers(settings, 1):
        enqueue_run(
            make_app(settings), plan, store, store_identity=resolve_store_target(settings).identity
        )
        progress = wait_for_run(store, plan.run_id, timeout=120, pause=pause)
    assert progress.finished_models == ["baseline"]
    # Either a wait was cut short by the token, or the producer saw the run
    # over before taking it: then the token is still there. One model, one
    # token: the run's end rings once, not once for the model and again for the run.
    assert woken.count(True) + client.llen(f"benchq:wakeup:{plan.run_id}") == 1
    store.close()
