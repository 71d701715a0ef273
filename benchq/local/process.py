"""Child processes that die with their parent, so nothing outlives a run."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """What a new child must call first to get `sig` when its parent dies (None: not Linux).

    It also puts the child in a process group of its own.
    """
    # Linux only: ask the kernel to signal the child when its parent dies,
    # so even a SIGKILLed `benchq run` leaves no Redis or worker behind.
    # The kernel ties this to the *thread* that forks: spawn from the main
    # thread (or one that lives as long as the children should).
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    parent = os.getpid()

    def _set() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, sig)
        # The parent may have died between fork and prctl: then nobody will
        # send the signal, so send it now.
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)
        # Own process group: a terminal's Ctrl-C reaches only `benchq run`,
        # which then stops its children in order.
        os.setpgrp()

    return _set


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
    stdout: int | None = subprocess.DEVNULL,
    stderr: int | None = subprocess.DEVNULL,
    log_path: str | None = None,
    pass_fds: Sequence[int] = (),
    parent_death_signal: signal.Signals = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start a child process bound to this one's lifetime.

    If this process dies without stopping the child (SIGKILL, a crash), the
    kernel sends the child `parent_death_signal`: SIGTERM lets a server such
    as Redis exit cleanly; a process whose SIGTERM means "finish what you are
    doing first" (a Celery worker's warm shutdown, which waits for its model
    calls) should get SIGKILL, or it outlives its parent by minutes.
    """
    out: int | None = stdout
    err: int | None = stderr
    log_file = None
    if log_path is not None:
        log_file = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        out = err = log_file.fileno()
    try:
        return subprocess.Popen(
            list(argv),
            env=env,
            stdin=stdin,
            stdout=out,
            stderr=err,
            preexec_fn=die_with_parent(parent_death_signal),
            close_fds=True,
            pass_fds=tuple(pass_fds),
        )
    finally:
        if log_file is not None:
            log_file.close()


def stop(proc: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """Stop a child: SIGTERM, then SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
