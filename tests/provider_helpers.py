"""Providers a test builds, closed when the test ends (`conftest.py` closes them).

An aiohttp session a provider opened and nobody closed is reported at the
test process's exit, where it reads like a failure of whichever test ran last.
"""

from __future__ import annotations

from typing import TypeVar

from benchq.providers.base import Provider

P = TypeVar("P", bound=Provider)

_built: list[Provider] = []


def closed_after_test(provider: P) -> P:
    """`provider`, to be closed when the running test ends."""
    _built.append(provider)
    return provider


def close_built() -> None:
    """Close every provider `closed_after_test` was given, newest first."""
    while _built:
        _built.pop().close()
