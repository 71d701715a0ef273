"""`benchq push` and `convert` take every record the original wrote, and refuse hostile ones.

Refused: over-long or control-character texts, values of the wrong type
(`precision: true`), non-finite or out-of-range numbers (1e20 counts, 1e30
anything), deep nesting, oversized or special files; each with one line that
names the field, exit 2, and nothing written. Accepted: the original's
sample record and its converter's output, missing values stored as unknown.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from benchq.errors import ConfigError, InputFileError
from benchq.scoring.files import write_aggregated
from benchq.scoring.schema import AggregatedMetrics
from benchq.store import commands
from benchq.store.sqlite import SQLiteStore

try:
    from original_files import original_sample_record
    from pg_fixtures import StoreSpec, pg_cluster, store_spec
except ImportError:  # tests/ became a package
    from tests.original_files import original_sample_record
    from tests.pg_fixtures import StoreSpec, pg_cluster, store_spec  # noqa: F401

DROP = object()
GOOD: dict[str, Any] = {
    "model_version": "openai-v1.0",
    "model_provider": "openai",
    "dataset_version": "benchmark-set-v1",
    "dataset_size": 48,
    "prompt_version": "v1",
    "metrics": {
        "precision": 0.75,
        "recall": 0.6,
        "f1": 0.667,
        "latency_ms": 1500,
        "analysis_cost": 0,
        "total_documents": 48,
        "total_issues_detected": 40,
        "total_issues_expected": 50,
    },
    "duration_seconds": 1.5,
    "error_count": 0,
    "success_count": 48,
    "timestamp": "2026-02-03T10:00:00.123456Z",
}

#: (field path, new value or DROP, what the one-line error must contain)
HOSTILE: list[tuple[str, Any, str]] = [
    ("metrics", DROP, "metrics: Field required"),
    ("model_version", DROP, "model_version: Field required"),
    ("dataset_version", DROP, "dataset_version: Field required"),
    ("prompt_version", DROP, "prompt_version: Field required"),
    ("metrics", {}, "metrics: must hold at least one metric"),
    ("metrics", [0.5], "metrics"),
    ("model_version", "x" * 200, "model_version: must be at most 128 characters"),
    ("dataset_version", "   ", "dataset_version: must not be empty"),
    ("prompt_version", "v1\u0000", "prompt_version: must not contain control character U+0000"),
    ("model_version", "a\nb", "model_version: must not contain control character U+000A"),
    ("model_provider", 7, "model_provider"),
    ("metrics.precision", True, "metrics.precision: must be a number, not a boolean"),
    ("metrics.recall", "0.5", "metrics.recall: must be a number, not text"),
    ("metrics.f1", 1.2, "metrics.f1: must be between 0 and 1, got 1.2"),
    ("metrics.f1", -0.1, "metrics.f1"),
    ("metrics.f1", float("nan"), "metrics.f1: must be a finite number"),
    ("metrics.latency_ms", float("inf"), "metrics.latency_ms"),
    ("metrics.latency_ms", 1e30, "metrics.latency_ms"),
    ("metrics.total_documents", 10**20, "metrics.total_documents: must be between"),
    ("metrics.total_documents", 2 * 10**9, "metrics.total_documents: must be between 0 and 1e+09"),
    ("metrics.total_documents", 1e30, "metrics.total_documents"),
    ("metrics.total_issues_expected", 2.5, "must be a whole number"),
    ("metrics.total_issues_detected", -1, "metrics.total_issues_detected"),
    ("dataset_size", 1e20, "dataset_size"),
    ("error_count", True, "error_count: must be a whole number, not a boolean"),
    ("success_count", "48", "success_count"),
    ("duration_seconds", -3, "duration_seconds"),
    ("timestamp", "yesterday", "timestamp: not an ISO 8601 time"),
    ("metrics.accuracy", {"deep": [1]}, "metrics.accuracy: must be a number, a boolean, null"),
    ("metrics.accuracy", 1e300, "metrics.accuracy"),
    ("metrics.note", "n" * 300, "metrics.note: must be at most 256 characters"),
]


def _mutated(field: str, value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(GOOD))
    *parents, leaf = field.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is DROP:
        del target[leaf]
    else:
        target[leaf] = value
    return data


def _write(path: Path, data: Any) -> Path:
    # json.dumps writes NaN and Infinity as Python's json module reads them.
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("field", "value", "named"), HOSTILE, ids=[h[2][:40] for h in HOSTILE])
def test_a_hostile_record_is_refused_naming_the_field(
    tmp_path: Path, field: str, value: Any, named: str
) -> None:
    path = _write(tmp_path / "bad.json", _mutated(field, value))
    store = SQLiteStore(tmp_path / "benchq.db")
    meta = commands.push_metadata(environment="local", commit_sha="abc")
    with pytest.raises(InputFileError) as caught:
        commands.push(store, path, meta)
    message = str(caught.value)
    assert named in message and str(path) in message
    assert "\n" not in message and len(message) < 400
    assert store.list_snapshots() == []


def test_the_good_record_is_accepted(tmp_path: Path) -> None:
    # The control for every case above: the record they each spoil is fine.
    store = SQLiteStore(tmp_path / "benchq.db")
    meta = commands.push_metadata(environment="local", commit_sha="abc")
    snap = commands.push(store, _write(tmp_path / "good.json", GOOD), meta, verify=True).snapshot
    assert snap.snapshot_version == 1 and snap.metrics == GOOD["metrics"]


def test_hostile_files(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"metrics": ' + "[" * 100_000 + "]" * 100_000 + "}")
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({**GOOD, "extra": json.loads("[" * 40 + "]" * 40)}))
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**GOOD, "model_version": "x" * (2 << 20)}))
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"model_version": "\xff\xfe"}')
    huge_int = tmp_path / "huge_int.json"
    huge_int.write_text('{"dataset_size": ' + "9" * 5000 + "}")
    cases = {
        deep: "nested too deeply",
        nested: "extra[0][0]",
        big: "bytes is more than the 1048576 an input may have",
        fifo: "not a regular file",
        tmp_path: "not a regular file",
        binary: "not UTF-8",
        huge_int: "invalid JSON",
    }
    for path, named in cases.items():
        with pytest.raises(InputFileError) as caught:
            commands.load_push_file(path)
        assert named in str(caught.value), (path.name, str(caught.value))
    assert "nested deeper than 32 levels" in _error(nested)


def _error(path: Path) -> str:
    try:
        commands.load_push_file(path)
    except InputFileError as exc:
        return str(exc)
    raise AssertionError(f"{path} was accepted")


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        ({"commit_sha": "a" * 65}, "commit_sha: must be at most 64 characters"),
        ({"commit_sha": "abc\x00"}, "commit_sha: must not contain control character"),
        ({"branch_name": "main\nx"}, "branch_name"),
        ({"run_id": "r" * 129}, "run_id"),
        ({"triggered_by": "\x1b[31mred"}, "triggered_by"),
        ({"tags": [f"t{i}" for i in range(33)]}, "tags: List should have at most 32 items"),
        ({"tags": ["ok", "x" * 65]}, "tags.1: must be at most 64 characters"),
        ({"notes": "n" * 4001}, "notes: must be at most 4000 characters"),
    ],
)
def test_hostile_push_flags_are_refused_naming_the_flag(flags: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match="invalid push metadata") as caught:
        commands.push_metadata(**{"environment": "local", "commit_sha": "abc", **flags})
    assert named in str(caught.value)


def test_notes_may_span_lines() -> None:
    meta = commands.push_metadata(environment="local", commit_sha="abc", notes="a\n\tb")
    assert meta.notes == "a\n\tb"


def test_the_originals_sample_record_loads_on_every_backend(
    store_spec: StoreSpec, tmp_path: Path
) -> None:
    sample = original_sample_record()
    store = store_spec.open()
    meta = commands.push_metadata(environment="github-actions", commit_sha="abc123")
    result = commands.push(store, sample, meta, verify=True, duration_seconds=45.2)
    snap = result.snapshot
    given = json.loads(sample.read_text())
    assert result.verified and snap.metrics == given["metrics"]  # extra metrics kept as given
    assert (snap.model_version, snap.dataset_version, snap.prompt_version) == (
        "medgemma-v1.2",
        "benchmark-set-v3",
        "analysis-v4",
    )
    assert snap.f1_score == pytest.approx(0.895) and snap.cost_per_analysis == pytest.approx(0.0042)
    latest = store.latest_benchmarks()[0]
    assert (latest.model_provider, latest.dataset_size) == ("google", 150)
    # What the record does not say is unknown, never zero.
    assert "total_documents" not in snap.metrics
    assert store_spec.count("benchmark_transactions") == 1
    row = _transaction(store_spec)
    assert (row["error_count"], row["success_count"], row["recorded_at"]) == (None, None, None)
    assert row["duration_seconds"] == pytest.approx(45.2)  # the original's --duration
    store.close()


def _transaction(spec: StoreSpec) -> dict[str, Any]:
    query = "SELECT error_count, success_count, recorded_at, duration_seconds FROM " \
            "benchmark_transactions"  # fmt: skip
    if spec.kind == "sqlite":
        with closing(sqlite3.connect(spec.target)) as conn:
            conn.row_factory = sqlite3.Row
            return dict(conn.execute(query).fetchone())
    import psycopg
    from psycopg.rows import dict_row

    assert spec.db_url is not None
    with psycopg.connect(spec.db_url, row_factory=dict_row) as conn:
        found = conn.execute(query.encode()).fetchone()
        assert found is not None
        return found


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "SUPABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "benchq.cli", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
    )  # fmt: skip


def test_the_commands_refuse_with_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.json", _mutated("metrics.precision", True))
    proc = _cli(tmp_path, "push", "--input", str(bad), "--environment", "local",
                "--commit-sha", "abc")  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "metrics.precision" in proc.stderr
    flag = _cli(tmp_path, "push", "--input", str(_write(tmp_path / "ok.json", GOOD)),
                "--environment", "local", "--commit-sha", "x" * 100)  # fmt: skip
    assert flag.returncode == 2 and "commit_sha" in flag.stderr
    duration = _cli(tmp_path, "push", "--input", str(tmp_path / "ok.json"), "--environment",
                    "local", "--commit-sha", "abc", "--duration", "nan")  # fmt: skip
    assert duration.returncode == 2 and "duration" in duration.stderr
    agg = json.loads(_aggregated(tmp_path).read_text())
    agg["issue_precision"] = True
    conv = _cli(tmp_path, "convert", "--input", str(_write(tmp_path / "agg.json", agg)),
                "--output", "out.json")  # fmt: skip
    assert conv.returncode == 2 and "issue_precision" in conv.stderr
    assert conv.stderr.count("\n") == 1
    assert not (tmp_path / "out.json").exists()
    # Nothing was written by any of them: not even an empty store.
    assert not (tmp_path / "benchq.db").exists()


def _aggregated(tmp_path: Path) -> Path:
    agg = AggregatedMetrics(
        model_name="openai", total_documents=2, successful_extractions=2,
        extraction_accuracy=100.0, issue_precision=1.0, issue_recall=0.5, issue_f1_score=0.667,
        json_validity_rate=100.0, avg_input_tokens=None, avg_output_tokens=None,
        avg_total_tokens=None, avg_extraction_latency_ms=10.0, avg_pipeline_latency_ms=12.0,
        generated_at="2026-02-03 10:00:00", individual_results=[],
    )  # fmt: skip
    (path,) = write_aggregated(agg, tmp_path / "results", latest=False)
    return path


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("issue_f1_score", 1.5, "issue_f1_score: must be between 0 and 1"),
        ("total_documents", 10**20, "total_documents"),
        ("total_documents", 1e30, "total_documents"),
        ("avg_pipeline_latency_ms", float("nan"), "avg_pipeline_latency_ms"),
        ("model_name", "m" * 500, "model_name: must be at most 128 characters"),
        ("successful_extractions", "2", "successful_extractions"),
    ],
)
def test_convert_refuses_a_hostile_aggregate(
    tmp_path: Path, field: str, value: Any, named: str
) -> None:
    data = json.loads(_aggregated(tmp_path).read_text())
    data[field] = value
    out = tmp_path / "out.json"
    with pytest.raises(InputFileError) as caught:
        commands.convert(_write(tmp_path / "agg.json", data), out)
    assert named in str(caught.value)
    assert not out.exists()
