"""Per-process resources of a worker: settings, store and providers, made once.

Tasks run in threads of one worker process; these are shared by them and
created lazily, so importing the tasks module opens nothing.
"""

from __future__ import annotations

import socket
import threading
from functools import cache

from benchq.config.settings import Settings, load_settings
from benchq.providers.base import Provider
from benchq.store.base import ResultsStore
from benchq.store.factory import open_store

_lock = threading.Lock()


@cache
def settings() -> Settings:
    """The worker's settings, read once from its environment."""
    return load_settings()


@cache
def store() -> ResultsStore:
    """The worker's results store (thread-safe backends)."""
    with _lock:
        return open_store(settings())


_providers: dict[str, Provider] = {}


def provider(model_name: str) -> Provider:
    """The provider serving a registry model, made once per process."""
    with _lock:
        found = _providers.get(model_name)
        if found is None:
            found = _make_provider(model_name)
            _providers[model_name] = found
        return found


def _make_provider(model_name: str) -> Provider:
    from benchq.providers.baseline import BaselineProvider

    if model_name == "baseline":
        return BaselineProvider()
    from benchq.errors import ConfigError

    raise ConfigError(f"unknown model {model_name!r}")


def worker_name() -> str:
    """This worker's host name, recorded with each result."""
    return socket.gethostname()
