"""Jobs of several cases, run by a real worker against the stand-in API."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from benchq.cases.suite import load_suite
from benchq.jobs.broker import broker_client
from benchq.jobs.celery_app import make_app
from benchq.jobs.ledger import mark_handed_over
from benchq.jobs.messages import CaseBatch
from benchq.jobs.names import PUBLISH_QUEUE, RUN_CASES, provider_queue
from benchq.local.worker_pool import WorkerPool
from benchq.producers.enqueue import enqueue_run
from benchq.producers.plan import ModelPlan, plan_run
from benchq.producers.wait import wait_for_run
from benchq.store.factory import resolve_store_target
from benchq.store.schema import RunRecord, RunStatus
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import BASELINE, settings_for, workers
from tests.standin.server import StandinServer


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


def test_a_job_delivered_again_calls_the_model_only_for_cases_not_yet_stored(
    clean_env: Path, redis_url: str, standin: StandinServer
) -> None:
    """A worker died after handing over part of its job: the job's next delivery runs the rest."""
    suite_dir = clean_env / "suite"
    generate_suite(5, 3, suite_dir)
    cases = load_suite(suite_dir).cases
    settings = settings_for(clean_env, redis_url)
    store = SQLiteStore(clean_env / "benchq.db")
    store.create_run(
        RunRecord(run_id="r", suite="s", models=["medgemma"], cases_per_model=5, created_at="x")
    )
    # What the first delivery handed to the store writers before its worker died.
    mark_handed_over(broker_client(redis_url), "r", "medgemma", [c.id for c in cases[:3]])
    env = {
        "BENCHQ_MEDGEMMA_BASE_URL": standin.openai_base_url,
        "BENCHQ_RESPONSE_CACHE": "false",
        "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", ""),
    }
    batch = CaseBatch(
        run_id="r",
        model_name="medgemma",
        store=resolve_store_target(settings).identity,
        cases=cases,
    )
    with workers(settings, 1, extra_env=env):
        job = make_app(settings).signature(
            RUN_CASES, args=(batch.model_dump(mode="json"),), queue=provider_queue("medgemma")
        )
        summary = job.apply_async().get(timeout=120)
        assert standin.count() == 2  # only the two cases not handed over yet
        assert sorted(summary["cases"]) == sorted(c.id for c in cases[3:])
        deadline = time.monotonic() + 60
        while store.count_case_results("r", "medgemma") < 2:
            assert time.monotonic() < deadline, "the results never reached the store"
            time.sleep(0.05)
    assert sorted(r.document_name for r in store.case_results("r", "medgemma")) == sorted(
        c.id for c in cases[3:]
    )
    store.close()


def test_a_job_that_fails_for_good_fails_its_model_and_the_others_finish(
    clean_env: Path, redis_url: str
) -> None:
    """A producer enqueues a model its workers do not know: that model fails, with its
    error, and the run waits for the others, publishes them, then ends failed."""
    suite_dir = clean_env / "suite"
    generate_suite(6, 4, suite_dir)
    settings = settings_for(clean_env, redis_url, batch_size=3)
    ghost = ModelPlan(name="ghost", provider="baseline", model_version="ghost-v1")
    plan = plan_run(load_suite(suite_dir), [BASELINE, ghost], batch_size=3)
    store = SQLiteStore(clean_env / "benchq.db")
    identity = resolve_store_target(settings).identity
    with workers(settings, 1):
        enqueue_run(make_app(settings), plan, store, store_identity=identity)
        progress = wait_for_run(store, plan.run_id, timeout=120)

    assert progress.failed_models == ["ghost"]
    run = store.get_run(plan.run_id)
    assert run.status is RunStatus.failed
    assert run.error is not None and "ghost" in run.error and "failed for good" in run.error
    # The model the workers know was run, stored and published all the same,
    # before the run was closed (the waiting producer saw it finished).
    assert store.count_case_results(plan.run_id, "baseline") == 6
    summaries = {s.model_name: s for s in store.run_summaries(plan.run_id)}
    assert summaries["baseline"].status == "published" and summaries["baseline"].final
    assert summaries["ghost"].status == "failed"
    assert store.count_case_results(plan.run_id, "ghost") == 0
    store.close()


@pytest.mark.parametrize(("kind", "loads_sdk"), [("medgemma", True), ("baseline", False)])
def test_workers_load_the_sdks_of_their_queues_before_taking_jobs(
    clean_env: Path, redis_url: str, kind: str, loads_sdk: bool
) -> None:
    settings = settings_for(clean_env, redis_url)
    pool = WorkerPool(
        count=1,
        env={"BENCHQ_BROKER_URL": redis_url, "PYTHONPATH": os.pathsep.join(sys.path)},
        queues=[PUBLISH_QUEUE, provider_queue(kind)],
    )
    with pool:
        assert pool.wait_ready(make_app(settings))
        maps = Path(f"/proc/{pool.procs[0].pid}/maps").read_text()
    # aiohttp (the SDKs' transport) is a compiled extension: mapped once imported.
    assert ("aiohttp" in maps) is loads_sdk


def test_the_batch_follows_the_workers_concurrency_unless_set(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchq.config.settings import Settings
    from benchq.local.worker_pool import pool_slots

    assert Settings().batch_size == 20  # 8 calls in flight: 20, as always
    assert Settings(worker_concurrency=20).batch_size == 20
    assert Settings(worker_concurrency=24).batch_size == 24  # one job fills the calls
    assert Settings(worker_concurrency=48).batch_size == 48
    assert Settings(worker_concurrency=66).batch_size == 66
    monkeypatch.setenv("BENCHQ_WORKER_CONCURRENCY", "128")
    many = Settings()
    # A worker with 128 calls in flight runs one batch of 128, holds the next,
    # and keeps a slot for the chord callbacks.
    assert many.batch_size == 128
    assert pool_slots(many.worker_concurrency, many.batch_size) == 3
    monkeypatch.setenv("BENCHQ_BATCH_SIZE", "20")
    assert Settings().batch_size == 20  # a size the user set is theirs


@pytest.mark.parametrize(("batch", "slots"), [(None, 9), ("64", 4)])
def test_benchq_worker_sizes_its_pool_for_the_smallest_batch_producers_cut(
    clean_env: Path, redis_url: str, batch: str | None, slots: int
) -> None:
    import subprocess

    from benchq.config.settings import Settings
    from tests.pipeline_helpers import cli

    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHQ_")}
    env.update(BENCHQ_BROKER_URL=redis_url, PYTHONPATH=os.pathsep.join(sys.path))
    # Its environment says 128 calls a worker (a default batch of 64 here),
    # but producers elsewhere may cut batches of 20.
    env["BENCHQ_WORKER_CONCURRENCY"] = "128"
    if batch is not None:
        env["BENCHQ_BATCH_SIZE"] = batch
    argv = cli("worker", "--concurrency", "128", "--name", "sized@%h", "--loglevel", "WARNING")
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = make_app(Settings(broker_url=redis_url))  # type: ignore[call-arg]
        stats: dict[str, dict[str, object]] = {}
        deadline = time.monotonic() + 60
        while not stats and time.monotonic() < deadline and proc.poll() is None:
            stats = app.control.inspect(timeout=1.0).stats() or {}
        assert stats, "the worker never answered"
        (only,) = stats.values()
        # 128 calls in flight: seven batches of 20 and two more, or two of 64 and two more.
        assert only["pool"]["max-concurrency"] == slots  # type: ignore[index]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_later_repeats_neither_read_nor_write_the_response_cache(
    clean_env: Path, redis_url: str
) -> None:
    # All repeats of a run run at once: had the later ones written their
    # answers to the cache, the first repeat's reads could have found them
    # and the run would hold fewer model answers than it says.
    import json

    from benchq.jobs import body

    settings = settings_for(clean_env, redis_url)
    suite_dir = clean_env / "suite"
    generate_suite(4, 7, suite_dir)
    plan = plan_run(load_suite(suite_dir), [BASELINE], repeats=3)
    store = SQLiteStore(clean_env / "benchq.db")
    enqueue_run(make_app(settings), plan, store, store_identity="test")
    raw = broker_client(redis_url).lrange(provider_queue("baseline"), 0, -1)
    modes = {}
    for message in raw:
        envelope = json.loads(message)
        assert envelope["properties"]["body_encoding"] is None  # the body as text, no base64
        assert envelope["content-type"] == body.CONTENT_TYPE
        args, _, _ = body.loads(envelope["body"])
        job = CaseBatch.model_validate_json(args[0])  # a job travels as JSON text
        modes[job.repeat] = job.cache_mode
    assert modes == {0: "use", 1: "bypass", 2: "bypass"}


def test_a_bypassing_provider_leaves_the_cache_as_it_was(clean_env: Path) -> None:
    from benchq.config.registry import load_registry
    from benchq.config.settings import Settings
    from benchq.providers.cache import CachingProvider
    from benchq.providers.factory import make_provider
    from tests.memory_cache import MemoryCache

    settings = Settings(openai_api_key="sk-test")  # type: ignore[call-arg]
    spec = load_registry(settings).get("openai")
    cache = MemoryCache()
    used = make_provider(spec, settings, cache=cache, cache_mode="use")
    bypass = make_provider(spec, settings, cache=cache, cache_mode="bypass")
    assert isinstance(used, CachingProvider)
    assert not isinstance(bypass, CachingProvider)  # nothing between it and the model
    used.close()
    bypass.close()


@pytest.mark.parametrize("body_encoding", ["base64", None])
def test_workers_run_jobs_sent_as_celery_json_by_an_earlier_version(
    clean_env: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch, body_encoding: str | None
) -> None:
    # Earlier versions sent jobs with Celery's JSON serializer: first with
    # kombu's base64 bodies, then with plain ones. A fleet upgraded while such
    # jobs wait still runs them: each message names its content type and
    # its encoding.
    import json

    from benchq.jobs import body

    settings = settings_for(clean_env, redis_url, batch_size=2)
    suite_dir = clean_env / "suite"
    generate_suite(5, 11, suite_dir)
    plan = plan_run(load_suite(suite_dir), [BASELINE], batch_size=2)
    store = SQLiteStore(clean_env / "benchq.db")
    earlier = make_app(settings)
    earlier.conf.broker_transport_options = {
        **earlier.conf.broker_transport_options,
        "body_encoding": body_encoding,
    }
    monkeypatch.setattr(body, "SERIALIZER", "json")
    enqueue_run(earlier, plan, store, store_identity=resolve_store_target(settings).identity)
    raw = broker_client(redis_url).lrange(provider_queue("baseline"), 0, -1)
    queued = [json.loads(m) for m in raw]
    assert {m["properties"]["body_encoding"] for m in queued} == {body_encoding}
    assert {m["content-type"] for m in queued} == {"application/json"}
    monkeypatch.undo()  # the workers hand results over in this version's format
    with workers(settings, 1):
        progress = wait_for_run(store, plan.run_id, timeout=120)
    assert progress.done == {"baseline": 5}
    assert store.count_case_results(plan.run_id, "baseline") == 5
    store.close()


@pytest.mark.parametrize(
    ("content_type", "task", "report"),
    [
        # a body the worker cannot decode (another version's, or damaged)
        ("application/x-benchq-json", RUN_CASES, "Can't decode message body"),
        # a content type the worker does not accept: what a worker of an
        # earlier version does with this version's jobs
        ("application/x-unknown", RUN_CASES, "Received invalid task message"),
        # a task this worker does not have
        ("application/json", "benchq.no_such_task", "Received unregistered task"),
    ],
)
def test_a_message_the_worker_cannot_run_is_reported_without_its_bills(
    clean_env: Path, redis_url: str, content_type: str, task: str, report: str
) -> None:
    # Celery's report of such a message quotes the first 1,024 characters of
    # its body; a job's body is its bills.
    import json
    import uuid

    bill = "PATIENT: Jane Roe   DOB: 1961-02-03   MEMBER ID: XQ-7741"
    body = json.dumps([[json.dumps({"cases": [{"id": "c1", "text": bill}]})], {}, {}])
    if content_type == "application/x-benchq-json":
        body = "not a header\n" + body
    settings = settings_for(clean_env, redis_url)
    logs = clean_env / "logs"
    queue = provider_queue("baseline")
    task_id = str(uuid.uuid4())
    with workers(settings, 1, log_dir=logs):
        app = make_app(settings)
        with app.producer_or_acquire() as producer:
            producer.publish(
                body,
                exchange="",
                routing_key=queue,
                content_type=content_type,
                content_encoding="utf-8",
                headers={"lang": "py", "task": task, "id": task_id, "argsrepr": "(run r1)"},
            )
        client = broker_client(redis_url)
        deadline = time.monotonic() + 60
        text = ""
        while report not in text and time.monotonic() < deadline:
            time.sleep(0.2)
            text = "".join(p.read_text(errors="replace") for p in logs.glob("*"))
        assert report in text, text[-3000:]
        # handled, not left for another worker: off the queue and not held
        assert client.llen(queue) == 0
        assert client.hlen("unacked") == 0
    assert "Jane Roe" not in text and "1961" not in text and "XQ-7741" not in text
    assert "body withheld" in text
    assert task_id in text or content_type in text  # the report still names the message
