"""The parent's side of `benchq.local.zygote`: handles on workers it did not fork itself.

A `ForkedWorker` answers what `subprocess.Popen` answers for a child
(`pid`, `poll`, `wait`, `send_signal`, `terminate`, `kill`, `returncode`),
from what the zygote reports on its stdout, so the pool and the tests that
SIGKILL a worker treat both kinds alike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

from benchq.local.process import spawn
from benchq.local.zygote import WorkerOrder, ZygoteOrder


class ForkedWorker:
    """One worker process forked by the zygote."""

    def __init__(self) -> None:
        self.pid = 0
        """0 until the zygote has forked it (`Zygote.wait_forked`)."""
        self.returncode: int | None = None
        self._exited = threading.Event()

    def _set_exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        """The exit code once the worker has exited, else None."""
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the worker to exit; `subprocess.TimeoutExpired` after `timeout`."""
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Signal the worker, unless it has exited (its pid may be another's by now)."""
        if self.returncode is None and self.pid:
            # Exited already: the zygote is about to say so.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        """SIGTERM: Celery's warm shutdown."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)


class Zygote:
    """A running zygote and the workers it forks (or has forked)."""

    def __init__(self, proc: subprocess.Popen[bytes], count: int) -> None:
        self.proc = proc
        self.workers = [ForkedWorker() for _ in range(count)]
        self._forked = threading.Event()
        self._reader = threading.Thread(target=self._follow, name="benchq-zygote", daemon=True)
        self._reader.start()

    def _follow(self) -> None:
        assert self.proc.stdout is not None
        by_pid: dict[int, ForkedWorker] = {}
        for raw in self.proc.stdout:
            parts = raw.decode().split()
            if len(parts) == 2 and parts[0] == "pid" and len(by_pid) < len(self.workers):
                worker = self.workers[len(by_pid)]
                worker.pid = int(parts[1])
                by_pid[worker.pid] = worker
                if len(by_pid) == len(self.workers):
                    self._forked.set()
            elif len(parts) == 3 and parts[0] == "exit" and int(parts[1]) in by_pid:
                by_pid[int(parts[1])]._set_exit(int(parts[2]))
        # The zygote is gone (it exits after its last worker, or was killed,
        # and then its workers were killed with it): nobody is left running.
        self.proc.wait()
        for worker in self.workers:
            if worker.returncode is None:
                worker._set_exit(-signal.SIGKILL)
        self._forked.set()

    def wait_forked(self, timeout: float) -> bool:
        """Wait until every worker is forked (True) or the zygote died first (False)."""
        self._forked.wait(timeout)
        return all(w.pid for w in self.workers)

    def stop(self, timeout: float) -> None:
        """Stop the workers (warm), those still to be forked included; SIGKILL after `timeout`."""
        if not all(w.pid for w in self.workers):
            # Still preloading or forking: it passes SIGTERM on and forks no more.
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
        for worker in self.workers:
            worker.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for worker in self.workers:
                worker.kill()
            self.proc.kill()  # and the workers with it (their parent-death signal)
            self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)


def fork_workers(
    argvs: Sequence[list[str]],
    *,
    queues: list[str],
    env: dict[str, str],
    log_paths: Sequence[str | None],
    zygote_log: str | None,
) -> Zygote:
    """Start a zygote that preloads for `queues` and forks one worker per command line.

    `argvs` are `celery` command lines without the program (`-A ... worker
    ...`). Returns at once: the caller goes on with its own start-up while
    the zygote imports; the workers' pids are known once it has forked them
    (`Zygote.wait_forked`). If it dies first, the workers it did not fork
    show as exited, and its log (`zygote_log`) says why.
    """
    with contextlib.ExitStack() as files:
        # Opened here, inherited by the zygote: the caller may move the folder.
        fds = [
            files.enter_context(open(path, "ab")).fileno() if path else None for path in log_paths
        ]
        order = ZygoteOrder(
            queues=queues,
            workers=[WorkerOrder(argv=a, log_fd=fd) for a, fd in zip(argvs, fds, strict=True)],
        )
        log = files.enter_context(open(zygote_log or os.devnull, "ab"))
        proc = spawn(
            [sys.executable, "-m", "benchq.local.zygote"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.fileno(),
            pass_fds=[fd for fd in fds if fd is not None],
            # The workers die with the zygote (SIGKILL, set in each), and it with us.
            parent_death_signal=signal.SIGKILL,
        )
    assert proc.stdin is not None
    proc.stdin.write(order.model_dump_json().encode() + b"\n")
    proc.stdin.close()
    return Zygote(proc, len(argvs))
