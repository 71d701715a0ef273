"""The monitoring converter (original defaults, real totals) and its file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from benchq.errors import InputFileError
from benchq.scoring.aggregate import aggregate
from benchq.scoring.files import load_monitoring, write_monitoring
from benchq.scoring.monitoring import format_timestamp, to_monitoring
from benchq.scoring.schema import AggregatedMetrics, CaseResult, MonitoringRecord

WHEN = datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC)


def case(name: str, ok: bool = True, **kwargs: Any) -> CaseResult:
    return CaseResult(
        document_name=name,
        document_type="medical_bill",
        extraction_success=ok,
        json_valid=ok,
        error_message=None if ok else "boom",
        **kwargs,
    )


def sample_agg() -> AggregatedMetrics:
    results = [
        case(
            "a",
            true_positives=2,
            false_positives=1,
            issues_detected=3,
            issues_expected=2,
            extraction_latency_ms=100.0,
            pipeline_latency_ms=1000.0,
            cost_usd=0.03,
        ),
        case(
            "b",
            false_negatives=1,
            issues_expected=1,
            extraction_latency_ms=300.0,
            pipeline_latency_ms=2000.0,
            cost_usd=0.01,
        ),
        case("c", ok=False, issues_expected=2, pipeline_latency_ms=500.0, cost_usd=0.02),
    ]
    return aggregate("openai", results, generated_at=WHEN)


def test_defaults_follow_the_original() -> None:
    record = to_monitoring(sample_agg(), model="openai", timestamp=WHEN)
    assert record.model_version == "openai-v1.0"
    assert record.model_provider == "openai"
    assert record.dataset_version == "benchmark-set-v1"
    assert record.prompt_version == "v1"
    assert record.dataset_size == 3
    assert record.timestamp == "2024-03-05T14:07:09Z"


def test_metrics_come_from_the_aggregate() -> None:
    agg = sample_agg()
    m = to_monitoring(agg, model="openai", timestamp=WHEN).metrics
    assert (m.precision, m.recall, m.f1) == (
        agg.issue_precision,
        agg.issue_recall,
        agg.issue_f1_score,
    )
    assert m.precision == pytest.approx(2 / 3)
    # The original published the average pipeline latency (successful cases only).
    assert m.latency_ms == 1500.0
    assert m.total_documents == 3


def test_real_values_where_the_original_wrote_zero() -> None:
    record = to_monitoring(sample_agg(), model="openai", timestamp=WHEN)
    assert record.metrics.analysis_cost == pytest.approx(0.06 / 3)
    assert record.metrics.total_issues_detected == 3
    assert record.metrics.total_issues_expected == 5
    assert record.error_count == 1
    assert record.success_count == 2


def test_duration_and_provider_as_the_original_computed_them() -> None:
    record = to_monitoring(sample_agg(), model="gemini", timestamp=WHEN)
    # The original: average pipeline latency of the successful cases, in seconds.
    assert record.duration_seconds == pytest.approx(1.5)
    # Beside it: every case's pipeline latency, failures included (they took time too).
    assert record.total_latency_seconds == pytest.approx(3.5)
    # The original wrote the model name as the provider.
    assert record.model_provider == "gemini"


def test_explicit_values_win() -> None:
    record = to_monitoring(
        sample_agg(),
        model="openai",
        model_version="gpt-4o-2024-08-06",
        model_provider="azure",
        dataset_version="suite-v7",
        prompt_version="v3",
        duration_seconds=42.0,
        timestamp=WHEN,
    )
    assert record.model_version == "gpt-4o-2024-08-06"
    assert record.model_provider == "azure"
    assert record.dataset_version == "suite-v7"
    assert record.prompt_version == "v3"
    assert record.duration_seconds == 42.0


def test_empty_aggregate() -> None:
    agg = aggregate("gemini", [], generated_at=WHEN)
    record = to_monitoring(agg, model="gemini", timestamp=WHEN)
    assert record.metrics.analysis_cost == 0.0
    assert record.duration_seconds == 0.0 and record.total_latency_seconds == 0.0
    assert (record.error_count, record.success_count, record.dataset_size) == (0, 0, 0)


def test_timestamp_is_utc_iso_8601() -> None:
    plus_two = datetime(2024, 3, 5, 16, 7, 9, 250000, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(plus_two) == "2024-03-05T14:07:09.250000Z"
    assert format_timestamp(datetime(2024, 3, 5, 14, 7, 9)) == "2024-03-05T14:07:09Z"
    now = format_timestamp()
    assert now.endswith("Z")
    parsed = datetime.fromisoformat(now.removesuffix("Z")).replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 120


def test_record_has_the_original_shape(tmp_path: Path) -> None:
    record = to_monitoring(sample_agg(), model="openai", timestamp=WHEN)
    write_monitoring(record, tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    assert list(data) == [
        "model_version",
        "model_provider",
        "dataset_version",
        "dataset_size",
        "prompt_version",
        "metrics",
        "duration_seconds",
        "error_count",
        "success_count",
        "timestamp",
        "total_latency_seconds",
    ]
    assert list(data["metrics"]) == [
        "precision",
        "recall",
        "f1",
        "latency_ms",
        "analysis_cost",
        "total_documents",
        "total_issues_detected",
        "total_issues_expected",
    ]
    # benchq's provenance follows the original's fields, and only when known
    known = record.model_copy(update={"model_id": "gpt-4o-mini", "prompt_digest": "ab12"})
    write_monitoring(known, tmp_path / "k.json")
    assert list(json.loads((tmp_path / "k.json").read_text()))[-2:] == [
        "model_id",
        "prompt_digest",
    ]


# --- files -------------------------------------------------------------------------


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    record = to_monitoring(sample_agg(), model="openai", timestamp=WHEN)
    path = tmp_path / "out" / "openai_benchmark_results.json"  # directory created
    write_monitoring(record, path)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "model_version": "openai-v1.0",')
    assert load_monitoring(path) == record


def test_write_monitoring_replaces(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    first = to_monitoring(sample_agg(), model="openai", timestamp=WHEN)
    write_monitoring(first, path)
    second = first.model_copy(update={"error_count": 0})
    write_monitoring(second, path)
    assert load_monitoring(path).error_count == 0


def test_load_original_converter_output_with_extra_keys(tmp_path: Path) -> None:
    data = to_monitoring(sample_agg(), model="openai", timestamp=WHEN).model_dump()
    data["domain_breakdown"] = {}  # later versions of the converter added keys
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert isinstance(load_monitoring(path), MonitoringRecord)


def test_load_monitoring_names_the_bad_field(tmp_path: Path) -> None:
    data = to_monitoring(sample_agg(), model="openai", timestamp=WHEN).model_dump()
    data["metrics"]["precision"] = "high"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_monitoring(path)
    assert info.value.detail == "metrics.precision: must be a number, not text"


def test_load_monitoring_missing_field(tmp_path: Path) -> None:
    data = to_monitoring(sample_agg(), model="openai", timestamp=WHEN).model_dump()
    del data["metrics"]["total_documents"]  # optional, as for the original: unknown
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_monitoring(path).metrics.total_documents is None
    del data["metrics"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputFileError, match=r"metrics: Field required"):
        load_monitoring(path)


def test_load_monitoring_truncated_names_the_line(tmp_path: Path) -> None:
    record = to_monitoring(sample_agg(), model="openai", timestamp=WHEN)
    text = json.dumps(record.model_dump(), indent=2)
    path = tmp_path / "m.json"
    path.write_text("\n".join(text.splitlines()[:8]), encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_monitoring(path)
    assert info.value.detail.startswith("invalid JSON at line 8, column ")
