"""The work of the jobs, as plain functions: tasks only wrap these.

A run's story, per model:

- `score_batch` (provider queue): call the model on each case of a job on
  the process's event loop and score the answers; stores nothing (the
  results go to the publish queue as a `SaveCases` message);
- `aggregate_model` (publish queue): once the store holds every case,
  aggregate and convert; a model whose run failed (`failure_of`) is
  recorded as failed here and goes no further;
- `publish_model`: the aggregate becomes the configuration's next snapshot;
- `verdict_model`: the regression check of that snapshot; then
  `finish_run` decides the run's status once every model is over.

Each step reads what the one before stored and writes its own outcome, so
each can run twice (Celery delivers at least once) or be retried alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from benchq.cases.schema import Case
from benchq.errors import BenchqError, InfraUnavailable, NotFound, ProviderBusy
from benchq.jobs.messages import ModelJob
from benchq.providers.base import ModelAnswer, Provider
from benchq.regression.stats import CaseCounts, case_rates, score_intervals
from benchq.regression.verdict import VerdictRule
from benchq.scoring.aggregate import Totals
from benchq.scoring.case import score_case
from benchq.scoring.monitoring import to_monitoring
from benchq.scoring.schema import AggregatedMetrics, CaseResult, MonitoringRecord
from benchq.store.base import ResultsStore
from benchq.store.schema import (
    PushMetadata,
    RunModelSummary,
    RunStatus,
    SnapshotConfig,
)
from benchq.store.verdicts import snapshot_verdict

log = logging.getLogger("benchq.jobs")


def _now() -> str:
    return datetime.now(UTC).isoformat()


# --- a job's cases (provider queues) -----------------------------------------------


async def score_case_async(
    *,
    run_id: str,
    model_name: str,
    case: Case,
    provider: Provider,
    worker: str | None = None,
    repeat: int = 0,
) -> CaseResult:
    """Call the model on one case and score its answer; stores nothing.

    A failing model call is not an exception here: it becomes a case result
    carrying the error, so the run completes and the aggregate counts it.
    Two things propagate, because they say nothing about the model: the
    fleet's limit is reached (`ProviderBusy`) and a part benchq runs on
    failed (`InfraUnavailable`, e.g. the broker's Redis under the limiter);
    the case runs again later instead of being stored as the model's error.
    """
    started = time.perf_counter()
    answer: ModelAnswer | None = None
    error: str | None = None
    try:
        answer = await provider.analyze_async(case.text)
    except (ProviderBusy, InfraUnavailable):
        raise  # not an outcome of the case: the task runs it again
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
    result.repeat = repeat
    return result


@dataclass
class BatchOutcome:
    """What running a batch of cases produced."""

    results: list[CaseResult] = field(default_factory=list)
    """One scored result per case that ran (failed calls included, as results)."""
    deferred: list[Case] = field(default_factory=list)
    """Cases not run because the model's fleet-wide limit was reached: send them again."""
    retry_after: float = 0.0
    """Seconds after which the deferred cases should have a slot."""
    interrupted: list[Case] = field(default_factory=list)
    """Cases not run because a part benchq runs on failed: run them again once it is back."""
    infra_error: str | None = None
    """What failed, for the log."""


async def score_batch(
    *,
    run_id: str,
    model_name: str,
    cases: list[Case],
    provider: Provider,
    slots: asyncio.Semaphore,
    worker: str | None = None,
    repeat: int = 0,
) -> BatchOutcome:
    """Score the cases of one job concurrently, at most `slots` model calls at a time.

    `slots` is shared by every job of this model in the process, so a worker
    keeps a steady number of calls in flight however its jobs are cut.
    """

    async def one(case: Case) -> CaseResult:
        async with slots:
            return await score_case_async(
                run_id=run_id,
                model_name=model_name,
                case=case,
                provider=provider,
                worker=worker,
                repeat=repeat,
            )

    done = await asyncio.gather(*(one(c) for c in cases), return_exceptions=True)
    outcome = BatchOutcome()
    for case, item in zip(cases, done, strict=True):
        if isinstance(item, ProviderBusy):
            outcome.deferred.append(case)
            outcome.retry_after = max(outcome.retry_after, item.retry_after or 0.0)
        elif isinstance(item, InfraUnavailable):
            outcome.interrupted.append(case)
            outcome.infra_error = str(item)
        elif isinstance(item, KeyboardInterrupt | SystemExit):
            raise item
        elif isinstance(item, BaseException):
            # score_case_async turns model failures into results; anything else
            # (a scoring bug, a stray cancellation) must not lose the case either.
            log.error(
                "case %s of %s crashed", case.id, model_name, exc_info=(type(item), item, None)
            )
            crashed = score_case(
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
            crashed.repeat = repeat
            outcome.results.append(crashed)
        else:
            outcome.results.append(item)
    return outcome


# --- a model's chain (publish queue) -----------------------------------------------


def failure_of(results: list[CaseResult] | Totals, job: ModelJob) -> str | None:
    """Why this (run, model) must not be published, or None when it may be.

    Too many failed cases (above `job.max_error_rate`): a score made of
    failures is not the model's score. Answers from another model or prompt
    than the producer named (workers with a different registry or benchq):
    the figure would be filed under the wrong label. Takes the results, or
    their `Totals` (what the aggregate step gathers page by page).
    """
    if not isinstance(results, Totals):
        totals = Totals()
        for result in results:
            totals.add(result)
        results = totals
    errors, total = results.errors, results.total
    if total and errors / total > job.max_error_rate:
        case, message = results.first_error or ("?", "?")
        return (
            f"{job.model_name}: {errors} of {total} cases failed "
            f"({100 * errors / total:.0f}% > {100 * job.max_error_rate:.0f}%); "
            f"first error, case {case}: {message}"
        )
    ids = results.model_ids - {job.model_id}
    if job.model_id and ids:
        return (
            f"{job.model_name}: the run asked for model {job.model_id!r} but workers "
            f"answered with {', '.join(sorted(ids))}: their model registry differs"
        )
    digests = results.prompt_digests - {job.prompt_digest or ""}
    if job.prompt_digest and digests:
        return (
            f"{job.model_name}: workers sent a different prompt (digest "
            f"{', '.join(sorted(digests))}, expected {job.prompt_digest}): "
            "their benchq versions differ"
        )
    return None


def with_intervals(
    agg: AggregatedMetrics, grouped: Mapping[str, Sequence[CaseCounts]]
) -> AggregatedMetrics:
    """The aggregate with 95 % bootstrap intervals over cases (seeded: re-aggregating agrees).

    `grouped` holds each case's issue counts, one per repeat (`--repeat`):
    repeats pool into the case's rates, so the interval is over cases, not
    over case-repeats; the cases whose outcome differed between repeats are
    named.
    """
    if not grouped:
        return agg
    ci = score_intervals(case_rates(grouped))
    unstable = sorted(
        case_id
        for case_id, outcomes in grouped.items()
        if len({(o.true_positives, o.false_positives, o.false_negatives) for o in outcomes}) > 1
    )
    return agg.model_copy(
        update={
            "issue_precision_ci": list(ci.precision_ci),
            "issue_recall_ci": list(ci.recall_ci),
            "issue_f1_ci": list(ci.f1_ci),
            "repeats": max(len(v) for v in grouped.values()),
            "unstable_cases": unstable,
        }
    )


class _Counts(NamedTuple):
    """A case's issue counts as the aggregate keeps them for the intervals.

    A tuple, not a pydantic `CaseOutcome`: the aggregate holds one per case
    (100,000 cases: 26 MB instead of 67 MB of a worker's memory).
    """

    true_positives: int
    false_positives: int
    false_negatives: int


def _summary(store: ResultsStore, job: ModelJob) -> RunModelSummary | None:
    return _model_summary(store, job.run_id, job.model_name)


def _model_summary(store: ResultsStore, run_id: str, model_name: str) -> RunModelSummary | None:
    for summary in store.run_summaries(run_id):
        if summary.model_name == model_name:
            return summary
    return None


def aggregate_model(
    job: ModelJob, store: ResultsStore, *, now: datetime | None = None
) -> RunModelSummary | None:
    """Aggregate and convert one (run, model) once its cases are in; record the outcome.

    Returns None while the store holds fewer than `job.expected_cases`
    results (a redelivered job is still running: the caller waits and asks
    again). A (run, model) already aggregated is returned as stored.

    Reads the results from the store, not from the chord: the store holds
    exactly one row per case even when a job was delivered twice.
    """
    found = _summary(store, job)
    if found is not None:
        return found
    if store.count_case_results(job.run_id, job.model_name) < job.expected_cases:
        return None
    now = now or datetime.now(UTC)
    # Page by page: the sums, and each case's three issue counts for the
    # intervals, are all the aggregate needs; the 30,000 results of a run
    # held at once took a worker past 500 MB.
    totals = Totals()
    grouped: dict[str, list[CaseCounts]] = {}
    for page in store.iter_case_results(job.run_id, job.model_name):
        for result in page:
            totals.add(result)
            grouped.setdefault(result.document_name, []).append(
                _Counts(result.true_positives, result.false_positives, result.false_negatives)
            )
    agg = with_intervals(totals.metrics(job.model_name, generated_at=now), grouped)
    record = to_monitoring(
        agg,
        model=job.model_name,
        model_version=job.model_version,
        model_provider=job.model_provider,
        dataset_version=job.dataset_version,
        prompt_version=job.prompt_version,
        duration_seconds=max(0.0, (now - datetime.fromisoformat(job.enqueued_at)).total_seconds()),
        timestamp=now,
    ).model_copy(
        update={
            "model_id": job.model_id or None,
            "prompt_digest": job.prompt_digest,
            # the suite's size: with `--repeat`, the results are cases x repeats
            "dataset_size": len(grouped),
        }
    )
    error = failure_of(totals, job)
    summary = RunModelSummary(
        run_id=job.run_id,
        model_name=job.model_name,
        # Without the cases: they are stored already, one row each, and every
        # later step (and each progress poll) reads this summary again.
        aggregated=agg.model_dump(mode="json", exclude={"individual_results"}),
        monitoring=record.model_dump(mode="json"),
        finished_at=now.isoformat(),
        status="failed" if error else "aggregated",
        error=error,
    )
    store.save_run_summary(summary)
    return summary


def publish_model(job: ModelJob, store: ResultsStore) -> RunModelSummary:
    """Publish an aggregated (run, model) as its configuration's next snapshot.

    Idempotent: publishing is keyed by (run, configuration) in the store, and
    a model already published or failed is returned as it is.
    """
    summary = _summary(store, job)
    if summary is None:
        raise NotFound(f"run {job.run_id}: {job.model_name} has not been aggregated")
    if summary.status != "aggregated":
        return summary
    record = MonitoringRecord.model_validate(summary.monitoring)
    push = PushMetadata(
        environment=job.environment,
        commit_sha=job.commit_sha,
        branch_name=job.branch_name,
        run_id=job.ci_run_id,
        triggered_by=job.triggered_by,
    )
    snapshot = store.publish(record, push, run_id=job.run_id)
    published = summary.model_copy(
        update={"status": "published", "snapshot_version": snapshot.snapshot_version}
    )
    store.save_run_summary(published)
    return published


def verdict_model(job: ModelJob, store: ResultsStore) -> RunModelSummary:
    """The regression verdict of a published (run, model), stored with its summary.

    Case by case against the configuration's baseline (`store.verdicts`),
    falling back to the original's rule where the cases cannot be paired.
    """
    summary = _summary(store, job)
    if summary is None:
        raise NotFound(f"run {job.run_id}: {job.model_name} has not been aggregated")
    if summary.status != "published" or summary.verdict is not None:
        return summary
    config = SnapshotConfig(
        model_version=job.model_version,
        dataset_version=job.dataset_version,
        prompt_version=job.prompt_version,
        environment=job.environment,
    )
    verdict = snapshot_verdict(
        store,
        config,
        version=summary.snapshot_version,
        rule=VerdictRule(threshold=job.regression_threshold, alpha=job.alpha),
    )
    judged = summary.model_copy(update={"verdict": verdict.model_dump(mode="json")})
    store.save_run_summary(judged)
    return judged


def fail_model(
    store: ResultsStore, run_id: str, model_name: str, error: str, *, now: datetime | None = None
) -> RunModelSummary:
    """Record that a model's chain cannot finish (a job or step failed for good).

    The model's summary becomes `failed` with `error`, keeping whatever the
    aggregate step stored; a chain already over (published with its
    verdict, or failed) is left as it is. The run's other models go on, and
    `finish_run` closes the run once they are over.
    """
    found = _model_summary(store, run_id, model_name)
    if found is not None and found.final:
        return found
    failed = RunModelSummary(
        run_id=run_id,
        model_name=model_name,
        aggregated=found.aggregated if found else {},
        monitoring=found.monitoring if found else {},
        finished_at=(now or datetime.now(UTC)).isoformat(),
        snapshot_version=found.snapshot_version if found else None,
        status="failed",
        error=error,
    )
    store.save_run_summary(failed)
    return failed


def finish_run(store: ResultsStore, run_id: str) -> RunStatus | None:
    """Set the run's final status once every model's chain is over; returns it, or None.

    Failed when any model failed (with the first model's error), done
    otherwise. Decided from the summaries, which each chain writes before
    calling this, so whichever model ends last sees all of them.
    """
    run = store.get_run(run_id)
    summaries = {s.model_name: s for s in store.run_summaries(run_id)}
    if not all(m in summaries and summaries[m].final for m in run.models):
        return None
    failed = [summaries[m] for m in run.models if summaries[m].status == "failed"]
    if failed:
        store.set_run_status(run_id, RunStatus.failed.value, error=failed[0].error)
        return RunStatus.failed
    store.set_run_status(run_id, RunStatus.done.value)
    return RunStatus.done


def aggregated_of(summary: RunModelSummary) -> AggregatedMetrics:
    """The aggregate a summary holds (its cases are in the store, not in the summary)."""
    return AggregatedMetrics.model_validate({"individual_results": [], **summary.aggregated})
