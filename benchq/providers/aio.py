"""One asyncio event loop per process, in a background thread, for every model call.

Model calls are I/O: a worker keeps dozens in flight at once. On threads,
each call pays for its own blocking HTTP stack and the threads fight over
the GIL; on one event loop, the calls of every job in the process share one
connection pool (aiohttp, through the SDKs' async clients) and cost a
fraction of the CPU. Synchronous code (Celery task threads, tests, the CLI)
hands a coroutine to this loop with `run_sync` and waits for its result.

The async SDK clients bind their connection pools to the loop they first ran
on, so there is exactly one loop per process: made on first use, and made
again in a forked child (a thread does not survive `fork`).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from benchq.errors import InternalError

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def loop() -> asyncio.AbstractEventLoop:
    """This process's model-call loop, started on first use."""
    global _loop, _thread, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _thread is None or not _thread.is_alive():
            new = asyncio.new_event_loop()
            thread = threading.Thread(
                target=new.run_forever, name="benchq-model-calls", daemon=True
            )
            thread.start()
            _loop, _thread, _pid = new, thread, os.getpid()
        return _loop


def in_loop_thread() -> bool:
    """True when called from the model-call loop itself (where `run_sync` would deadlock)."""
    return _thread is not None and threading.current_thread() is _thread


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the process's loop and block this thread until it returns."""
    if in_loop_thread():
        coro.close()
        raise InternalError("run_sync called from the model-call loop: await the coroutine instead")
    return asyncio.run_coroutine_threadsafe(coro, loop()).result()
