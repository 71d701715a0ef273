"""Enqueue a planned run: one job per (model, batch of cases), one chord per (run, model).

A job carries `batch_size` cases of one model (the last one fewer); the
worker runs them concurrently on its event loop and stores one result per
case. Batching is what lets a worker keep dozens of I/O-bound model calls in
flight for the price of one message, instead of paying Celery's per-message
Redis traffic for every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from celery import Celery, chain, chord

from benchq.cases.schema import Case
from benchq.jobs import body, names
from benchq.jobs.messages import CaseBatch, ModelJob, describe_args, encode
from benchq.producers.plan import RunPlan
from benchq.store.aggregates import CaseDocument
from benchq.store.base import ResultsStore
from benchq.store.schema import RunModel, RunRecord


def enqueue_run(app: Celery, plan: RunPlan, store: ResultsStore, *, store_identity: str) -> str:
    """Record the run in the store, then send its jobs; returns the run id.

    The run is recorded first so a watcher can find it before the first job
    ends. Re-enqueueing a run id re-sends its jobs; the store keys results by
    (run, model, case), so nothing is counted twice. `store_identity` names
    the store the run is recorded in; the store writers refuse jobs of
    another store's runs.
    """
    record_run(plan, store)
    send_run_jobs(app, plan, store_identity=store_identity)
    return plan.run_id


def send_run_jobs(app: Celery, plan: RunPlan, *, store_identity: str) -> None:
    """Send every job of a recorded run: each case of the suite, each repeat, each model."""
    every = [(case, repeat) for repeat in range(plan.repeats) for case in plan.suite.cases]
    send_jobs(app, plan, {m.name: every for m in plan.models}, store_identity=store_identity)


def record_run(plan: RunPlan, store: ResultsStore) -> None:
    """Store the run and the documents it shows its models (idempotent)."""
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
            suite_path=plan.suite_path,
            repeats=plan.repeats,
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
    store.save_case_documents(plan.run_id, case_documents(plan.suite.cases))


def case_documents(cases: Iterable[Case]) -> list[CaseDocument]:
    """Each case's bill and expected issues, as a run keeps them beside its results."""
    return [
        CaseDocument(
            case_id=case.id,
            document_type=case.truth.document_type.value,
            text=case.text,
            expected_issues=[i.model_dump(mode="json") for i in case.truth.expected_issues],
        )
        for case in cases
    ]


def send_jobs(
    app: Celery,
    plan: RunPlan,
    cases_by_model: dict[str, list[tuple[Case, int]]],
    *,
    store_identity: str,
) -> None:
    """Per model named in `cases_by_model`: jobs of its (case, repeat) pairs, then its chain.

    Each job holds cases of one repeat. A model with nothing to run
    (`benchq resume` after every case was stored) gets its chain alone; a
    model not named gets nothing.
    """
    size = plan.batch_size
    # A run's duration is measured from here: planning (and, on the embedded
    # default, starting Redis and the workers) happened before.
    enqueued_at = datetime.now(UTC).isoformat()
    for model in plan.models:
        if model.name not in cases_by_model:
            continue
        pairs = cases_by_model[model.name]
        job = ModelJob(
            run_id=plan.run_id,
            model_name=model.name,
            model_version=model.model_version,
            model_provider=model.provider,
            model_id=model.model_id,
            prompt_digest=model.prompt_digest,
            dataset_version=plan.dataset_version,
            prompt_version=plan.prompt_version,
            expected_cases=len(plan.suite.cases) * plan.repeats,
            enqueued_at=enqueued_at,
            environment=plan.environment,
            commit_sha=plan.provenance.commit_sha,
            branch_name=plan.provenance.branch_name,
            triggered_by=plan.provenance.triggered_by,
            ci_run_id=plan.provenance.ci_run_id,
            max_error_rate=plan.max_error_rate,
            regression_threshold=plan.regression_threshold,
            alpha=plan.alpha,
            store=store_identity,
        )
        header = []
        for repeat, start, cases in _batches(pairs, size):
            batch = CaseBatch(
                run_id=plan.run_id,
                model_name=model.name,
                prompt_version=plan.prompt_version,
                # A repeat is there to see the model answer again, not the cache.
                # Nor does it write there: all repeats run at once, and the
                # first one's cache reads would find the later ones' answers.
                cache_mode=plan.cache_mode if repeat == 0 else "bypass",
                store=store_identity,
                repeat=repeat,
                cases=cases[start : start + size],
            )
            header.append(
                app.signature(
                    names.RUN_CASES,
                    args=(encode(batch, exclude={"cases": {"__all__": {"source"}}}),),
                    queue=names.provider_queue(model.provider),
                    serializer=body.SERIALIZER,
                    # Flower and worker logs show these instead of the whole bills.
                    argsrepr=describe_args((batch,)),
                    kwargsrepr="{}",
                )
            )
        if header:
            chord(header, app=app)(_model_chain(app, job))
        else:
            _model_chain(app, job).apply_async()


def _batches(pairs: list[tuple[Case, int]], size: int) -> Iterator[tuple[int, int, list[Case]]]:
    """(repeat, start, cases of that repeat) for each job: one repeat per job."""
    by_repeat: dict[int, list[Case]] = {}
    for case, repeat in pairs:
        by_repeat.setdefault(repeat, []).append(case)
    for repeat, cases in sorted(by_repeat.items()):
        for start in range(0, len(cases), size):
            yield repeat, start, cases


def _model_chain(app: Celery, job: ModelJob) -> chain:
    """aggregate and convert -> publish -> verdict: separate tasks, each retried alone."""
    payload = job.model_dump(mode="json")
    shown = describe_args((payload,))
    steps = [
        app.signature(
            task, args=(payload,), queue=names.PUBLISH_QUEUE, immutable=True, argsrepr=shown
        )
        for task in (names.AGGREGATE, names.PUBLISH, names.VERDICT)
    ]
    model_chain = chain(*steps, app=app)
    # A job of the chord, or a step of the chain, that fails for good fails its
    # model: nobody waits for a verdict that will not come, and the run's other
    # models still finish. Set on the chain, it
    # reaches each step as it runs, and Celery calls it on a failed chord header.
    model_chain.link_error(
        app.signature(
            names.RUN_FAILED,
            kwargs={"run_id": job.run_id, "model_name": job.model_name},
            queue=names.PUBLISH_QUEUE,
        )
    )
    return model_chain
