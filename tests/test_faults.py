"""Faults of the parts benchq runs on, with real Redis and real workers.

- a Redis restart (append-only on) in the middle of a run costs time, never
  a case: no error row, one snapshot;
- a worker killed mid-run has its jobs run again within the visibility
  timeout, while a living worker's slow job is never run twice;
- a run whose jobs vanish (Redis restarted without persistence) is noticed
  and reported lost, and `benchq resume` finishes it.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from benchq.cases.generate import generate_suite
from benchq.cases.suite import load_suite
from benchq.jobs.broker import broker_client
from benchq.jobs.celery_app import UNACKED_MUTEX_EXPIRE, make_app
from benchq.jobs.liveness import run_has_jobs
from benchq.jobs.names import PUBLISH_QUEUE, RUN_CASES, SAVE_CASES, provider_queue
from benchq.producers.enqueue import enqueue_run
from benchq.producers.plan import ModelPlan, plan_run
from benchq.producers.wait import RunFailed, wait_for_run
from benchq.store.factory import resolve_store_target
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import cli, enqueue, resume, settings_for, workers
from tests.standin.server import Fault, StandinServer

MEDGEMMA = ModelPlan(
    name="medgemma",
    provider="medgemma",
    model_version="medgemma-google_medgemma-4b-it",
    model_id="google/medgemma-4b-it",
)


class RedisProcess:
    """A redis-server of the test's own on a unix socket, that can be killed and started again."""

    def __init__(self, folder: Path, *, persistent: bool) -> None:
        self.folder = folder
        self.sock = folder / "redis.sock"
        self.persistent = persistent
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis+socket://{self.sock}"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.persistent
            else ["--appendonly", "no"]
        )
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                "0",
                "--unixsocket",
                str(self.sock),
                "--save",
                "",
                *persistence,
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(unix_socket_path=str(self.sock))
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.BusyLoadingError):
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)
        client.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


def _medgemma_env(standin: StandinServer) -> dict[str, str]:
    return {
        "BENCHQ_MEDGEMMA_BASE_URL": standin.openai_base_url,
        # every call reaches the stand-in: a case run twice is counted twice
        "BENCHQ_RESPONSE_CACHE": "false",
    }


def _enqueue(settings: Any, suite: Path, models: list[ModelPlan]) -> str:
    plan = plan_run(load_suite(suite), models, batch_size=settings.batch_size)
    target = resolve_store_target(settings)
    store = SQLiteStore(target.url.removeprefix("sqlite:///"))
    enqueue_run(make_app(settings), plan, store, store_identity=target.identity)
    store.close()
    return plan.run_id


def _until(check: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_redis_restart_mid_run_costs_time_not_cases(
    clean_env: Path, standin: StandinServer
) -> None:
    """Redis killed and restarted (append-only) while model calls are in flight."""
    standin.state.default = Fault(delay=0.2)
    suite = clean_env / "suite"
    generate_suite(120, 12, suite)
    folder = clean_env / "redis"
    folder.mkdir()
    broker = RedisProcess(folder, persistent=True)
    broker.start()
    try:
        settings = settings_for(clean_env, broker.url, batch_size=10, visibility_timeout=10)
        logs = clean_env / "logs"
        with workers(settings, 2, concurrency=4, extra_env=_medgemma_env(standin), log_dir=logs):
            run_id = _enqueue(settings, suite, [MEDGEMMA])
            store = SQLiteStore(clean_env / "benchq.db")
            _until(lambda: store.count_case_results(run_id, "medgemma") >= 20, "first results")
            broker.kill()  # in the middle of calls, limiter scripts and hand-overs
            time.sleep(3)
            broker.start()
            try:
                wait_for_run(store, run_id, timeout=240)
            except RunFailed as exc:  # say where it stuck: progress, broker, workers
                client = broker_client(broker.url)
                keys = sorted(k.decode() for k in client.keys("*"))
                tails = {p.name: p.read_text()[-3000:] for p in sorted(logs.iterdir())}
                pytest.fail(
                    f"{exc}\nprogress: {store.progress(run_id)}\nbroker keys: {keys}\n"
                    + "\n".join(f"--- {name}\n{tail}" for name, tail in tails.items())
                )
    finally:
        broker.stop()
    results = store.case_results(run_id, "medgemma")
    assert len(results) == 120
    assert [r.document_name for r in results if r.error_message] == []
    assert all(r.json_valid for r in results)
    assert (
        len(store.snapshot_history(MEDGEMMA.model_version, store.get_run(run_id).dataset_version))
        == 1
    )
    assert store.get_run(run_id).status == "done"


@pytest.mark.slow
def test_a_slow_job_of_a_living_worker_is_never_delivered_twice(
    clean_env: Path, redis_url: str, standin: StandinServer
) -> None:
    """Each job takes longer than the visibility timeout; its worker renews it."""
    # 2 calls of 3 s at a time, 8 cases a job: a job takes 12 s or more, and
    # the visibility timeout is 10 s. Without renewal every job would be
    # delivered again while still running, and its cases called twice.
    standin.state.default = Fault(delay=3.0)
    suite = clean_env / "suite"
    generate_suite(16, 13, suite)
    settings = settings_for(
        clean_env, redis_url, batch_size=8, visibility_timeout=10, restore_interval=1
    )
    with workers(settings, 1, concurrency=2, extra_env=_medgemma_env(standin)):
        run_id = _enqueue(settings, suite, [MEDGEMMA])
        store = SQLiteStore(clean_env / "benchq.db")
        wait_for_run(store, run_id, timeout=180)
    assert len(store.case_results(run_id, "medgemma")) == 16
    assert standin.count() == 16  # every case called the model once


@pytest.mark.slow
def test_a_dead_workers_jobs_run_again_within_the_timeout(
    clean_env: Path, redis_url: str, standin: StandinServer
) -> None:
    """SIGKILL one of two workers mid-run, at the default visibility timeout: the run completes."""
    standin.state.default = Fault(delay=0.5)
    suite = clean_env / "suite"
    generate_suite(64, 17, suite)
    settings = settings_for(clean_env, redis_url, batch_size=8)  # defaults: 45 s, 5 s scans
    env = _medgemma_env(standin)
    victim = workers(settings, 1, prefix="victim", concurrency=4, extra_env=env)
    survivor = workers(settings, 1, prefix="survivor", concurrency=4, extra_env=env)
    with victim, survivor:
        run_id = _enqueue(settings, suite, [MEDGEMMA])
        store = SQLiteStore(clean_env / "benchq.db")
        _until(
            lambda: any(
                (r.worker or "").startswith("victim")
                for r in store.case_results(run_id, "medgemma")
            ),
            "the victim's first results",
        )
        victim.procs[0].send_signal(signal.SIGKILL)
        victim.procs[0].wait(timeout=10)
        # The jobs it held come back after the 45 s timeout and a 5 s scan:
        # the run ends within 90 s of the kill.
        wait_for_run(store, run_id, timeout=90)
    results = store.case_results(run_id, "medgemma")
    assert len(results) == 64 and not any(r.error_message for r in results)
    assert store.get_run(run_id).status == "done"


def test_a_run_whose_jobs_vanish_is_reported_lost_then_resumed(
    clean_env: Path, standin: StandinServer
) -> None:
    """Redis restarted without persistence: `enqueue --wait` says so; `resume` finishes it."""
    standin.state.default = Fault(delay=0.3)
    suite = clean_env / "suite"
    generate_suite(40, 14, suite)
    folder = clean_env / "redis"
    folder.mkdir()
    broker = RedisProcess(folder, persistent=False)
    broker.start()
    db = clean_env / "benchq.db"
    env = {
        **os.environ,
        **_medgemma_env(standin),
        "BENCHQ_BROKER_URL": broker.url,
        "BENCHQ_STORE_URL": f"sqlite:///{db}",
        "BENCHQ_BATCH_SIZE": "5",
    }
    settings = settings_for(clean_env, broker.url, batch_size=5)
    try:
        with workers(settings, 1, concurrency=2, extra_env=_medgemma_env(standin)) as pool:
            waiter = subprocess.Popen(
                cli("enqueue", "--suite", str(suite), "--models", "medgemma", "--wait",
                    "--timeout", "300"),
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            store = SQLiteStore(db)
            _until(lambda: db.exists() and _count(store) >= 5, "first results")
            broker.kill()
            broker.start()  # empty: every queued job and chord counter is gone
            out, err = waiter.communicate(timeout=180)
            assert waiter.returncode == 1, out + err
            assert "was lost" in err
            (run_id,) = [r.run_id for r in _runs(store)]
            run = store.get_run(run_id)
            assert run.status == "failed" and "was lost" in (run.error or "")
            pool.stop()
        stored_before = _count(store)
        assert stored_before < 40
        calls_before = standin.count()
        with workers(settings, 1, concurrency=2, extra_env=_medgemma_env(standin)):
            resumed = subprocess.run(
                cli("resume", run_id), env=env, capture_output=True, text=True, timeout=300
            )
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert f"{40 - stored_before} missing cases" in resumed.stdout
    finally:
        broker.stop()
    assert store.get_run(run_id).status == "done"
    results = store.case_results(run_id, "medgemma")
    assert len(results) == 40 and not any(r.error_message for r in results)
    # only cases without a result were run again (a case in flight at the
    # crash, whose result never reached the store, is one of them)
    assert 0 < standin.count() - calls_before <= 40 - stored_before
    assert (clean_env / "benchmarks/results/aggregated_metrics_medgemma.json").exists()


def _any_by(store: SQLiteStore, run_id: str, worker: str) -> bool:
    return any((r.worker or "").startswith(worker) for r in store.case_results(run_id, "medgemma"))


def _count(store: SQLiteStore) -> int:
    return sum(store.count_case_results(r.run_id, "medgemma") for r in _runs(store))


def _runs(store: SQLiteStore) -> list[Any]:
    # the test reads the table itself: the command chose the run id
    with sqlite3.connect(store.path) as conn:
        ids = [row[0] for row in conn.execute("SELECT run_id FROM benchmark_runs")]
    return [store.get_run(run_id) for run_id in ids]


def test_an_interrupted_run_is_resumed(clean_env: Path, standin: StandinServer) -> None:
    """Ctrl-C in the middle of `benchq run`, then `benchq resume` on the embedded default."""
    standin.state.default = Fault(delay=0.2)
    suite = clean_env / "suite"
    generate_suite(40, 15, suite)
    env = {**os.environ, **_medgemma_env(standin), "BENCHQ_BATCH_SIZE": "5"}
    db = clean_env / "benchq.db"
    proc = subprocess.Popen(
        cli("run", "--suite", str(suite), "--models", "medgemma", "--workers", "1"),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _until(lambda: db.exists() and _count(SQLiteStore(db)) >= 5, "first results")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    store = SQLiteStore(db)
    (run,) = _runs(store)
    assert run.status == "failed" and "interrupted" in (run.error or "")
    resumed = subprocess.run(
        cli("resume", run.run_id, "--workers", "1"), env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert store.get_run(run.run_id).status == "done"
    assert len(store.case_results(run.run_id, "medgemma")) == 40
    # a done run has nothing to resume: a clear refusal, exit 2
    again = subprocess.run(cli("resume", run.run_id), env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "nothing to resume" in again.stderr


def test_resume_refuses_a_changed_suite(clean_env: Path) -> None:
    suite = clean_env / "suite"
    generate_suite(6, 16, suite)
    env = {**os.environ}
    db = clean_env / "benchq.db"
    proc = subprocess.run(cli("run", "--suite", str(suite), "--workers", "1"), env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    store = SQLiteStore(db)
    (run,) = _runs(store)
    store.set_run_status(run.run_id, "failed", error="pretend it failed")
    (next(iter((suite / "inputs").glob("*.txt")))).write_text("EDITED BILL\nTotal $1.00\n")
    refused = subprocess.run(cli("resume", run.run_id), env=env, capture_output=True, text=True)
    assert refused.returncode == 2
    assert "not the suite run" in refused.stderr


_HOLD_RESTORE_LOCK = """
import sys, time
from kombu.transport.redis import Mutex
from benchq.config.settings import Settings
from benchq.jobs.celery_app import UNACKED_MUTEX_EXPIRE, make_app

app = make_app(Settings(broker_url=sys.argv[1]))
with app.connection_for_write() as conn:
    channel = conn.default_channel
    # What a worker's restore sweep does, with the worker's own transport options.
    with Mutex(channel.client, channel.unacked_mutex_key, channel.unacked_mutex_expire):
        print(channel.unacked_mutex_key, flush=True)
        time.sleep(600)
"""


def test_a_worker_killed_inside_a_restore_sweep_does_not_stop_redelivery(redis_url: str) -> None:
    """SIGKILL a process holding the broker's restore lock, as a worker inside a sweep holds it.

    Every worker's redelivery of expired jobs waits on that lock; kombu's own
    default keeps a dead holder's lock for 5 minutes, which stalled a run
    whose worker was killed at that moment far past its 90 s.
    """
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_RESTORE_LOCK, redis_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        key = holder.stdout.readline().strip()
        assert key, "the holder did not take the lock"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    client = broker_client(redis_url)
    assert client.exists(key), "the dead holder's lock should outlive it (until it expires)"
    ttl = client.ttl(key)
    assert 0 < ttl <= UNACKED_MUTEX_EXPIRE <= 15
    # ... and then goes, so the next sweep of a living worker takes it.
    _until(lambda: not client.exists(key), "the dead holder's lock to expire", timeout=30)


def test_results_lost_in_transit_fail_the_run_at_once_and_resume_brings_them(
    clean_env: Path, redis_url: str
) -> None:
    """A hand-over message gone from the broker (as a worker SIGKILLed while taking it
    leaves it): the run fails within seconds saying so, and resume runs exactly those cases."""
    suite = clean_env / "suite"
    generate_suite(60, 23, suite)
    settings = settings_for(clean_env, redis_url, batch_size=10)
    model_workers = workers(settings, 1, prefix="models", queues=[provider_queue("baseline")])
    broker = broker_client(redis_url)
    with model_workers:
        plan = enqueue(settings, suite)
        # Every job runs and hands its results over; nobody saves them yet.
        _until(lambda: broker.llen(PUBLISH_QUEUE) >= 6, "six hand-overs")
    hand_overs = [m for m in broker.lrange(PUBLISH_QUEUE, 0, -1) if b'"benchq.save_cases"' in m]
    assert len(hand_overs) == 6
    # What the aggregate step asks the broker: hand-overs of the run wait, no job does.
    assert run_has_jobs(broker, plan.run_id, ["baseline"], tasks=(SAVE_CASES,))
    assert not run_has_jobs(broker, plan.run_id, ["baseline"], tasks=(RUN_CASES,))
    assert broker.lrem(PUBLISH_QUEUE, 1, hand_overs[0]) == 1
    store = SQLiteStore(clean_env / "benchq.db")
    with workers(settings, 1, prefix="writer"):
        with pytest.raises(RunFailed, match="never arrived"):
            wait_for_run(store, plan.run_id, timeout=120)
        run = store.get_run(plan.run_id)
        assert run.status == "failed"
        assert "10 of 60 case results never arrived" in (run.error or "")
        assert store.count_case_results(plan.run_id, "baseline") == 50
        assert store.run_summaries(plan.run_id) == []  # nothing published from 50 cases

        resume(settings, suite, plan.run_id)
        progress = wait_for_run(store, plan.run_id, timeout=120)
    assert progress.failed_models == []
    assert store.get_run(plan.run_id).status == "done"
    rows = store.case_results(plan.run_id, "baseline")
    assert len(rows) == 60 and len({r.document_name for r in rows}) == 60
    (summary,) = store.run_summaries(plan.run_id)
    assert summary.status == "published" and summary.aggregated["total_documents"] == 60
