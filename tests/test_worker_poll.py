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
from benchq.local.runtime import PRIVATE_POLL_SECONDS, runtime
from benchq.producers.models import all_queues
from benchq.store.factory import resolve_store_target


def _polls(settings: Settings, tmp: Path, *, broker: str | None) -> list[object]:
    settings = settings.model_copy(update={"broker_url": broker})
    store = resolve_store_target(settings)
    with runtime(settings, store, queues=all_queues(settings), local_workers=1) as rt:
        assert rt.wait_ready(), "the worker did not answer a ping"
        app = make_app(rt.settings)
        replies = app.control.inspect(timeout=5.0).conf() or {}
    return [
        conf.get("broker_transport_options", {}).get("polling_interval")
        for conf in replies.values()
    ]


@pytest.fixture
def base(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The workers import this checkout's benchq, wherever the tests run from.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    return Settings(store_url=f"sqlite:///{clean_env / 'benchq.db'}")  # type: ignore[call-arg]


def test_the_embedded_defaults_workers_wait_a_fifth_of_a_second(
    base: Settings, clean_env: Path
) -> None:
    assert PRIVATE_POLL_SECONDS == 0.2
    assert _polls(base, clean_env, broker=None) == [0.2]
    # A value the user set is theirs.
    chosen = base.model_copy(update={"worker_poll_seconds": 0.5})
    assert _polls(chosen, clean_env, broker=None) == [0.5]


def test_a_configured_brokers_workers_keep_the_setting(
    base: Settings, clean_env: Path, redis_url: str
) -> None:
    assert _polls(base, clean_env, broker=redis_url) == [1.0]
