"""Thin Celery tasks: (de)serialisation, retries and routing around `pipeline`.

Message payloads are plain JSON (pydantic dumps), so any worker on any
machine can take any job without access to the producer's files.
"""

from __future__ import annotations

import gc
import logging
import random
from typing import Any

from celery import Task, signals

from benchq.cases.schema import Case
from benchq.errors import RunFailed, StoreUnavailable
from benchq.providers import aio
from benchq.providers.factory import provider_class
from benchq.scoring.schema import CaseResult
from benchq.workers import context
from benchq.workers.app import app
from benchq.workers.celery_config import provider_queue
from benchq.workers.joblog import log_job
from benchq.workers.pipeline import ModelMeta, finalize_model, score_batch

log = logging.getLogger("benchq.jobs")


@signals.worker_init.connect  # type: ignore[untyped-decorator]
def _configure_job_log(**_: Any) -> None:
    # Celery leaves non-Celery loggers alone (worker_hijack_root_logger is
    # off); the per-job lines go to the worker's stderr, one JSON object each.
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


@signals.worker_shutdown.connect  # type: ignore[untyped-decorator]
@signals.worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_providers(**_: Any) -> None:
    # threads and solo pools: the main process shuts down; prefork: each child
    context.close_providers()


@signals.worker_init.connect  # type: ignore[untyped-decorator]
def _import_sdks(sender: Any = None, **_: Any) -> None:
    # Before the worker takes jobs: import the SDKs of the providers whose
    # queues it serves, so its first jobs do not wait for them.
    amqp = getattr(getattr(sender, "app", None), "amqp", None)
    names = list(amqp.queues.consume_from) if amqp is not None else []
    for name in names:
        provider_class(name.removeprefix(provider_queue("")))
    # Everything imported so far lives as long as the worker: keep it out of
    # the garbage collector's full passes, which otherwise walk it again and
    # again while jobs allocate.
    gc.freeze()


#: How long a chord callback waits for stragglers (redelivered jobs) before failing the run.
FINALIZE_MAX_WAIT_RETRIES = 600


def _payloads(cases: list[Case]) -> list[dict[str, Any]]:
    """Cases as a job message carries them (as the producer sent them)."""
    return [c.model_dump(mode="json", exclude={"source"}) for c in cases]


def _backoff(retries: int) -> float:
    """Seconds before the next attempt at a store write: 1, 2, 4 ... capped at 60, jittered."""
    return min(60.0, 2.0 ** min(retries, 6)) * random.uniform(0.5, 1.0)


@app.task(  # type: ignore[untyped-decorator]
    bind=True,
    name="benchq.run_cases",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def run_cases(
    self: Task,
    run_id: str,
    model_name: str,
    cases: list[dict[str, Any]],
    cache_mode: context.CacheMode = "use",
    scored: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run, score and persist a batch of (run, model, case); returns a small summary.

    The cases run concurrently on the worker's event loop. A batch delivered
    again (its worker died) skips the cases already stored. When the store is
    unreachable the scored results are not lost and the model is not asked
    again: the retry message carries them (`scored`), so they wait in Redis
    until the store is back and only the write is repeated. Cases deferred by
    the model's fleet-wide limit are sent again, alone, once it should have room.
    """
    store = context.store()
    results = [CaseResult.model_validate(r) for r in scored or []]
    # Cases still to run: all of them until the batch has run, then the deferred ones.
    pending = [Case.model_validate(c) for c in cases]
    retry_after = 0.0
    try:
        if pending:
            stored = store.stored_case_ids(run_id, model_name, [c.id for c in pending])
            todo = [c for c in pending if c.id not in stored]
            outcome = aio.run_sync(
                score_batch(
                    run_id=run_id,
                    model_name=model_name,
                    cases=todo,
                    provider=context.provider(model_name, cache_mode),
                    slots=context.call_slots(model_name),
                    worker=self.request.hostname or context.worker_name(),
                )
            )
            results.extend(outcome.results)
            pending, retry_after = outcome.deferred, outcome.retry_after
        if results:
            store.save_case_results(results)
    except StoreUnavailable as exc:
        log.warning(
            "store unavailable, keeping %d results of %s/%s for retry %d: %s",
            len(results), run_id, model_name, self.request.retries + 1, exc,
        )  # fmt: skip
        raise self.retry(
            args=(run_id, model_name, _payloads(pending)),
            kwargs={
                "cache_mode": cache_mode,
                "scored": [r.model_dump(mode="json") for r in results],
            },
            countdown=_backoff(self.request.retries),
            exc=exc,
        ) from exc
    for result in results:
        log_job(result, task_retries=self.request.retries or 0)
    if pending:
        # The model's fleet-wide limit is reached: give this worker back to
        # other models' jobs and come again when a slot should be free.
        raise self.retry(
            args=(run_id, model_name, _payloads(pending)),
            kwargs={"cache_mode": cache_mode, "scored": None},
            countdown=retry_after + random.uniform(0, 0.5),
            max_retries=None,
        )
    return {
        "cases": [r.document_name for r in results],
        "errors": sum(1 for r in results if r.error_message),
    }


@app.task(  # type: ignore[untyped-decorator]
    bind=True,
    name="benchq.finalize_model",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def finalize(self: Task, _header: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """Chord callback: aggregate, convert and record one (run, model).

    The chord fires when its counter reaches the number of jobs; a job that
    ran twice (its worker died after finishing, before acknowledging) bumps
    the counter twice, so the callback may fire while one job is still being
    redelivered. It therefore waits until the store holds every case.
    """
    parsed = ModelMeta.model_validate(meta)
    store = context.store()
    try:
        have = store.count_case_results(parsed.run_id, parsed.model_name)
        if have < parsed.expected_cases:
            if self.request.retries >= FINALIZE_MAX_WAIT_RETRIES:
                error = (
                    f"{parsed.model_name}: {have} of {parsed.expected_cases} case results "
                    "stored after waiting 10 minutes for the rest"
                )
                store.set_run_status(parsed.run_id, "failed", error=error)
                raise RunFailed(f"run {parsed.run_id}: {error}")
            raise self.retry(countdown=1.0)
        outcome = finalize_model(meta=parsed, store=store)
    except StoreUnavailable as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return {
        "run_id": parsed.run_id,
        "model_name": parsed.model_name,
        "f1": outcome.aggregated.issue_f1_score,
        "snapshot_version": outcome.snapshot.snapshot_version if outcome.snapshot else None,
        "error": outcome.error,
    }


@app.task(name="benchq.run_failed")  # type: ignore[untyped-decorator]
def run_failed(request: Any, exc: BaseException, traceback: Any, *, run_id: str) -> None:
    """Errback of a run's chords: a job failed for good, so the run cannot complete.

    Celery calls it in the worker where the chord noticed the failure. The run
    is marked failed, so `benchq run` and `benchq enqueue --wait` stop
    waiting and say so, instead of waiting for a callback that never comes.
    """
    log.error("run %s failed: job %s raised %r", run_id, getattr(request, "id", "?"), exc)
    context.store().set_run_status(
        run_id, "failed", error=f"a job failed for good: {type(exc).__name__}: {exc}"
    )


@app.task(name="benchq.ping")  # type: ignore[untyped-decorator]
def ping() -> str:
    """A no-op job: health checks, and the floor `bench/pipeline.py` measures against."""
    return "pong"
