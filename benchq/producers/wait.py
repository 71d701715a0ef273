"""Wait for a run to finish, reading its progress from the results store."""

from __future__ import annotations

import time
from collections.abc import Callable

from benchq.errors import RunFailed, StoreUnavailable
from benchq.store.base import ResultsStore
from benchq.store.schema import RunProgress, RunStatus

__all__ = ["RunFailed", "wait_for_run"]


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
                # every model has its summary: published or failed, the run is over
                return progress
            if progress.status is RunStatus.failed and not progress.failed_models:
                # Failed with no model to blame (a job failed for good, the run was
                # interrupted): nothing more will come. A model that failed on its
                # own leaves the others to finish, and the caller reports it.
                reason = progress.error or "see the worker logs"
                raise RunFailed(f"run {run_id} failed: {reason}")
        if workers_alive is not None and not workers_alive():
            raise RunFailed(f"run {run_id}: every worker process has exited")
        if deadline is not None and time.monotonic() > deadline:
            raise RunFailed(f"run {run_id} did not finish within {timeout:.0f}s")
        time.sleep(poll_seconds)
