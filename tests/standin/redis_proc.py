"""A private redis-server on a unix socket in a temporary folder, for one test."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis


@contextmanager
def private_redis(folder: Path) -> Iterator[redis.Redis]:  # type: ignore[type-arg]
    """Start redis-server (no port, no persistence), yield a client, then kill it."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    sock = folder / "redis.sock"
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(sock))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
        yield client
    finally:
        client.close()
        proc.kill()
        proc.wait(timeout=10)
