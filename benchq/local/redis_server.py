"""A private redis-server on a unix socket in a temporary directory."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis

from benchq.errors import RuntimeStartError
from benchq.local.process import spawn, stop


class PrivateRedis:
    """A redis-server only this run can reach (a 0700 unix socket, no TCP port)."""

    def __init__(self, binary: str = "redis-server") -> None:
        self.binary = binary
        self.dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        """Path of the server's unix socket."""
        if self.dir is None:
            raise RuntimeStartError("private Redis is not started")
        return self.dir / "redis.sock"

    @property
    def url(self) -> str:
        """Broker URL of the server, for Celery and redis-py."""
        return f"redis+socket://{self.socket_path}"

    def start(self, timeout: float = 15.0) -> str:
        """Start the server and wait until it answers PING; returns its URL."""
        exe = shutil.which(self.binary)
        if exe is None:
            raise RuntimeStartError(
                f"{self.binary!r} not found on PATH: install Redis (apt-get install "
                "redis-server) or point BENCHQ_BROKER_URL at a running one"
            )
        # /tmp keeps the socket path short: unix socket paths are limited to 107 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="benchq-", dir="/tmp"))
        self.dir.chmod(0o700)
        argv = [
            exe,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.dir),
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        self.proc = spawn(argv)
        client = redis.Redis(unix_socket_path=str(self.socket_path))
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.proc.poll() is not None:
                    log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                    raise RuntimeStartError(f"redis-server exited at start:\n{log}")
                try:
                    if client.ping():
                        return self.url
                except redis.exceptions.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeStartError(f"redis-server did not answer within {timeout}s")
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self.proc is not None:
            stop(self.proc)
            self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
