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


def _die_with_parent() -> Callable[[], None] | None:
    # Linux only: ask the kernel to SIGTERM the child when its parent dies,
    # so even a SIGKILLed `benchq run` leaves no Redis or worker behind.
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)

    def _set() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        # Own process group: a terminal's Ctrl-C reaches only `benchq run`,
        # which then stops its children in order.
        os.setpgrp()

    return _set


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdout: int | None = subprocess.DEVNULL,
    stderr: int | None = subprocess.DEVNULL,
    log_path: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child process bound to this one's lifetime."""
    out: int | object | None = stdout
    err: int | object | None = stderr
    log_file = None
    if log_path is not None:
        log_file = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        out = err = log_file
    try:
        return subprocess.Popen(
            list(argv),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,  # type: ignore[arg-type]
            stderr=err,  # type: ignore[arg-type]
            preexec_fn=_die_with_parent(),
            close_fds=True,
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
