"""Local worker processes forked from one process that has imported them once.

`benchq run` starts its workers while it loads the suite, on the same cores.
Each worker used to import Celery, benchq and the providers' SDKs on its
own: about 1.3 s of CPU per worker, paid as many times as there are
workers, while the suite loaded beside them. Here one process (this module,
`python -m benchq.local.zygote`) imports all of it once, then forks the
workers; each runs `celery worker` exactly as `benchq worker` does, with the
same command line, from memory already loaded (and shared until written).

Protocol, on the pipes the parent (`benchq.local.forked`) holds:

- stdin: one JSON line, `ZygoteOrder` (the workers' command lines and logs);
- stdout: `pid <pid>` for each worker forked, then `exit <pid> <code>` as
  each one exits (a negative code is the signal that ended it); the zygote
  exits once every worker has.

Lifetimes: the zygote dies with its parent (SIGKILL, set by the parent at
spawn) and each worker with the zygote (SIGKILL, set here), so a SIGKILLed
`benchq run` still leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import sys
import threading

from pydantic import BaseModel, Field

from benchq.local.process import die_with_parent


class WorkerOrder(BaseModel):
    """One worker to fork: its `celery` command line (after the program) and its log.

    The log is a file descriptor the zygote inherited, opened by the parent:
    the parent may move the folder before the worker is forked.
    """

    argv: list[str] = Field(min_length=1)
    log_fd: int | None = None


class ZygoteOrder(BaseModel):
    """What the zygote is asked to do: preload for these queues, then fork these workers."""

    queues: list[str]
    workers: list[WorkerOrder]


def _preload(order: ZygoteOrder) -> None:
    """Import what a worker imports before taking jobs: Celery, the app and its tasks, SDKs.

    The app is the one the command line names (`-A module:attribute`), and
    its task modules are imported by Celery's own loader, as the worker
    would: this process knows the workers by their command line only.
    """
    import celery.__main__
    import celery.apps.worker
    import celery.bin.celery
    import celery.concurrency.thread  # noqa: F401

    from benchq.providers.factory import import_provider_sdks

    argv = order.workers[0].argv if order.workers else []
    if "-A" in argv:
        module, _, attribute = argv[argv.index("-A") + 1].partition(":")
        app = getattr(importlib.import_module(module), attribute or "app")
        app.loader.import_default_modules()
    import_provider_sdks(order.queues)


def _run_worker(order: WorkerOrder, on_start: object) -> None:
    """In the forked child: become the worker; never returns."""
    code = 1
    try:
        if callable(on_start):
            on_start()
        fd = order.log_fd if order.log_fd is not None else os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.argv = ["celery", *order.argv]
        from celery.__main__ import main

        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # anything else: say it in the worker's log
        import traceback

        traceback.print_exc()
    finally:
        # os._exit: the child must never unwind into the zygote's own loop.
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    """Read the order, preload, fork the workers, report them until they are all gone."""
    children: dict[int, str] = {}
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        # SIGTERM to the zygote: the parent stops the run's workers while
        # some are not forked yet. Pass it on, and fork no more.
        nonlocal stopping
        stopping = True
        if not children:
            os._exit(0)  # nothing forked yet: nothing to wait for
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the parent's to handle
    order = ZygoteOrder.model_validate_json(sys.stdin.readline())
    _preload(order)
    # Forking copies only the calling thread: a thread started by an import
    # would be missing in the workers, with whatever lock it held.
    if threading.active_count() != 1:
        print(f"zygote: {threading.active_count()} threads after preloading", file=sys.stderr)
    on_start = die_with_parent(signal.SIGKILL)
    for worker in order.workers:
        if stopping:
            break
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _run_worker(worker, on_start)
        children[pid] = worker.argv[0]
        _say(f"pid {pid}")
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.pop(pid, None)
        _say(f"exit {pid} {os.waitstatus_to_exitcode(status)}")
    # Nothing of its own to clean up: skip tearing down everything it imported.
    os._exit(0)


if __name__ == "__main__":
    main()
