"""Shared fixtures: real servers and real worker processes, no mocks of them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchq.local.redis_server import PrivateRedis
from tests.provider_helpers import close_built

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _close_built_providers() -> Iterator[None]:
    yield
    close_built()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A fresh real redis-server on a private unix socket, for one test."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (run .ci/run or apt-get install redis-server)")
    server = PrivateRedis()
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A working directory with no BENCHQ_/SUPABASE_ settings leaking in from outside."""
    for key in list(os.environ):
        if key.startswith(("BENCHQ_", "SUPABASE_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def processes_mentioning(marker: str) -> list[int]:
    """PIDs of live processes whose command line or environment contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if state != "Z" and marker.encode() in blob:
            found.append(int(entry.name))
    return found
