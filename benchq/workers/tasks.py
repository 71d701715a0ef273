"""Thin Celery tasks: (de)serialisation, retries and routing around `pipeline`.

Message payloads are plain JSON (pydantic dumps), so any worker on any
machine can take any job without access to the producer's files.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from benchq.cases.schema import Case
from benchq.errors import StoreUnavailable
from benchq.workers import context
from benchq.workers.app import app
from benchq.workers.pipeline import ModelMeta, execute_case, finalize_model

log = logging.getLogger("benchq.jobs")

#: How long a chord callback waits for stragglers (redelivered jobs) before failing the run.
FINALIZE_MAX_WAIT_RETRIES = 600


@app.task(  # type: ignore[untyped-decorator]
    bind=True,
    name="benchq.run_case",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(StoreUnavailable,),
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=None,
)
def run_case(self: Task, run_id: str, model_name: str, case: dict[str, Any]) -> dict[str, Any]:
    """Run, score and persist one (run, model, case); returns a small summary."""
    parsed = Case.model_validate(case)
    result = execute_case(
        run_id=run_id,
        model_name=model_name,
        case=parsed,
        provider=context.provider(model_name),
        store=context.store(),
        worker=self.request.hostname or context.worker_name(),
    )
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
        raise self.retry(exc=exc, countdown=min(60, 2 ** min(self.request.retries, 6))) from exc
    return {
        "run_id": parsed.run_id,
        "model_name": parsed.model_name,
        "f1": outcome.aggregated.issue_f1_score,
    }
