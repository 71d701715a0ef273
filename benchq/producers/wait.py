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
    has_jobs: Callable[[], bool] | None = None,
    stall_seconds: float = 20.0,
    pause: Callable[[float], object] = time.sleep,
) -> RunProgress:
    """Block until every model of the run is over; return the final progress.

    Progress comes from the store (not from Celery results), so it is the
    same whether the workers are local processes or on other machines. With
    `has_jobs` (is a job of the run still on the broker?), a run that has
    not moved for `stall_seconds` and has no job left is lost: `RunFailed`,
    within `stall_seconds` plus two checks of the broker. `pause(seconds)`
    waits between two polls (`time.sleep`, or a wait that a worker can cut
    short: `benchq.jobs.wakeup.wait`).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    last_seen: tuple[object, ...] | None = None
    moved_at = time.monotonic()
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
        if progress is not None:
            seen = (tuple(sorted(progress.done.items())), tuple(progress.finished_models))
            if seen != last_seen:
                last_seen, moved_at = seen, time.monotonic()
        if has_jobs is not None and time.monotonic() - moved_at > stall_seconds:
            if _gone(has_jobs):
                raise RunFailed(
                    f"run {run_id} was lost: nothing of it is left on the broker (a Redis "
                    f"restarted without persistence, or flushed?); `benchq resume {run_id}` "
                    "runs what is missing and finishes it"
                )
            moved_at = time.monotonic()
        if workers_alive is not None and not workers_alive():
            raise RunFailed(f"run {run_id}: every worker process has exited")
        if deadline is not None and time.monotonic() > deadline:
            raise RunFailed(f"run {run_id} did not finish within {timeout:.0f}s")
        pause(poll_seconds)


def _gone(has_jobs: Callable[[], bool]) -> bool:
    """No job of the run on the broker, asked twice a moment apart (never between two steps)."""
    if has_jobs():
        return False
    time.sleep(1.0)
    return not has_jobs()
