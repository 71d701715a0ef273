"""The work of a job, as plain functions: tasks only wrap these.

`score_batch` runs the cases of one job on the process's event loop;
`execute_case` runs one (run, model, case) for synchronous callers;
`finalize_model` runs once per (run, model) when its cases are in. All are
called directly by tests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel

from benchq.cases.schema import Case
from benchq.errors import BenchqError, ProviderBusy
from benchq.providers import aio
from benchq.providers.base import ModelAnswer, Provider
from benchq.scoring.aggregate import aggregate
from benchq.scoring.case import score_case
from benchq.scoring.monitoring import to_monitoring
from benchq.scoring.schema import AggregatedMetrics, CaseResult, MonitoringRecord
from benchq.store.base import ResultsStore
from benchq.store.schema import Environment, PushMetadata, RunModelSummary, RunStatus, Snapshot

log = logging.getLogger("benchq.jobs")


class ModelMeta(BaseModel):
    """What the chord callback needs to know of one (run, model)."""

    run_id: str
    model_name: str
    model_version: str
    model_provider: str
    model_id: str = ""
    """The provider's model id the producer's registry named."""
    prompt_digest: str | None = None
    dataset_version: str
    prompt_version: str = "v1"
    expected_cases: int
    enqueued_at: str
    """ISO 8601 UTC time the run was enqueued (duration is measured from it)."""
    environment: Environment = "local"
    commit_sha: str = "unknown"
    branch_name: str | None = None
    triggered_by: str | None = None
    ci_run_id: str | None = None
    max_error_rate: float = 0.2
    """Above this share of failed cases the model's run fails and nothing is published."""


class FinalizeOutcome(BaseModel):
    """What `finalize_model` produced."""

    aggregated: AggregatedMetrics
    monitoring: MonitoringRecord
    snapshot: Snapshot | None
    """None when the model failed (see `error`): nothing was published."""
    error: str | None = None


def failure_of(results: list[CaseResult], meta: ModelMeta) -> str | None:
    """Why this (run, model) must not be published, or None when it may be.

    Too many failed cases (above `meta.max_error_rate`): a score made of
    failures is not the model's score. Answers from another model or prompt
    than the producer named (workers with a different registry): the figure
    would be stored under the wrong label.
    """
    errors = [r for r in results if r.error_message]
    total = len(results)
    if total and len(errors) / total > meta.max_error_rate:
        first = errors[0]
        return (
            f"{meta.model_name}: {len(errors)} of {total} cases failed "
            f"({100 * len(errors) / total:.0f}% > {100 * meta.max_error_rate:.0f}%); "
            f"first error, case {first.document_name}: {first.error_message}"
        )
    ids = {r.model_id for r in results if r.model_id} - {meta.model_id}
    if meta.model_id and ids:
        return (
            f"{meta.model_name}: the run asked for model {meta.model_id!r} but workers "
            f"answered with {', '.join(sorted(ids))}: their model registry differs"
        )
    digests = {r.prompt_digest for r in results if r.prompt_digest} - {meta.prompt_digest}
    if meta.prompt_digest and digests:
        return (
            f"{meta.model_name}: workers sent a different prompt (digest "
            f"{', '.join(sorted(digests))}, expected {meta.prompt_digest}): "
            "their benchq versions differ"
        )
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def score_job_async(
    *,
    run_id: str,
    model_name: str,
    case: Case,
    provider: Provider,
    worker: str | None = None,
) -> CaseResult:
    """Call the model on one case and score its answer; stores nothing.

    A failing model call is not an exception here: it becomes a case result
    carrying the error, so the run completes and the aggregate counts it.
    Only `ProviderBusy` (the fleet's limit is reached) propagates: the case
    is requeued, not failed.
    """
    started = time.perf_counter()
    answer: ModelAnswer | None = None
    error: str | None = None
    try:
        answer = await provider.analyze_async(case.text)
    except ProviderBusy:
        raise  # not an outcome of the case: the task requeues it
    except BenchqError as exc:
        error = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug in a provider must not lose the case
        log.exception("provider %s crashed on case %s", model_name, case.id)
        error = f"unexpected {type(exc).__name__}: {exc}"
    pipeline_ms = (time.perf_counter() - started) * 1000.0
    result = score_case(
        case_id=case.id,
        truth=case.truth,
        answer=answer,
        error=error,
        run_id=run_id,
        model_name=model_name,
        pipeline_latency_ms=pipeline_ms,
        worker=worker,
        finished_at=_now(),
    )
    result.model_id = provider.model_id or None
    result.prompt_digest = provider.prompt_digest
    return result


def score_job(
    *,
    run_id: str,
    model_name: str,
    case: Case,
    provider: Provider,
    worker: str | None = None,
) -> CaseResult:
    """`score_job_async` for synchronous callers (it runs on the process's model-call loop)."""
    return aio.run_sync(
        score_job_async(
            run_id=run_id, model_name=model_name, case=case, provider=provider, worker=worker
        )
    )


@dataclass
class BatchOutcome:
    """What running a batch of cases produced."""

    results: list[CaseResult] = field(default_factory=list)
    """One scored result per case that ran (failed calls included, as results)."""
    deferred: list[Case] = field(default_factory=list)
    """Cases not run because the model's fleet-wide limit was reached: send them again."""
    retry_after: float = 0.0
    """Seconds after which the deferred cases should have a slot."""


async def score_batch(
    *,
    run_id: str,
    model_name: str,
    cases: list[Case],
    provider: Provider,
    slots: asyncio.Semaphore,
    worker: str | None = None,
) -> BatchOutcome:
    """Score the cases of one job concurrently, at most `slots` model calls at a time.

    `slots` is shared by every job of this model in the process, so a worker
    keeps a steady number of calls in flight however its jobs are cut.
    """

    async def one(case: Case) -> CaseResult:
        async with slots:
            return await score_job_async(
                run_id=run_id, model_name=model_name, case=case, provider=provider, worker=worker
            )

    done = await asyncio.gather(*(one(c) for c in cases), return_exceptions=True)
    outcome = BatchOutcome()
    for case, item in zip(cases, done, strict=True):
        if isinstance(item, ProviderBusy):
            outcome.deferred.append(case)
            outcome.retry_after = max(outcome.retry_after, item.retry_after or 0.0)
        elif isinstance(item, KeyboardInterrupt | SystemExit):
            raise item
        elif isinstance(item, BaseException):
            # score_job_async turns model failures into results; anything else
            # (a scoring bug, a stray cancellation) must not lose the case either.
            log.error(
                "case %s of %s crashed", case.id, model_name, exc_info=(type(item), item, None)
            )
            outcome.results.append(
                score_case(
                    case_id=case.id,
                    truth=case.truth,
                    answer=None,
                    error=f"unexpected {type(item).__name__}: {item}",
                    run_id=run_id,
                    model_name=model_name,
                    pipeline_latency_ms=0.0,
                    worker=worker,
                    finished_at=_now(),
                )
            )
        else:
            outcome.results.append(item)
    return outcome


def execute_case(
    *,
    run_id: str,
    model_name: str,
    case: Case,
    provider: Provider,
    store: ResultsStore,
    worker: str | None = None,
) -> CaseResult:
    """Score one case (`score_job`) and persist the result.

    Store errors propagate; the task keeps the scored result and retries
    only the write (see `tasks.run_cases`).
    """
    result = score_job(
        run_id=run_id, model_name=model_name, case=case, provider=provider, worker=worker
    )
    store.save_case_result(result)
    return result


def finalize_model(
    *,
    meta: ModelMeta,
    store: ResultsStore,
    now: datetime | None = None,
) -> FinalizeOutcome:
    """Aggregate, convert and publish one (run, model); record the run summary.

    Publishing makes the next versioned snapshot of the configuration (model
    version, dataset, prompt, environment) and makes it current. A model
    whose run failed (`failure_of`) publishes nothing: its summary says
    why, and the run is marked failed with that error.

    Reads the results from the store, not from the chord: the store holds
    exactly one row per case even when a job was delivered twice.
    """
    now = now or datetime.now(UTC)
    results = store.case_results(meta.run_id, meta.model_name)
    agg = aggregate(meta.model_name, results, generated_at=now)
    started = datetime.fromisoformat(meta.enqueued_at)
    record = to_monitoring(
        agg,
        model=meta.model_name,
        model_version=meta.model_version,
        model_provider=meta.model_provider,
        dataset_version=meta.dataset_version,
        prompt_version=meta.prompt_version,
        duration_seconds=max(0.0, (now - started).total_seconds()),
        timestamp=now,
    ).model_copy(update={"model_id": meta.model_id or None, "prompt_digest": meta.prompt_digest})
    error = failure_of(results, meta)
    if error is not None:
        store.save_run_summary(
            RunModelSummary(
                run_id=meta.run_id,
                model_name=meta.model_name,
                aggregated=agg.model_dump(mode="json"),
                monitoring=record.model_dump(mode="json"),
                finished_at=now.isoformat(),
                status="failed",
                error=error,
            )
        )
        store.set_run_status(meta.run_id, RunStatus.failed.value, error=error)
        return FinalizeOutcome(aggregated=agg, monitoring=record, snapshot=None, error=error)
    push = PushMetadata(
        environment=meta.environment,
        commit_sha=meta.commit_sha,
        branch_name=meta.branch_name,
        run_id=meta.ci_run_id,
        triggered_by=meta.triggered_by,
    )
    # Idempotent per (run, configuration): a redelivered callback gets the same snapshot.
    snapshot = store.publish(record, push, run_id=meta.run_id)
    store.save_run_summary(
        RunModelSummary(
            run_id=meta.run_id,
            model_name=meta.model_name,
            aggregated=agg.model_dump(mode="json"),
            monitoring=record.model_dump(mode="json"),
            finished_at=now.isoformat(),
            snapshot_version=snapshot.snapshot_version,
        )
    )
    run = store.get_run(meta.run_id)
    summaries = store.run_summaries(meta.run_id)
    if {s.model_name for s in summaries} >= set(run.models):
        # Decided from the summaries, not the run's status read above: a model
        # that failed at the same moment has its summary in before it marks the run.
        failed = [s for s in summaries if s.status == "failed"]
        if failed:
            store.set_run_status(meta.run_id, RunStatus.failed.value, error=failed[0].error)
        else:
            store.set_run_status(meta.run_id, RunStatus.done.value)
    return FinalizeOutcome(aggregated=agg, monitoring=record, snapshot=snapshot)
