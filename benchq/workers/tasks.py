"""Thin Celery tasks: (de)serialisation, retries and routing around `pipeline`.

Message payloads are plain JSON (`benchq.jobs.messages`), so any worker on
any machine can take any job without access to the producer's files. Each
task is idempotent (Celery delivers at least once) and retries on its own:

    provider queue   run_cases ──► save_cases      (publish queue, one per job)
    publish queue    chord of a model's run_cases ──► aggregate ──► publish ──► verdict

A store outage during `publish` retries `publish` alone: the aggregate it
needs is already stored, and the model is never called again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from celery import Task, signals
from celery.exceptions import Ignore

from benchq.collector import tune_process
from benchq.errors import StoreUnavailable
from benchq.jobs import body, ledger, names, wakeup
from benchq.jobs.liveness import run_has_jobs
from benchq.jobs.messages import (
    CaseBatch,
    ModelJob,
    SaveCases,
    decode,
    describe_args,
    describe_failure,
    encode,
)
from benchq.jobs.target import check_store
from benchq.providers import aio
from benchq.providers.factory import import_provider_sdks
from benchq.scoring.schema import CaseResult, result_key
from benchq.store.base import ResultsStore
from benchq.workers import context, withheld
from benchq.workers.app import app
from benchq.workers.joblog import log_jobs
from benchq.workers.notify import notify_run, parse_urls
from benchq.workers.patience import Patience
from benchq.workers.pipeline import (
    BatchOutcome,
    aggregate_model,
    fail_model,
    finish_run,
    publish_model,
    score_batch,
    verdict_model,
)

log = logging.getLogger("benchq.jobs")
F = TypeVar("F", bound=Callable[..., Any])


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
    # Celery's reports of a message it cannot run would quote its body: bills.
    withheld.install()


@signals.worker_shutdown.connect  # type: ignore[untyped-decorator]
@signals.worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_providers(**_: Any) -> None:
    # threads and solo pools: the main process shuts down; prefork: each child
    context.close_providers()


@signals.task_received.connect  # type: ignore[untyped-decorator]
def _hold_lease(request: Any = None, **_: Any) -> None:
    # Every job this process takes, countdowns included, is renewed until it
    # ends: only a dead worker's jobs wait out the visibility timeout.
    tag = getattr(getattr(request, "message", None), "delivery_tag", None)
    task_id = getattr(request, "id", None)
    if tag and task_id:
        context.leases().hold(str(task_id), str(tag))


@signals.task_postrun.connect  # type: ignore[untyped-decorator]
def _end_lease(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        context.leases().release(str(task_id))


@signals.worker_init.connect  # type: ignore[untyped-decorator]
def _import_sdks(sender: Any = None, **_: Any) -> None:
    # Before the worker takes jobs: import the SDKs of the providers whose
    # queues it serves, so its first jobs do not wait for them.
    amqp = getattr(getattr(sender, "app", None), "amqp", None)
    import_provider_sdks(list(amqp.queues.consume_from) if amqp is not None else [])
    # Everything imported so far lives as long as the worker; jobs allocate a
    # lot that dies young (benchq.collector).
    tune_process()


class JobTask(Task):  # type: ignore[misc]
    """A task whose retries show what its first delivery showed: ids, never a bill.

    Celery does not carry `argsrepr` over to a retry's message, so without
    this a retried job would show Flower the whole document it carries.
    """

    def retry(self, args: Any = None, kwargs: Any = None, *posargs: Any, **options: Any) -> Any:
        """`Task.retry`, with `argsrepr`/`kwargsrepr` made from the retry's arguments."""
        shown = args if args is not None else self.request.args
        options.setdefault("argsrepr", describe_args(shown))
        options.setdefault("kwargsrepr", "{}")
        return super().retry(args, kwargs, *posargs, **options)


def _job_task(name: str, serializer: str | None = None) -> Callable[[F], F]:
    """The decorator of a job: acknowledged after it ran, delivered again if its worker died.

    `serializer` is the body format of the job's retries (the app's JSON
    when None).
    """
    return cast(
        "Callable[[F], F]",
        app.task(
            bind=True,
            base=JobTask,
            name=name,
            acks_late=True,
            reject_on_worker_lost=True,
            max_retries=None,
            serializer=serializer,
        ),
    )


#: How long `aggregate` waits (in 1 s retries) for stragglers before failing the run.
AGGREGATE_MAX_WAIT_RETRIES = 600

#: Retries of `aggregate` after which it asks the broker whether the missing cases
#: can still come (the chord can fire before a job's results reach the store).
LOST_CHECK_AFTER_RETRIES = 5


def _case_work_lost(job: ModelJob, store: ResultsStore) -> bool:
    """True when results are missing and no job of the run can still bring them.

    A SIGKILLed worker can take a message with it: Redis hands a message
    over (BRPOP) before the worker records it as held, so one the worker
    had not recorded yet is in no queue and in no `unacked` entry. Asked
    twice, a second apart, with the count unchanged, so a message passing
    between the two at that instant is not taken for lost.
    """
    client = context.broker_redis()
    kinds = [job.model_provider]
    tasks = (names.RUN_CASES, names.SAVE_CASES)
    before = store.count_case_results(job.run_id, job.model_name)
    if run_has_jobs(client, job.run_id, kinds, tasks=tasks):
        return False
    time.sleep(1.0)
    after = store.count_case_results(job.run_id, job.model_name)
    return (
        after == before
        and after < job.expected_cases
        and not run_has_jobs(client, job.run_id, kinds, tasks=tasks)
    )


def _backoff(retries: int) -> float:
    """Seconds before the next attempt at a store write: 1, 2, 4 ... capped at 60, jittered."""
    return min(60.0, 2.0 ** min(retries, 6)) * random.uniform(0.5, 1.0)


# --- provider queues ------------------------------------------------------------


@_job_task(names.RUN_CASES, serializer=body.SERIALIZER)
def run_cases(self: Task, batch: str | dict[str, Any]) -> dict[str, Any]:
    """Run and score a batch of (run, model, case); hand the results to the store writers.

    The cases run concurrently on the worker's event loop. A batch delivered
    again (its worker died) skips the cases already handed over. Cases
    deferred by the model's fleet-wide limit are sent again, alone, once it
    should have room.
    """
    job = decode(CaseBatch, batch)
    patience = Patience(f"run {job.run_id}/{job.model_name}")
    redis_client = context.broker_redis()
    keys = {c.id: result_key(c.id, job.repeat) for c in job.cases}
    done = patience.call(
        lambda: ledger.handed_over(redis_client, job.run_id, job.model_name, list(keys.values()))
    )
    pending = [c for c in job.cases if keys[c.id] not in done]
    outcome = BatchOutcome()
    while pending:
        step = aio.run_sync(
            score_batch(
                run_id=job.run_id,
                model_name=job.model_name,
                cases=pending,
                provider=context.provider(job.model_name, job.cache_mode, job.prompt_version),
                slots=context.call_slots(job.model_name),
                worker=self.request.hostname or context.worker_name(),
                repeat=job.repeat,
            )
        )
        outcome.results.extend(step.results)
        outcome.deferred.extend(step.deferred)
        outcome.retry_after = max(outcome.retry_after, step.retry_after)
        # Cases cut off by an outage of the broker (the limiter's Redis) run
        # again here once it is back: an outage is never the model's error.
        pending = step.interrupted
        if pending:
            patience.wait(step.infra_error or "the fleet limiter failed")
    if outcome.results:
        patience.call(lambda: _hand_over(job, outcome.results))
    log_jobs(outcome.results, task_retries=self.request.retries or 0)
    if outcome.deferred:
        # The model's fleet-wide limit is reached: give this worker back to
        # other models' jobs and come again when a slot should be free.
        rest = job.model_copy(update={"cases": outcome.deferred})
        raise self.retry(
            args=(encode(rest),),
            countdown=outcome.retry_after + random.uniform(0, 0.5),
            max_retries=None,
        )
    return {
        "cases": [r.document_name for r in outcome.results],
        "errors": sum(1 for r in outcome.results if r.error_message),
    }


# --- the publish queue: every store write ---------------------------------------------


@_job_task(names.SAVE_CASES, serializer=body.SERIALIZER)
def save_cases(self: Task, message: str | dict[str, Any]) -> int:
    """Write a job's scored results; a store outage retries the write, the message keeps them."""
    msg = decode(SaveCases, message)
    check_store(msg.store, context.store_target())
    try:
        context.store().save_case_results(msg.results)
    except StoreUnavailable as exc:
        log.warning(
            "store unavailable, keeping %d results of %s/%s for retry %d: %s",
            len(msg.results), msg.run_id, msg.model_name, self.request.retries + 1, exc,
        )  # fmt: skip
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return len(msg.results)


def _hand_over(job: CaseBatch, results: list[CaseResult]) -> None:
    """Send a job's results to the store writers, then note them in the ledger.

    In this order: a worker that dies between the two runs the cases again on
    redelivery (the store keeps one row each), never loses them.
    """
    message = SaveCases(
        run_id=job.run_id, model_name=job.model_name, store=job.store, results=results
    )
    app.send_task(
        names.SAVE_CASES,
        args=(encode(message),),
        queue=names.PUBLISH_QUEUE,
        serializer=body.SERIALIZER,
        argsrepr=describe_args((message,)),
        kwargsrepr="{}",
    )
    ledger.mark_handed_over(
        context.broker_redis(), job.run_id, job.model_name, [r.result_key for r in results]
    )


def _job(payload: dict[str, Any]) -> ModelJob:
    job = ModelJob.model_validate(payload)
    check_store(job.store, context.store_target())
    return job


@_job_task(names.AGGREGATE)
def aggregate(self: Task, job: dict[str, Any]) -> dict[str, Any]:
    """First link of a model's chain: aggregate and convert once every case is stored.

    The chord fires when its counter reaches the number of jobs; a job that
    ran twice (its worker died after finishing, before acknowledging) bumps
    the counter twice, and results travel to the store on their own
    messages, so this waits until the store holds every case.
    """
    parsed = _job(job)
    store = context.store()
    try:
        summary = aggregate_model(parsed, store)
        if summary is None:
            have = store.count_case_results(parsed.run_id, parsed.model_name)
            error = None
            if self.request.retries >= LOST_CHECK_AFTER_RETRIES and _case_work_lost(parsed, store):
                error = (
                    f"{parsed.model_name}: {parsed.expected_cases - have} of "
                    f"{parsed.expected_cases} case results never arrived and no job of the "
                    "run is left to bring them (lost in transit: a worker killed as it "
                    f"received them?); `benchq resume {parsed.run_id}` runs them"
                )
            elif self.request.retries >= AGGREGATE_MAX_WAIT_RETRIES:
                error = (
                    f"{parsed.model_name}: {have} of {parsed.expected_cases} case results "
                    "stored after waiting 10 minutes for the rest; "
                    f"`benchq resume {parsed.run_id}` runs the missing ones"
                )
            if error is not None:
                # The run fails, and the model stays unfinished (no summary, no
                # errback), so `benchq resume` runs exactly its missing cases and
                # a new chain aggregates them. Ignore ends this chain here.
                log.error("run %s failed: %s", parsed.run_id, error)
                store.set_run_status(parsed.run_id, "failed", error=error)
                _notify(parsed.run_id)
                raise Ignore()
            raise self.retry(countdown=1.0)
    except StoreUnavailable as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return {"run_id": parsed.run_id, "model": parsed.model_name, "status": summary.status}


@_job_task(names.PUBLISH)
def publish(self: Task, job: dict[str, Any]) -> dict[str, Any]:
    """Second link: the aggregate becomes the configuration's next snapshot (once per run)."""
    parsed = _job(job)
    try:
        summary = publish_model(parsed, context.store())
    except StoreUnavailable as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return {"model": parsed.model_name, "snapshot_version": summary.snapshot_version}


@_job_task(names.VERDICT)
def verdict(self: Task, job: dict[str, Any]) -> dict[str, Any]:
    """Last link: the regression verdict; the run's end and its notification follow from it."""
    parsed = _job(job)
    store = context.store()
    try:
        summary = verdict_model(parsed, store)
        run_over = _finish(parsed.run_id)
    except StoreUnavailable as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    if not run_over:
        # The model is over, others are not: a producer waiting on the run
        # updates its progress now (the run's end rings through `_notify`).
        wakeup.ring(context.broker_redis(), parsed.run_id)
    return {"model": parsed.model_name, "verdict": (summary.verdict or {}).get("status")}


def _finish(run_id: str) -> bool:
    """Close the run if every model is over, and tell the webhooks (once per run).

    True when this call closed it (and rang a waiting producer, `_notify`).
    """
    if finish_run(context.store(), run_id) is None:
        return False
    _notify(run_id)
    return True


def _notify(run_id: str) -> None:
    # A producer waiting on the run looks at the store now (the run is over).
    wakeup.ring(context.broker_redis(), run_id)
    cfg = context.settings()
    notify_run(context.store(), run_id, parse_urls(cfg.notify_urls), timeout=cfg.notify_timeout)


@app.task(name=names.RUN_FAILED)  # type: ignore[untyped-decorator]
def run_failed(
    request: Any, exc: BaseException, traceback: Any, *, run_id: str, model_name: str | None = None
) -> None:
    """Errback of a model's jobs and chain: one failed for good, so that model cannot finish.

    Celery calls it in the worker where the failure was noticed. The model
    is recorded failed, with the error; the run's other models go on and
    are published, and the run ends failed once they are over, so
    `benchq run` and `benchq enqueue --wait` wait for them and then say so.
    (Messages from an older producer name no model: the run fails at once.)
    """
    error = f"a job failed for good: {describe_failure(exc)}"
    log.error("run %s failed: job %s: %s", run_id, getattr(request, "id", "?"), error)
    store = context.store()
    if model_name is None:
        store.set_run_status(run_id, "failed", error=error)
        _notify(run_id)
        return
    fail_model(store, run_id, model_name, f"{model_name}: {error}")
    _finish(run_id)


@app.task(name=names.PING)  # type: ignore[untyped-decorator]
def ping() -> str:
    """A no-op job: health checks, and the floor `bench/pipeline.py` measures against."""
    return "pong"
