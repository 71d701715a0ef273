"""Thin Celery tasks: (de)serialisation, retries and routing around `pipeline`.

Message payloads are plain JSON (pydantic dumps), so any worker on any
machine can take any job without access to the producer's files.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import Task, signals

from benchq.cases.schema import Case
from benchq.errors import ProviderBusy, StoreUnavailable
from benchq.scoring.schema import CaseResult
from benchq.workers import context
from benchq.workers.app import app
from benchq.workers.joblog import log_job
from benchq.workers.pipeline import ModelMeta, finalize_model, score_job

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


#: How long a chord callback waits for stragglers (redelivered jobs) before failing the run.
FINALIZE_MAX_WAIT_RETRIES = 600


def _backoff(retries: int) -> float:
    """Seconds before the next attempt at a store write: 1, 2, 4 ... capped at 60, jittered."""
    return min(60.0, 2.0 ** min(retries, 6)) * random.uniform(0.5, 1.0)


@app.task(  # type: ignore[untyped-decorator]
    bind=True,
    name="benchq.run_case",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def run_case(
    self: Task,
    run_id: str,
    model_name: str,
    case: dict[str, Any],
    cache_mode: context.CacheMode = "use",
    scored: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run, score and persist one (run, model, case); returns a small summary.

    When the store is unreachable the scored result is not lost and the model
    is not asked again: the retry message carries the result (`scored`), so
    it waits in Redis until the store is back and only the write is repeated.
    """
    parsed = Case.model_validate(case)
    if scored is None:
        try:
            result = score_job(
                run_id=run_id,
                model_name=model_name,
                case=parsed,
                provider=context.provider(model_name, cache_mode),
                worker=self.request.hostname or context.worker_name(),
            )
        except ProviderBusy as exc:
            # The model's fleet-wide limit is reached: give this thread back
            # to other models' jobs and come again when a slot should be free.
            raise self.retry(
                countdown=exc.retry_after + random.uniform(0, 0.5), exc=exc, max_retries=None
            ) from exc
    else:
        result = CaseResult.model_validate(scored)
    try:
        context.store().save_case_result(result)
    except StoreUnavailable as exc:
        log.warning(
            "store unavailable, keeping %s/%s/%s for retry %d: %s",
            run_id, model_name, parsed.id, self.request.retries + 1, exc,
        )  # fmt: skip
        raise self.retry(
            kwargs={"cache_mode": cache_mode, "scored": result.model_dump(mode="json")},
            countdown=_backoff(self.request.retries),
            exc=exc,
        ) from exc
    log_job(result, task_retries=self.request.retries or 0)
    return {
        "case_id": result.document_name,
        "ok": result.extraction_success,
        "error": result.error_message,
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
                store.set_run_status(parsed.run_id, "failed")
                raise RuntimeError(
                    f"run {parsed.run_id}: {parsed.model_name} has {have} of "
                    f"{parsed.expected_cases} case results after waiting"
                )
            raise self.retry(countdown=1.0)
        outcome = finalize_model(meta=parsed, store=store)
    except StoreUnavailable as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return {
        "run_id": parsed.run_id,
        "model_name": parsed.model_name,
        "f1": outcome.aggregated.issue_f1_score,
        "snapshot_version": outcome.snapshot.snapshot_version,
    }


@app.task(name="benchq.ping")  # type: ignore[untyped-decorator]
def ping() -> str:
    """A no-op job: health checks, and the floor `bench/pipeline.py` measures against."""
    return "pong"
