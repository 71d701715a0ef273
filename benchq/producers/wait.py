"""Wait for a run to finish, reading its progress from the results store."""

from __future__ import annotations

import time
from collections.abc import Callable

from benchq.errors import BenchqError, StoreUnavailable
from benchq.store.base import ResultsStore
from benchq.store.schema import RunProgress, RunStatus


class RunFailed(BenchqError):
    """The run cannot finish: its workers are gone, or it was marked failed."""


def wait_for_run(
    store: ResultsStore,
    run_id: str,
    *,
    on_progress: Callable[[RunProgress], None] | None = None,
    workers_alive: Callable[[], bool] | None = None,
    poll_seconds: float = 0.25,
    timeout: float | None = None,
) -> RunProgress:
    """Block until every model of the run has its summary; return the final progress.

    Progress comes from the store (not from Celery results), so it is the
    same whether the workers are local processes or on other machines.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            progress = store.progress(run_id)
        except StoreUnavailable:
            progress = None
        if progress is not None:
            if on_progress is not None:
                on_progress(progress)
            if set(progress.finished_models) >= set(progress.expected):
                return progress
            if progress.status is RunStatus.failed:
                raise RunFailed(f"run {run_id} failed; see the worker logs")
        if workers_alive is not None and not workers_alive():
            raise RunFailed(f"run {run_id}: every worker process has exited")
        if deadline is not None and time.monotonic() > deadline:
            raise RunFailed(f"run {run_id} did not finish within {timeout:.0f}s")
        time.sleep(poll_seconds)
