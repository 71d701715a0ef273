"""What a run says it did: failures never pass as scores, exit codes say what happened.

Every test drives the real `benchq` command (embedded Redis, real worker
processes, a SQLite store) and then reads the store it left behind.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from benchq.jobs.messages import ModelJob
from benchq.scoring.schema import CaseResult
from benchq.store.sqlite import SQLiteStore
from benchq.workers.pipeline import failure_of
from tests.pipeline_helpers import cli


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        cli(*args), capture_output=True, text=True, timeout=240, env={**os.environ, **(env or {})}
    )


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


# --- the error threshold, as a pure rule -----------------------------------------


def _results(errors: int, total: int) -> list[CaseResult]:
    return [
        CaseResult(
            document_name=f"c{i}",
            document_type="medical_bill",
            extraction_success=i >= errors,
            error_message=f"ProviderRetryable: HTTP 500 on c{i}" if i < errors else None,
        )
        for i in range(total)
    ]


def _meta(**extra: object) -> ModelJob:
    fields: dict[str, object] = {
        "run_id": "r",
        "model_name": "m",
        "model_version": "m-x",
        "model_provider": "openai",
        "dataset_version": "d",
        "expected_cases": 5,
        "enqueued_at": "2026-01-01T00:00:00+00:00",
    }
    return ModelJob.model_validate({**fields, **extra})


def test_error_rate_at_the_threshold_publishes_and_above_it_fails() -> None:
    assert failure_of(_results(1, 5), _meta()) is None  # 20 % is not more than 20 %
    reason = failure_of(_results(2, 5), _meta())
    assert reason is not None
    assert "2 of 5 cases failed (40% > 20%)" in reason
    assert "first error, case c0: ProviderRetryable: HTTP 500 on c0" in reason
    assert failure_of(_results(5, 5), _meta(max_error_rate=1.0)) is None


def test_answers_from_another_model_id_are_not_published_under_this_one() -> None:
    results = _results(0, 3)
    for r in results:
        r.model_id = "gpt-4o"
    reason = failure_of(results, _meta(model_id="gpt-4o-mini"))
    assert reason is not None and "answered with gpt-4o" in reason
    assert failure_of(results, _meta(model_id="gpt-4o")) is None


# --- the command ---------------------------------------------------------------------


def test_a_model_without_an_endpoint_is_refused_before_anything_is_written(
    clean_env: Path,
) -> None:
    proc = _run("run", "--models", "medgemma", "--workers", "1")
    assert proc.returncode == 2, proc.stderr
    assert "BENCHQ_MEDGEMMA_BASE_URL" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (clean_env / "benchq.db").exists()


def test_an_endpoint_that_refuses_fails_the_run_fast_and_publishes_nothing(
    clean_env: Path,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    proc = _run("run", "--models", "baseline,medgemma", "--workers", "1",
                env={"BENCHQ_MEDGEMMA_BASE_URL": url})  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED medgemma" in proc.stdout
    assert "connection refused" in proc.stdout
    db = clean_env / "benchq.db"
    store = SQLiteStore(db)
    (run_id,) = [r[0] for r in _rows(db, "SELECT run_id FROM benchmark_runs")]
    run = store.get_run(run_id)
    assert run.status == "failed"
    assert run.error is not None and "medgemma: 56 of 56 cases failed" in run.error
    assert "connection refused" in run.error
    # the baseline of the same run is published; medgemma has no snapshot at all
    snapshots = _rows(db, "SELECT model_version FROM benchmark_snapshots")
    assert snapshots == [("baseline-rules-v2",)]
    summaries = {s.model_name: s for s in store.run_summaries(run_id)}
    assert summaries["medgemma"].status == "failed"
    assert summaries["medgemma"].snapshot_version is None
    # every case failed with the real reason, after at most the quick retry
    cases = store.case_results(run_id, "medgemma")
    assert len(cases) == 56
    assert all("connection refused" in (c.error_message or "") for c in cases)
    assert max(c.attempts for c in cases) <= 2
    # no result file pretends medgemma scored 0
    results = clean_env / "benchmarks/results"
    assert (results / "aggregated_metrics_baseline.json").exists()
    assert not (results / "aggregated_metrics_medgemma.json").exists()
    assert json.loads((results / "aggregated_metrics.json").read_text())["model_name"] == (
        "baseline"
    )


def _suite_with_truth(root: Path, expected_type: str) -> Path:
    """The generated 12-case suite with every expected issue replaced by `expected_type`."""
    generate_suite(12, 3, root)
    for path in (root / "expected_outputs").glob("*.json"):
        truth = json.loads(path.read_text())
        truth["expected_issues"] = [
            {"type": expected_type, "description": "x", "should_detect": True}
        ]
        path.write_text(json.dumps(truth))
    return root


def test_run_exits_3_on_a_regression_and_the_dataset_label_keeps_one_history(
    clean_env: Path,
) -> None:
    good = clean_env / "good"
    generate_suite(12, 3, good)
    bad = _suite_with_truth(clean_env / "bad", "no_such_issue_type")
    first = _run("run", "--suite", str(good), "--workers", "1", "--dataset-version", "bills")
    assert first.returncode == 0, first.stderr
    base = _run("snapshots", "baseline", "--model-version", "baseline-rules-v2", "1")
    assert base.returncode == 0, base.stderr
    # the same label on different bills continues the history, as the user asked
    second = _run("run", "--suite", str(bad), "--workers", "1", "--dataset-version", "bills")
    assert second.returncode == 3, second.stdout + second.stderr
    assert "REGRESSED" in second.stdout
    assert "regression" in second.stderr


def test_the_default_dataset_label_follows_the_suite_contents(clean_env: Path) -> None:
    suite = clean_env / "bills"
    generate_suite(6, 1, suite)
    assert _run("run", "--suite", str(suite), "--workers", "1").returncode == 0
    # edit one ground-truth value: a new history, not a comparison with the old bills
    truth_path = sorted((suite / "expected_outputs").glob("*.json"))[0]
    truth = json.loads(truth_path.read_text())
    truth["expected_savings"] = float(truth.get("expected_savings") or 0) + 1.0
    truth_path.write_text(json.dumps(truth))
    assert _run("run", "--suite", str(suite), "--workers", "1").returncode == 0
    labels = _rows(
        clean_env / "benchq.db",
        "SELECT dataset_version, snapshot_version FROM benchmark_snapshots ORDER BY id",
    )
    assert len(labels) == 2
    (a, va), (b, vb) = labels
    assert a != b and a.startswith("bills-") and b.startswith("bills-")
    assert va == vb == 1
    # with two datasets, naming none is an error that lists both
    proc = _run("snapshots", "history", "--model-version", "baseline-rules-v2")
    assert proc.returncode == 2
    assert a in proc.stderr and b in proc.stderr


def test_every_result_records_the_model_id_and_prompt(clean_env: Path) -> None:
    assert _run("run", "--workers", "1").returncode == 0
    db = clean_env / "benchq.db"
    store = SQLiteStore(db)
    (run_id,) = [r[0] for r in _rows(db, "SELECT run_id FROM benchmark_runs")]
    run = store.get_run(run_id)
    assert run.model_info["baseline"].model_id == "rules-v2"
    assert run.dataset_digest is not None and len(run.dataset_digest) == 64
    assert run.dataset_version == f"sample-{run.dataset_digest[:12]}"
    cases = store.case_results(run_id, "baseline")
    assert {c.model_id for c in cases} == {"rules-v2"}
    (snap,) = store.latest_benchmarks()
    assert snap.model_id == "rules-v2"
    assert snap.model_version == "baseline-rules-v2"


def test_run_help_names_the_dataset_overrides() -> None:
    out = _run("run", "--help").stdout
    assert "--dataset-version" in out and "BENCHQ_DATASET_VERSION" in out


def test_an_unreachable_broker_is_one_line_and_leaves_nothing(clean_env: Path) -> None:
    broker = f"redis://:hunter2@127.0.0.1:{_closed_port()}/0"
    proc = _run("enqueue", "--models", "baseline", env={"BENCHQ_BROKER_URL": broker})
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "cannot reach the broker at redis://:***@127.0.0.1" in lines[0]
    assert "hunter2" not in proc.stderr + proc.stdout
    # the store answered, but nothing was recorded in it
    assert _rows(clean_env / "benchq.db", "SELECT count(*) FROM benchmark_runs") == [(0,)]


def test_an_unreachable_store_is_one_line(clean_env: Path) -> None:
    store = f"postgresql://bench:pw@127.0.0.1:{_closed_port()}/bench"
    proc = _run("run", "--workers", "1", env={"BENCHQ_STORE_URL": store})
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "cannot reach Postgres store" in lines[0]
    assert "Traceback" not in proc.stderr


def test_a_worker_on_a_queue_no_model_uses_is_refused(clean_env: Path) -> None:
    proc = _run(
        "worker", "--queues", "benchq.provider.nope",
        env={"BENCHQ_BROKER_URL": "redis://127.0.0.1:1/0"},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "benchq.provider.nope" in proc.stderr and "known queues" in proc.stderr


def test_a_missing_snapshot_version_is_exit_2(clean_env: Path) -> None:
    assert _run("run", "--workers", "1").returncode == 0
    proc = _run("snapshots", "checkout", "--model-version", "nope-x", "1")
    assert proc.returncode == 2
    assert "baseline-rules-v2" in proc.stderr  # what exists is named


def test_an_odd_run_id_is_refused_and_writes_nothing(clean_env: Path) -> None:
    for run_id in ("../../x", "-rf", "a" * 129, "x/y"):
        proc = _run("run", "--run-id", run_id, "--workers", "1")
        assert proc.returncode == 2, (run_id, proc.stderr)
        assert "not a valid run id" in proc.stderr
    assert not (clean_env / "benchq.db").exists()
    assert not (clean_env.parent / "x").exists()


def test_a_store_writer_refuses_a_job_of_another_store() -> None:
    from benchq.jobs.target import StoreMismatch, check_store
    from benchq.store.factory import StoreTarget

    mine = StoreTarget(kind="postgres", url="postgresql://u:secret@db-a:5432/bench")
    check_store(mine.identity, mine)  # the same store, whatever credentials it is named with
    check_store("", mine)  # an old message that names none
    other = StoreTarget(kind="postgres", url="postgresql://u:secret@db-b:5432/bench")
    with pytest.raises(StoreMismatch) as info:
        check_store(other.identity, mine)
    assert "db-a" in str(info.value) and "db-b" in str(info.value)
    assert "secret" not in str(info.value)
