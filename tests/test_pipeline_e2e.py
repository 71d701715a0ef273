"""The whole pipeline through real Redis and real Celery worker processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from benchq.jobs.broker import broker_client
from benchq.jobs.liveness import run_has_jobs
from benchq.producers.wait import RunFailed, wait_for_run
from benchq.scoring.schema import ORIGINAL_AGGREGATE_FIELDS, ORIGINAL_CASE_FIELDS
from benchq.store.sqlite import SQLiteStore
from tests.conftest import processes_mentioning
from tests.pipeline_helpers import cli, enqueue, resume, settings_for, workers


def _rows(db: Path, run_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT model_name, case_id FROM benchmark_case_results WHERE run_id=?", (run_id,)
        ).fetchall()


def test_run_on_embedded_default_writes_original_files_and_stops_everything(
    clean_env: Path,
) -> None:
    suite = clean_env / "suite"
    generate_suite(30, 7, suite)
    tmp = clean_env / "tmp"
    tmp.mkdir()
    proc = subprocess.run(
        cli("run", "--suite", str(suite), "--models", "baseline", "--workers", "2"),
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "baseline" in proc.stdout and "precision" in proc.stdout
    assert "Traceback" not in proc.stderr and "Exception" not in proc.stderr

    results = clean_env / "benchmarks" / "results"
    per_model = json.loads((results / "aggregated_metrics_baseline.json").read_text())
    latest = json.loads((results / "aggregated_metrics.json").read_text())
    assert per_model == latest
    # the original's fields first, in its order; benchq's intervals beside them
    assert tuple(per_model)[: len(ORIGINAL_AGGREGATE_FIELDS)] == ORIGINAL_AGGREGATE_FIELDS
    assert tuple(per_model)[len(ORIGINAL_AGGREGATE_FIELDS) :] == (
        "issue_precision_ci",
        "issue_recall_ci",
        "issue_f1_ci",
    )
    assert per_model["total_documents"] == 30
    assert len(per_model["individual_results"]) == 30
    assert all(tuple(r) == ORIGINAL_CASE_FIELDS for r in per_model["individual_results"])

    store = SQLiteStore(clean_env / "benchq.db")
    with sqlite3.connect(clean_env / "benchq.db") as conn:
        (run_id,) = conn.execute("SELECT run_id FROM benchmark_runs").fetchone()
    assert store.get_run(run_id).status == "done"
    assert len(_rows(clean_env / "benchq.db", run_id)) == 30
    # Nothing the run started is left: no worker, no redis-server.
    assert processes_mentioning(str(clean_env)) == []
    # The workers' logs, begun in a temporary folder while the suite loaded, are kept.
    logs = sorted(p.name for p in (results / "logs" / run_id).iterdir())
    # start.log: the process that imported for them and forked them (benchq.local.zygote).
    assert logs == ["local1.log", "local2.log", "start.log"]
    assert list(tmp.iterdir()) == []


def test_a_suite_refused_while_the_workers_start_leaves_nothing(clean_env: Path) -> None:
    # The workers are started before the suite is loaded (they import while
    # it is read); a suite that does not load must still stop them and leave
    # no store, no results, no logs, no temporary folder.
    suite = clean_env / "suite"
    generate_suite(400, 1, suite)
    bad = sorted((suite / "expected_outputs").glob("*.json"))[-1]
    bad.write_text("{not json")
    tmp = clean_env / "tmp"
    tmp.mkdir()
    proc = subprocess.run(
        cli("run", "--suite", str(suite), "--workers", "2"),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert proc.returncode == 2, proc.stderr
    assert bad.name in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in clean_env.iterdir()) == ["suite", "tmp"]
    assert list(tmp.iterdir()) == []
    assert processes_mentioning(str(clean_env)) == []


def test_malformed_ground_truth_stops_before_anything_is_enqueued(clean_env: Path) -> None:
    suite = clean_env / "suite"
    generate_suite(5, 1, suite)
    bad = sorted((suite / "expected_outputs").glob("*.json"))[2]
    data = json.loads(bad.read_text())
    data["expected_facts"]["medical_line_items"][0]["billed_amount"] = "a lot"
    bad.write_text(json.dumps(data))

    proc = subprocess.run(
        cli("run", "--suite", str(suite)), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert bad.name in proc.stderr
    assert "medical_line_items[0].billed_amount" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (clean_env / "benchq.db").exists()
    assert not (clean_env / "benchmarks").exists()


def test_ctrl_c_stops_the_run_and_every_process_it_started(clean_env: Path) -> None:
    suite = clean_env / "suite"
    generate_suite(3000, 3, suite)
    proc = subprocess.Popen(
        cli("run", "--suite", str(suite), "--workers", "2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = clean_env / "benchq.db"
    deadline = time.monotonic() + 120
    started = False
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    n = conn.execute("SELECT COUNT(*) FROM benchmark_case_results").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
            if n > 0:
                started = True
                break
        time.sleep(0.05)
    assert started, "the run never stored a result"
    assert processes_mentioning(str(clean_env)), "expected the run's children to be running"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert processes_mentioning(str(clean_env)) == []
    with sqlite3.connect(db) as conn:
        (status,) = conn.execute("SELECT status FROM benchmark_runs").fetchone()
    assert status == "failed"


def test_sigkill_of_a_worker_mid_run_loses_and_duplicates_nothing(
    clean_env: Path, redis_url: str
) -> None:
    suite = clean_env / "suite"
    generate_suite(2000, 11, suite)
    settings = settings_for(clean_env, redis_url, visibility_timeout=10, restore_interval=1)
    victim = workers(settings, 1, prefix="victim")
    survivor = workers(settings, 1, prefix="survivor")
    victim.start()
    survivor.start()
    try:
        plan = enqueue(settings, suite)
        store = SQLiteStore(clean_env / "benchq.db")
        deadline = time.monotonic() + 120
        # Kill the victim once it has done part of the run (which worker takes the
        # first jobs depends on which one starts first), while jobs remain.
        while not any(
            (r.worker or "").startswith("victim")
            for r in store.case_results(plan.run_id, "baseline")
        ):
            assert time.monotonic() < deadline, "the victim took no job"
            time.sleep(0.01)
        victim.procs[0].send_signal(signal.SIGKILL)
        victim.procs[0].wait(timeout=10)
        done_at_kill = store.count_case_results(plan.run_id, "baseline")
        assert done_at_kill < 2000, "the run ended before the kill; make it longer"

        client = broker_client(redis_url)
        try:
            wait_for_run(
                store,
                plan.run_id,
                timeout=240,
                has_jobs=lambda: run_has_jobs(client, plan.run_id, ["baseline"]),
            )
        except RunFailed as exc:
            # Redis hands a message over (BRPOP) before the worker records it as
            # held: one the victim was taking as it died is gone. The run says so
            # within seconds, and resume brings exactly what is missing.
            assert "never arrived" in str(exc) or "was lost" in str(exc), str(exc)
            resume(settings, suite, plan.run_id)
            wait_for_run(store, plan.run_id, timeout=240)
        rows = _rows(clean_env / "benchq.db", plan.run_id)
        assert len(rows) == 2000
        assert len(set(rows)) == 2000
        results = store.case_results(plan.run_id, "baseline")
        by_worker = {r.worker.split("@")[0] for r in results if r.worker}
        assert by_worker == {"victim1", "survivor1"}
        summary = store.run_summaries(plan.run_id)
        assert [s.model_name for s in summary] == ["baseline"]
        assert summary[0].aggregated["total_documents"] == 2000
    finally:
        victim.stop()
        survivor.stop()


def test_reenqueueing_a_run_id_does_not_duplicate_results(clean_env: Path, redis_url: str) -> None:
    suite = clean_env / "suite"
    generate_suite(40, 5, suite)
    settings = settings_for(clean_env, redis_url)
    pool = workers(settings, 2)
    pool.start()
    try:
        plan = enqueue(settings, suite, run_id="fixed-run")
        store = SQLiteStore(clean_env / "benchq.db")
        wait_for_run(store, plan.run_id, timeout=120)
        first = store.run_summaries("fixed-run")[0]
        enqueue(settings, suite, run_id="fixed-run")
        # The second delivery of every job finds its cases handed over already,
        # and every step of the chain finds its work done: wait until the
        # queues have drained, then nothing may have changed.
        broker = broker_client(redis_url)
        deadline = time.monotonic() + 120
        while any(
            broker.llen(q) for q in ("benchq.publish", "benchq.provider.baseline")
        ) or broker.hlen("unacked"):
            assert time.monotonic() < deadline, "the second delivery never drained"
            time.sleep(0.1)
        time.sleep(1.0)  # the last step acknowledged: let it finish writing, if it would
        assert len(_rows(clean_env / "benchq.db", "fixed-run")) == 40
        assert store.run_summaries("fixed-run") == [first]
        assert len(store.snapshot_history("baseline-rules-v2", plan.dataset_version)) == 1
    finally:
        pool.stop()


@pytest.mark.parametrize("flag", ["--workers=0", "--models=", "--models=baseline,baseline"])
def test_bad_flags_exit_2_with_a_message(clean_env: Path, flag: str) -> None:
    proc = subprocess.run(cli("run", flag), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    assert not (clean_env / "benchq.db").exists()


def test_enqueue_without_broker_is_refused(clean_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHQ_")}
    proc = subprocess.run(cli("enqueue"), capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert "BENCHQ_BROKER_URL" in proc.stderr
