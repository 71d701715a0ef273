"""Enqueue a planned run: one job per (model, batch of cases), one chord per (run, model).

A job carries `batch_size` cases of one model (the last one fewer); the
worker runs them concurrently on its event loop and stores one result per
case. Batching is what lets a worker keep dozens of I/O-bound model calls in
flight for the price of one message, instead of paying Celery's per-message
Redis traffic for every call.
"""

from __future__ import annotations

from datetime import UTC, datetime

from celery import Celery, chord

from benchq.producers.plan import RunPlan
from benchq.store.aggregates import CaseDocument
from benchq.store.base import ResultsStore
from benchq.store.schema import RunModel, RunRecord
from benchq.workers.celery_config import CONTROL_QUEUE, provider_queue
from benchq.workers.pipeline import ModelMeta


def enqueue_run(app: Celery, plan: RunPlan, store: ResultsStore) -> str:
    """Record the run in the store, then send its jobs; returns the run id.

    The run is recorded first so a watcher can find it before the first job
    ends. Re-enqueueing a run id re-sends its jobs; the store keys results by
    (run, model, case), so nothing is counted twice.
    """
    store.create_run(
        RunRecord(
            run_id=plan.run_id,
            suite=plan.suite.name,
            models=[m.name for m in plan.models],
            cases_per_model=len(plan.suite.cases),
            created_at=plan.created_at,
            dataset_version=plan.dataset_version,
            prompt_version=plan.prompt_version,
            environment=plan.environment,
            commit_sha=plan.provenance.commit_sha,
            branch_name=plan.provenance.branch_name,
            triggered_by=plan.provenance.triggered_by,
            dataset_digest=plan.dataset_digest,
            model_info={
                m.name: RunModel(
                    model_version=m.model_version,
                    model_id=m.model_id,
                    provider=m.provider,
                    prompt_digest=m.prompt_digest,
                )
                for m in plan.models
            },
        )
    )
    # The documents and expected issues go with the run, so any two snapshots
    # can later be compared case by case next to the bill itself.
    store.save_case_documents(
        plan.run_id,
        [
            CaseDocument(
                case_id=case.id,
                document_type=case.truth.document_type.value,
                text=case.text,
                expected_issues=[i.model_dump(mode="json") for i in case.truth.expected_issues],
            )
            for case in plan.suite.cases
        ],
    )
    payloads = [case.model_dump(mode="json", exclude={"source"}) for case in plan.suite.cases]
    size = plan.batch_size
    # A run's duration is measured from here: planning (and, on the embedded
    # default, starting Redis and the workers) happened before.
    enqueued_at = datetime.now(UTC).isoformat()
    batches = [payloads[i : i + size] for i in range(0, len(payloads), size)]
    for model in plan.models:
        meta = ModelMeta(
            run_id=plan.run_id,
            model_name=model.name,
            model_version=model.model_version,
            model_provider=model.provider,
            model_id=model.model_id,
            prompt_digest=model.prompt_digest,
            max_error_rate=plan.max_error_rate,
            dataset_version=plan.dataset_version,
            prompt_version=plan.prompt_version,
            expected_cases=len(payloads),
            enqueued_at=enqueued_at,
            environment=plan.environment,
            commit_sha=plan.provenance.commit_sha,
            branch_name=plan.provenance.branch_name,
            triggered_by=plan.provenance.triggered_by,
            ci_run_id=plan.provenance.ci_run_id,
        )
        queue = provider_queue(model.provider)
        header = [
            app.signature(
                "benchq.run_cases",
                args=(plan.run_id, model.name, batch),
                kwargs={"cache_mode": plan.cache_mode},
                queue=queue,
                # Flower and worker logs show these instead of the whole bills.
                argsrepr=repr((plan.run_id, model.name, [p["id"] for p in batch])),
                kwargsrepr=repr({"cache_mode": plan.cache_mode}),
            )
            for batch in batches
        ]
        body = app.signature(
            "benchq.finalize_model",
            kwargs={"meta": meta.model_dump(mode="json")},
            queue=CONTROL_QUEUE,
        )
        # A job that fails for good fails the chord: mark the run failed then,
        # so nobody waits for a callback that will not come.
        body.link_error(app.signature("benchq.run_failed", kwargs={"run_id": plan.run_id}))
        chord(header, app=app)(body)
    return plan.run_id
