"""How a worker learns which broker, store and cache to use.

The store is resolved once (`store.factory.resolve_store_target`) by the
process that starts workers, and handed to them as it is through their
environment; workers elsewhere resolve it from theirs, and each job names
the store its run is recorded in, so a worker pointed at another one refuses
the job (`check_store`) instead of filing results where nobody looks.
"""

from __future__ import annotations

from pathlib import Path

from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.store.factory import StoreTarget

__all__ = ["StoreMismatch", "cache_path", "check_store", "worker_environment"]


class StoreMismatch(ConfigError):
    """A job names another store than the one this worker writes to."""


def worker_environment(settings: Settings, store: StoreTarget) -> dict[str, str]:
    """The variables a worker process needs to serve these settings' runs.

    Only what the producer resolved: broker, store, and the queue settings
    that must agree on both sides. Model keys come from the worker's own
    environment (inherited, for local workers).
    """
    if not settings.broker_url:
        raise ConfigError("workers need a broker: BENCHQ_BROKER_URL is not set")
    env = {
        "BENCHQ_BROKER_URL": settings.broker_url,
        "BENCHQ_VISIBILITY_TIMEOUT": str(settings.visibility_timeout),
        "BENCHQ_RESTORE_INTERVAL": str(settings.restore_interval),
        "BENCHQ_WORKER_POLL_SECONDS": str(settings.worker_poll_seconds),
        **store.environment(),
    }
    if settings.result_backend:
        env["BENCHQ_RESULT_BACKEND"] = settings.result_backend
    return env


def cache_path(store: StoreTarget, broker_url: str) -> Path | None:
    """Where the response cache is: None for the broker's Redis, else a file.

    The broker's Redis is shared by every worker of the fleet and, in the
    compose stack, persistent: the cache lives there. The embedded default's
    private Redis (a unix socket) dies with its run, so there the cache is a
    file beside the SQLite store, which keeps answers across runs.
    """
    if not broker_url.startswith("redis+socket://") or store.kind != "sqlite":
        return None
    return Path(store.url.removeprefix("sqlite:///")).parent / "benchq-cache.db"


def check_store(expected: str, mine: StoreTarget) -> None:
    """Refuse a job whose run is recorded in another store than this worker's."""
    if expected and expected != mine.identity:
        raise StoreMismatch(
            f"this worker writes to {mine.identity} but the job's run is recorded in "
            f"{expected}: give the publish workers the producer's store settings"
        )
