"""How long a worker's wait at the broker lasts: short for `benchq run`'s own workers.

A worker asked to stop first waits out the BRPOP it has in progress (kombu
reads its reply before closing the channel), so the embedded default's
workers poll in 0.2 s waits and `benchq run` does not end with a second's
pause; a fleet's workers keep kombu's one second. Each case asks real
worker processes, over Celery's control API, what they run with.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from benchq.config.settings import Settings
from benchq.jobs.celery_app import make_app
from benchq.local.runtime import PRIVATE_POLL_SECONDS, PRIVATE_REPLY_POLL_SECONDS, runtime
from benchq.local.worker_pool import PING_ROUND_SECONDS
from benchq.producers.models import all_queues
from benchq.store.factory import resolve_store_target


def _polls(settings: Settings, tmp: Path, *, broker: str | None) -> list[object]:
    """The workers' BRPOP timeouts, then that of `benchq run`'s wait for their pings."""
    settings = settings.model_copy(update={"broker_url": broker})
    store = resolve_store_target(settings)
    with runtime(settings, store, queues=all_queues(settings), local_workers=1) as rt:
        assert rt.wait_ready(), "the worker did not answer a ping"
        app = make_app(rt.settings)
        replies = app.control.inspect(timeout=5.0).conf() or {}
        assert rt.pool is not None
        with rt.pool.ping_connection(app) as conn:
            reply_poll = conn.default_channel.brpop_timeout
    return [
        *(conf.get("broker_transport_options", {}).get("polling_interval")
          for conf in replies.values()),
        reply_poll,
    ]  # fmt: skip


@pytest.fixture
def base(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The workers import this checkout's benchq, wherever the tests run from.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    return Settings(store_url=f"sqlite:///{clean_env / 'benchq.db'}")  # type: ignore[call-arg]


def test_the_embedded_defaults_workers_wait_a_fifth_of_a_second(
    base: Settings, clean_env: Path
) -> None:
    assert PRIVATE_POLL_SECONDS == 0.2
    # The wait for their pings: shorter than a ping round (a round that ended
    # without its replies held up a later one's by about a second).
    assert PRIVATE_REPLY_POLL_SECONDS < PING_ROUND_SECONDS
    assert _polls(base, clean_env, broker=None) == [0.2, PRIVATE_REPLY_POLL_SECONDS]
    # A value the user set is theirs.
    chosen = base.model_copy(update={"worker_poll_seconds": 0.5})
    assert _polls(chosen, clean_env, broker=None) == [0.5, PRIVATE_REPLY_POLL_SECONDS]


def test_a_configured_brokers_workers_keep_the_setting(
    base: Settings, clean_env: Path, redis_url: str
) -> None:
    # (kombu's defaults: a configured Redis may not take fractions of a second)
    assert _polls(base, clean_env, broker=redis_url) == [1.0, 1]
