"""Every run finishes its own story: the chain of tasks after a model's jobs, with real workers.

aggregate -> publish -> verdict run as separate Celery tasks on the publish
queue; the run's files can be written from the store by anyone, its
notification reaches the webhooks once, and the store a run writes to is
the one its producer resolved.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from benchq.cases.generate import generate_suite
from benchq.cases.identity import default_dataset_version
from benchq.cases.suite import load_suite
from benchq.config.settings import Settings
from benchq.jobs.celery_app import make_app
from benchq.jobs.names import VERDICT
from benchq.producers.wait import wait_for_run
from benchq.store.factory import open_target, resolve_store_target
from benchq.store.migrate import upgrade
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import cli, enqueue, settings_for, workers

try:
    from pg_fixtures import JWT_SECRET, PgCluster, pg_cluster
    from postgrest_standin import PostgrestStandin, make_key
except ImportError:  # tests/ became a package
    from tests.pg_fixtures import JWT_SECRET, PgCluster, pg_cluster  # noqa: F401
    from tests.postgrest_standin import PostgrestStandin, make_key


class Receiver:
    """A webhook endpoint on loopback that keeps every JSON body it is sent."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                receiver.calls += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.calls <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A durable cluster of this test's own, since the test stops and restarts it."""
    cluster = PgCluster(durable=True)
    yield cluster
    cluster.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args), capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


def _until(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_the_embedded_default_writes_where_the_producer_resolved(
    clean_env: Path, pg_cluster: PgCluster
) -> None:
    """Only Supabase configured: every row of the run lands in Supabase, no benchq.db appears."""
    db = pg_cluster.new_database()
    standin = PostgrestStandin(db, JWT_SECRET)
    base = standin.start()
    try:
        env = {
            "SUPABASE_URL": base,
            "SUPABASE_SERVICE_ROLE_KEY": make_key("service_role", JWT_SECRET),
        }
        proc = _run("run", "--workers", "1", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        standin.stop()
    assert not (clean_env / "benchq.db").exists()
    with psycopg.connect(db) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()[0]  # type: ignore[index]
            for table in (
                "benchmark_runs",
                "benchmark_case_results",
                "benchmark_run_models",
                "benchmark_snapshots",
                "benchmark_case_documents",
            )
        }
        (status,) = conn.execute("SELECT status FROM benchmark_runs").fetchone()  # type: ignore[misc]
    assert counts == {
        "benchmark_runs": 1,
        "benchmark_case_results": 56,
        "benchmark_run_models": 1,
        "benchmark_snapshots": 1,
        "benchmark_case_documents": 56,
    }
    assert status == "done"


def test_a_run_nobody_waits_for_still_gets_files_verdict_and_one_notification(
    clean_env: Path, redis_url: str, receiver: Receiver
) -> None:
    suite = clean_env / "suite"
    generate_suite(30, 5, suite)
    settings = settings_for(clean_env, redis_url, batch_size=5)
    with workers(settings, 2, extra_env={"BENCHQ_NOTIFY_URLS": receiver.url}):
        plan = enqueue(settings, suite)  # and nobody waits: the producer is gone
        store = SQLiteStore(clean_env / "benchq.db")
        _until(lambda: store.get_run(plan.run_id).status == "done", "the run to finish")
        _until(lambda: receiver.bodies, "the notification")
        # a verdict step delivered again (it ran twice) sends nothing more
        make_app(settings).signature(
            VERDICT,
            args=(_model_job(store, plan.run_id, settings),),
            queue="benchq.publish",
        ).apply_async().get(timeout=60)
    assert len(receiver.bodies) == 1
    (body,) = receiver.bodies
    assert body["run_id"] == plan.run_id and body["status"] == "done"
    assert body["text"].startswith(f"benchq run {plan.run_id}")
    (model,) = body["models"]
    assert model["status"] == "published" and model["verdict"] == "no_baseline"
    assert model["snapshot_version"] == 1 and 0.0 <= model["f1"] <= 1.0
    assert "secret-token" not in json.dumps(body)  # the webhook URL is a credential
    summaries = store.run_summaries(plan.run_id)
    assert [s.verdict["status"] for s in summaries if s.verdict] == ["no_baseline"]

    # Anyone, later, on any machine that reaches the store: the original files.
    out = clean_env / "later"
    proc = _run("results", plan.run_id, "--out", str(out),
                env={"BENCHQ_STORE_URL": f"sqlite:///{clean_env / 'benchq.db'}"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "aggregated_metrics.json",
        "aggregated_metrics_baseline.json",
        "baseline_benchmark_results.json",
    ]
    agg = json.loads((out / "aggregated_metrics_baseline.json").read_text())
    assert agg["total_documents"] == 30 and len(agg["individual_results"]) == 30
    record = json.loads((out / "baseline_benchmark_results.json").read_text())
    assert record["model_version"] == "baseline-rules-v2"
    assert record["metrics"]["f1"] == pytest.approx(agg["issue_f1_score"])


def _model_job(store: SQLiteStore, run_id: str, settings: Settings) -> dict[str, Any]:
    """The finalize message of the run's one model, as the producer sent it."""
    run = store.get_run(run_id)
    info = run.model_info["baseline"]
    return {
        "run_id": run_id,
        "model_name": "baseline",
        "model_version": info.model_version,
        "model_provider": info.provider,
        "model_id": info.model_id,
        "dataset_version": run.dataset_version,
        "expected_cases": run.cases_per_model,
        "enqueued_at": run.created_at,
        "store": resolve_store_target(settings).identity,
    }


def test_a_webhook_that_fails_for_a_while_still_gets_one_message(
    clean_env: Path, redis_url: str
) -> None:
    flaky = Receiver(fail_first=2)  # two 503s, then it takes the message
    try:
        suite = clean_env / "suite"
        generate_suite(6, 9, suite)
        settings = settings_for(clean_env, redis_url)
        with workers(settings, 1, extra_env={"BENCHQ_NOTIFY_URLS": flaky.url}):
            plan = enqueue(settings, suite)
            store = SQLiteStore(clean_env / "benchq.db")
            _until(lambda: flaky.bodies, "the notification")
            wait_for_run(store, plan.run_id, timeout=60)
        assert flaky.calls == 3 and len(flaky.bodies) == 1
    finally:
        flaky.close()


def test_results_of_an_unknown_run_is_exit_2(clean_env: Path) -> None:
    proc = _run("results", "no-such-run")
    assert proc.returncode == 2
    assert "no run 'no-such-run'" in proc.stderr


@contextlib.contextmanager
def _publish_gate(url: str, model_version: str, dataset_version: str) -> Iterator[Any]:
    """Hold the configuration's advisory lock: its publish step waits inside Postgres.

    `benchmark_publish` takes this lock first (`benchmark_lock_config`), so
    while the test holds it the publish step of that configuration is
    exactly in flight: aggregated, not yet published.
    """
    conn = psycopg.connect(url)
    conn.execute(
        "SELECT pg_advisory_lock(hashtextextended("
        "concat_ws(E'\\x1f', %s::text, %s::text, 'v1', 'local'), 20261127))",
        (model_version, dataset_version),
    )
    try:
        yield conn
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.close()


def _dataset_of(suite: Path) -> str:
    return default_dataset_version(load_suite(suite))


def _log_count(log_dir: Path, pattern: str) -> int:
    return sum(len(re.findall(pattern, p.read_text())) for p in log_dir.glob("*.log"))


@pytest.mark.slow
def test_a_store_outage_during_publish_retries_publish_alone(
    clean_env: Path, redis_url: str, own_cluster: PgCluster, receiver: Receiver
) -> None:
    """Postgres goes away while a publish is in flight: publish alone retries, once it is back."""
    own_cluster.admin("CREATE DATABASE benchq")
    url = own_cluster.url("benchq")
    upgrade(url)
    suite = clean_env / "suite"
    generate_suite(20, 6, suite)
    settings = Settings(broker_url=redis_url, store_url=url, batch_size=5)  # type: ignore[call-arg]
    store = open_target(resolve_store_target(settings))
    logs = clean_env / "logs"
    pool = workers(settings, 1, extra_env={"BENCHQ_NOTIFY_URLS": receiver.url}, log_dir=logs)
    with pool, _publish_gate(url, "baseline-rules-v2", _dataset_of(suite)):
        plan = enqueue(settings, suite)
        _until(lambda: _summary_status(store, plan.run_id) == "aggregated", "the aggregate")
        own_cluster.pause()  # the waiting publish loses its connection
        time.sleep(2)
        own_cluster.resume()
        wait_for_run(store, plan.run_id, timeout=180)
        _until(lambda: receiver.bodies, "the notification")
    assert _log_count(logs, r"benchq\.aggregate\[[0-9a-f-]+\] succeeded") == 1
    assert _log_count(logs, r"benchq\.publish\[[0-9a-f-]+\] retry") >= 1
    assert _log_count(logs, r"benchq\.publish\[[0-9a-f-]+\] succeeded") == 1
    with psycopg.connect(url) as conn:
        (snapshots,) = conn.execute("SELECT count(*) FROM benchmark_snapshots").fetchone()  # type: ignore[misc]
        (transactions,) = conn.execute("SELECT count(*) FROM benchmark_transactions").fetchone()  # type: ignore[misc]
    assert (snapshots, transactions) == (1, 1)
    assert len(receiver.bodies) == 1
    assert _files_complete(clean_env, plan.run_id, {"BENCHQ_STORE_URL": url}, cases=20)


def _summary_status(store: Any, run_id: str) -> str | None:
    found = [s.status for s in store.run_summaries(run_id)]
    return found[0] if found else None


def _files_complete(clean_env: Path, run_id: str, env: dict[str, str], *, cases: int) -> bool:
    out = clean_env / f"files-{run_id}"
    proc = _run("results", run_id, "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    agg = json.loads((out / "aggregated_metrics_baseline.json").read_text())
    record = json.loads((out / "baseline_benchmark_results.json").read_text())
    return len(agg["individual_results"]) == cases and record["dataset_size"] == cases


def test_killing_the_publishing_worker_loses_and_repeats_nothing(
    clean_env: Path, redis_url: str, pg_cluster: PgCluster, receiver: Receiver
) -> None:
    """SIGKILL the worker in mid-publish: another publishes; one snapshot, one message."""
    url = pg_cluster.new_database()
    suite = clean_env / "suite"
    generate_suite(20, 8, suite)
    settings = Settings(  # type: ignore[call-arg]
        broker_url=redis_url, store_url=url, batch_size=5, visibility_timeout=10, restore_interval=1
    )
    store = open_target(resolve_store_target(settings))
    notify = {"BENCHQ_NOTIFY_URLS": receiver.url}
    gate = _publish_gate(url, "baseline-rules-v2", _dataset_of(suite))
    logs = clean_env / "logs"
    victim_pool = workers(settings, 1, prefix="victim", extra_env=notify, log_dir=logs)
    with gate, victim_pool as victim:
        plan = enqueue(settings, suite)
        _until(lambda: _summary_status(store, plan.run_id) == "aggregated", "the aggregate")
        time.sleep(0.5)  # the publish step is now waiting on the gate
        victim.procs[0].send_signal(signal.SIGKILL)
        victim.procs[0].wait(timeout=10)
    with workers(settings, 1, prefix="rescuer", extra_env=notify):
        wait_for_run(store, plan.run_id, timeout=180)
        _until(lambda: receiver.bodies, "the notification")
    # the victim had taken the publish step and died in it
    assert _log_count(logs, r"benchq\.publish\[[0-9a-f-]+\] received") == 1
    assert _log_count(logs, r"benchq\.publish\[[0-9a-f-]+\] succeeded") == 0
    history = store.snapshot_history("baseline-rules-v2", plan.dataset_version)
    assert [s.snapshot_version for s in history] == [1]
    assert len(receiver.bodies) == 1
    assert _files_complete(clean_env, plan.run_id, {"BENCHQ_STORE_URL": url}, cases=20)
