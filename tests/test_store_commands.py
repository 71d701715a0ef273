"""The original scripts' jobs (convert, push, snapshots, history, checkout, compare,
baseline) as functions; bad push files are refused with the field named, and
nothing is written, on every backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchq.errors import ConfigError, InputFileError
from benchq.scoring.files import write_aggregated
from benchq.scoring.schema import AggregatedMetrics, CaseResult
from benchq.store import commands

try:
    from pg_fixtures import StoreSpec, pg_cluster, store_spec
except ImportError:  # tests/ became a package
    from tests.pg_fixtures import StoreSpec, pg_cluster, store_spec  # noqa: F401

SNAPSHOT_TABLES = ("benchmark_transactions", "benchmark_snapshots")


def _aggregated(tmp_path: Path, f1: float = 0.75) -> Path:
    results = [
        CaseResult(
            document_name=f"bill-{i}",
            document_type="medical_bill",
            extraction_success=i != 2,
            pipeline_latency_ms=1000.0,
            issues_detected=1,
            issues_expected=2,
            true_positives=1,
            false_negatives=1,
            json_valid=True,
            cost_usd=0.01,
        )
        for i in range(4)
    ]
    agg = AggregatedMetrics(
        model_name="openai",
        total_documents=4,
        successful_extractions=3,
        extraction_accuracy=75.0,
        issue_precision=1.0,
        issue_recall=0.6,
        issue_f1_score=f1,
        json_validity_rate=100.0,
        avg_input_tokens=None,
        avg_output_tokens=None,
        avg_total_tokens=None,
        avg_extraction_latency_ms=900.0,
        avg_pipeline_latency_ms=1000.0,
        generated_at="2026-11-27 01:00:00",
        individual_results=results,
    )
    (path,) = write_aggregated(agg, tmp_path / f"agg-{f1}", latest=False)
    return path


def _monitoring(tmp_path: Path, f1: float = 0.75) -> Path:
    out = tmp_path / f"openai-{f1}.json"
    commands.convert(_aggregated(tmp_path, f1), out)
    return out


def test_convert_writes_the_monitoring_record(tmp_path: Path) -> None:
    out = tmp_path / "out" / "openai_benchmark_results.json"
    record = commands.convert(_aggregated(tmp_path), out)
    data = json.loads(out.read_text())
    assert data["model_version"] == "openai-v1.0" == record.model_version
    assert data["metrics"]["f1"] == 0.75
    assert data["error_count"] == 1 and data["success_count"] == 3
    assert data["metrics"]["total_issues_expected"] == 8


def test_push_with_verify_then_the_other_jobs(store_spec: StoreSpec, tmp_path: Path) -> None:
    store = store_spec.open()
    meta = commands.push_metadata(environment="local", commit_sha="c0ffee", tags=["nightly"])
    first = commands.push(store, _monitoring(tmp_path, 0.75), meta, verify=True)
    assert first.verified and first.snapshot.snapshot_version == 1
    commands.push(store, _monitoring(tmp_path, 0.60), meta)
    config = commands.snapshot_config("openai-v1.0")
    listed = commands.snapshots(store, model_version="openai-v1.0")
    assert [s.snapshot_version for s in listed] == [2, 1]
    assert [s.snapshot_version for s in commands.history(store, config)] == [2, 1]
    assert commands.baseline(store, config, 1).is_baseline
    assert commands.regression(store, config).status == "regression"
    assert commands.checkout(store, config, 1).is_current
    rows = {r.metric: r for r in commands.compare(store, config, 1, 2)}
    assert rows["f1"].pct_change == pytest.approx(-20.0)
    with pytest.raises(ConfigError, match=r"no snapshot version 3 .*versions that exist: 1-2"):
        commands.checkout(store, config, 3)
    assert commands.history(store, commands.snapshot_config("nobody")) == []


def _mutations() -> list[tuple[str, Any, str]]:
    """(field path, new value or deletion, text the error must contain)."""
    drop = object()
    return [
        ("metrics", drop, "metrics"),
        ("model_version", drop, "model_version"),
        ("metrics.precision", 1.7, "metrics.precision"),
        ("metrics.recall", "high", "metrics.recall"),
        ("dataset_size", -3, "dataset_size"),
        ("timestamp", "yesterday", "timestamp"),
        ("model_version", "  ", "model_version"),
    ]


@pytest.mark.parametrize(("field", "value", "named"), _mutations())
def test_a_bad_push_file_is_refused_and_nothing_is_written(
    store_spec: StoreSpec, tmp_path: Path, field: str, value: Any, named: str
) -> None:
    store = store_spec.open()
    meta = commands.push_metadata(environment="staging", commit_sha="abc")
    commands.push(store, _monitoring(tmp_path), meta)  # something already stored
    before = {t: store_spec.count(t) for t in SNAPSHOT_TABLES}
    data = json.loads(_monitoring(tmp_path).read_text())
    *parents, leaf = field.split(".")
    target = data
    for key in parents:
        target = target[key]
    if isinstance(value, str | int | float):
        target[leaf] = value
    else:
        del target[leaf]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(InputFileError) as caught:
        commands.push(store, bad, meta)
    assert named in str(caught.value) and str(bad) in str(caught.value)
    assert caught.value.exit_code == 2
    assert {t: store_spec.count(t) for t in SNAPSHOT_TABLES} == before


def test_broken_json_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"model_version": "x",\n  oops}')
    with pytest.raises(InputFileError, match="line 2"):
        commands.load_push_file(broken)
    with pytest.raises(InputFileError, match="not found"):
        commands.load_push_file(tmp_path / "absent.json")


def test_bad_flags_are_config_errors_naming_the_flag() -> None:
    with pytest.raises(ConfigError, match="environment"):
        commands.push_metadata(environment="prod", commit_sha="abc")
    with pytest.raises(ConfigError, match="commit_sha"):
        commands.push_metadata(environment="local")
    with pytest.raises(ConfigError, match="commit_sha"):
        commands.push_metadata(environment="local", commit_sha="")
    with pytest.raises(ConfigError, match="environment"):
        commands.snapshot_config("openai-v1.0", environment="moon")
