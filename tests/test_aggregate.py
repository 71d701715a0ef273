"""Aggregation (original micro-averages and benchq's additions) and the metrics files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from benchq.errors import InputFileError
from benchq.scoring.aggregate import aggregate, format_generated_at, micro_prf
from benchq.scoring.files import (
    aggregated_filename,
    load_aggregated,
    write_aggregated,
)
from benchq.scoring.schema import (
    ORIGINAL_AGGREGATE_FIELDS,
    ORIGINAL_CASE_FIELDS,
    AggregatedMetrics,
    CaseResult,
)

WHEN = datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC)


def case(name: str = "doc", **kwargs: Any) -> CaseResult:
    """A successful, valid case result unless told otherwise."""
    fields: dict[str, Any] = {
        "document_name": name,
        "document_type": "medical_bill",
        "extraction_success": True,
        "json_valid": True,
    }
    fields.update(kwargs)
    return CaseResult(**fields)


def failed(name: str = "bad", **kwargs: Any) -> CaseResult:
    return case(name, extraction_success=False, json_valid=False, error_message="boom", **kwargs)


# --- the original's metrics --------------------------------------------------------


def test_micro_average_hand_computed() -> None:
    results = [
        case("a", true_positives=2, false_positives=1, false_negatives=0),
        case("b", true_positives=0, false_positives=0, false_negatives=2),
        case("c", true_positives=1, false_positives=1, false_negatives=1),
    ]
    agg = aggregate("openai", results, generated_at=WHEN)
    # ΣTP=3, ΣFP=2, ΣFN=3: P=3/5, R=3/6, F1=2PR/(P+R)=0.6/1.1. A macro
    # average would give P=(2/3+0+1/2)/3 instead; the original micro-averaged.
    assert agg.issue_precision == pytest.approx(0.6)
    assert agg.issue_recall == pytest.approx(0.5)
    assert agg.issue_f1_score == pytest.approx(6 / 11)


@pytest.mark.parametrize(
    ("tp", "fp", "fn", "expected"),
    [
        (0, 0, 0, (0.0, 0.0, 0.0)),
        (0, 3, 0, (0.0, 0.0, 0.0)),  # recall denominator 0
        (0, 0, 4, (0.0, 0.0, 0.0)),  # precision denominator 0
        (2, 0, 0, (1.0, 1.0, 1.0)),
        (1, 0, 1, (1.0, 0.5, 2 / 3)),
    ],
)
def test_micro_prf_zero_denominators(
    tp: int, fp: int, fn: int, expected: tuple[float, float, float]
) -> None:
    assert micro_prf(tp, fp, fn) == pytest.approx(expected)


def test_rates_are_percentages_and_prf_fractions() -> None:
    results = [
        case("a", true_positives=1),
        case("b", true_positives=1),
        case("c", extraction_success=False, json_valid=True),  # hypothetical mix
        failed("d"),
    ]
    agg = aggregate("m", results, generated_at=WHEN)
    assert agg.total_documents == 4
    assert agg.successful_extractions == 2
    assert agg.extraction_accuracy == 50.0
    assert agg.json_validity_rate == 75.0
    assert agg.issue_precision == 1.0  # 0-1 scale, not 100


def test_latency_averages_over_successful_cases_only() -> None:
    results = [
        case("a", extraction_latency_ms=100.0, pipeline_latency_ms=150.0),
        case("b", extraction_latency_ms=300.0, pipeline_latency_ms=350.0),
        failed("c", extraction_latency_ms=9999.0, pipeline_latency_ms=30000.0),
    ]
    agg = aggregate("m", results, generated_at=WHEN)
    assert agg.avg_extraction_latency_ms == 200.0
    assert agg.avg_pipeline_latency_ms == 250.0


def test_token_averages_over_cases_that_reported_them() -> None:
    results = [
        case("a", input_tokens=100, output_tokens=10, total_tokens=110),
        case("b", input_tokens=300, output_tokens=None, total_tokens=300),
        case("c"),  # reported nothing: not averaged in as zero
        failed("d", input_tokens=200, output_tokens=30, total_tokens=230),  # tokens were spent
    ]
    agg = aggregate("m", results, generated_at=WHEN)
    assert agg.avg_input_tokens == 200.0
    assert agg.avg_output_tokens == 20.0
    assert agg.avg_total_tokens == pytest.approx(640 / 3)
    assert agg.total_input_tokens == 600
    assert agg.total_output_tokens == 40


def test_token_averages_none_when_nobody_reported() -> None:
    agg = aggregate("baseline", [case("a"), case("b")], generated_at=WHEN)
    assert (agg.avg_input_tokens, agg.avg_output_tokens, agg.avg_total_tokens) == (
        None,
        None,
        None,
    )
    assert agg.total_input_tokens == 0 and agg.total_output_tokens == 0


def test_zero_results() -> None:
    agg = aggregate("m", [], generated_at=WHEN)
    assert agg.total_documents == 0
    assert agg.successful_extractions == 0
    for value in (
        agg.extraction_accuracy,
        agg.issue_precision,
        agg.issue_recall,
        agg.issue_f1_score,
        agg.json_validity_rate,
        agg.avg_extraction_latency_ms,
        agg.avg_pipeline_latency_ms,
        agg.count_precision,
        agg.facts_accuracy,
        agg.total_cost_usd,
    ):
        assert value == 0.0
    assert agg.avg_input_tokens is None
    assert agg.error_count == 0
    assert agg.individual_results == []


def test_values_are_not_rounded() -> None:
    results = [case("a", true_positives=1, false_positives=2)]
    agg = aggregate("m", results, generated_at=WHEN)
    assert agg.issue_precision == 1 / 3


# --- generated_at -------------------------------------------------------------------


def test_generated_at_format_in_utc() -> None:
    assert aggregate("m", [], generated_at=WHEN).generated_at == "2024-03-05 14:07:09"
    plus_two = datetime(2024, 3, 5, 16, 7, 9, 999, tzinfo=timezone(timedelta(hours=2)))
    assert format_generated_at(plus_two) == "2024-03-05 14:07:09"
    assert format_generated_at(datetime(2024, 3, 5, 14, 7, 9)) == "2024-03-05 14:07:09"


def test_generated_at_defaults_to_now() -> None:
    text = aggregate("m", []).generated_at
    parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 120


# --- benchq's additions ---------------------------------------------------------------


def test_additions() -> None:
    results = [
        case(
            "a",
            issues_detected=3,
            issues_expected=2,
            count_true_positives=2,
            count_false_positives=1,
            count_false_negatives=0,
            facts_correct=5,
            facts_total=7,
            cost_usd=0.01,
            cached=True,
        ),
        case(
            "b",
            issues_detected=0,
            issues_expected=1,
            count_true_positives=0,
            count_false_positives=0,
            count_false_negatives=1,
            facts_correct=3,
            facts_total=3,
            cost_usd=0.02,
        ),
        failed("c", issues_expected=4, count_false_negatives=3, facts_total=10, cost_usd=0.005),
    ]
    agg = aggregate("m", results, generated_at=WHEN)
    assert agg.error_count == 1
    assert agg.total_issues_detected == 3
    assert agg.total_issues_expected == 7
    assert agg.total_cost_usd == pytest.approx(0.035)
    assert agg.cached_count == 1
    # Counts: TP=2, FP=1, FN=4 -> P=2/3, R=2/6.
    assert agg.count_precision == pytest.approx(2 / 3)
    assert agg.count_recall == pytest.approx(1 / 3)
    assert agg.count_f1_score == pytest.approx(2 * (2 / 3) * (1 / 3) / (2 / 3 + 1 / 3))
    assert agg.facts_accuracy == pytest.approx(8 / 20 * 100)


# --- original() ----------------------------------------------------------------------


def test_original_has_exactly_the_original_fields_in_order() -> None:
    agg = aggregate("openai", [case("a"), failed("b")], generated_at=WHEN)
    data = agg.original()
    assert tuple(data) == ORIGINAL_AGGREGATE_FIELDS
    for item in data["individual_results"]:
        assert tuple(item) == ORIGINAL_CASE_FIELDS
    assert "error_count" not in data


# --- files ------------------------------------------------------------------------------


def sample_agg(model: str = "openai") -> AggregatedMetrics:
    results = [
        case("a", true_positives=2, false_positives=1, issues_detected=3, issues_expected=2),
        case("b", input_tokens=10, output_tokens=5, total_tokens=15, cost_usd=0.25),
        failed("c", issues_expected=1),
    ]
    return aggregate(model, results, generated_at=WHEN)


def test_write_aggregated_writes_both_files_atomically(tmp_path: Path) -> None:
    results_dir = tmp_path / "benchmarks" / "results"  # created on demand
    agg = sample_agg()
    paths = write_aggregated(agg, results_dir)
    assert paths == [
        results_dir / "aggregated_metrics_openai.json",
        results_dir / "aggregated_metrics.json",
    ]
    # No temporary files left behind.
    assert sorted(p.name for p in results_dir.iterdir()) == [
        "aggregated_metrics.json",
        "aggregated_metrics_openai.json",
    ]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert text.startswith('{\n  "model_name": "openai",')  # indent=2, original order
        assert json.loads(text) == agg.original()


def test_write_aggregated_without_latest(tmp_path: Path) -> None:
    paths = write_aggregated(sample_agg("gemini"), tmp_path, latest=False)
    assert [p.name for p in paths] == ["aggregated_metrics_gemini.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["aggregated_metrics_gemini.json"]


def test_write_aggregated_replaces_previous_file(tmp_path: Path) -> None:
    write_aggregated(sample_agg(), tmp_path)
    newer = aggregate("openai", [case("z")], generated_at=WHEN)
    write_aggregated(newer, tmp_path)
    assert load_aggregated(tmp_path / "aggregated_metrics.json").total_documents == 1
    assert len(list(tmp_path.iterdir())) == 2


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    write_aggregated(sample_agg(), tmp_path)
    before = (tmp_path / "aggregated_metrics.json").read_text(encoding="utf-8")
    bad = sample_agg()
    # A directory where the model's file should go makes os.replace fail
    # after the temporary file has been written: it must be cleaned up.
    (tmp_path / "aggregated_metrics_broken.json").mkdir()
    with pytest.raises(OSError):
        write_aggregated(bad.model_copy(update={"model_name": "broken"}), tmp_path)
    assert (tmp_path / "aggregated_metrics.json").read_text(encoding="utf-8") == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_model_name_unsafe_in_a_filename() -> None:
    assert aggregated_filename("openai") == "aggregated_metrics_openai.json"
    assert aggregated_filename("openai/gpt-4o:mini") == "aggregated_metrics_openai_gpt-4o_mini.json"


def test_round_trip_keeps_original_figures_and_derives_additions(tmp_path: Path) -> None:
    agg = sample_agg()
    [path, _] = write_aggregated(agg, tmp_path)
    loaded = load_aggregated(path)
    assert loaded.original() == agg.original()
    # The file holds only the original's fields; the additions are derived.
    assert loaded.error_count == 1
    assert loaded.total_issues_detected == 3
    assert loaded.total_issues_expected == 3
    assert loaded.total_input_tokens == 10
    assert loaded.total_output_tokens == 5


def test_load_original_file_with_its_zero_token_averages(tmp_path: Path) -> None:
    # As the original wrote it: local time, 0.0 token averages, no additions.
    data = {
        "model_name": "baseline",
        "total_documents": 2,
        "successful_extractions": 1,
        "extraction_accuracy": 50.0,
        "issue_precision": 0.5,
        "issue_recall": 1.0,
        "issue_f1_score": 0.6666666666666666,
        "json_validity_rate": 50.0,
        "avg_input_tokens": 0.0,
        "avg_output_tokens": 0.0,
        "avg_total_tokens": 0.0,
        "avg_extraction_latency_ms": 1.5,
        "avg_pipeline_latency_ms": 12.25,
        "generated_at": "2024-01-31 09:00:00",
        "individual_results": [
            {
                "document_name": "bill_a",
                "document_type": "medical_bill",
                "extraction_success": True,
                "extraction_latency_ms": 1.5,
                "pipeline_latency_ms": 12.25,
                "input_tokens": None,
                "output_tokens": None,
                "total_tokens": None,
                "issues_detected": 2,
                "issues_expected": 1,
                "true_positives": 1,
                "false_positives": 1,
                "false_negatives": 0,
                "json_valid": True,
                "error_message": None,
            },
            {
                "document_name": "bill_b",
                "document_type": "dental_bill",
                "extraction_success": False,
                "extraction_latency_ms": 0.0,
                "pipeline_latency_ms": 0.0,
                "input_tokens": None,
                "output_tokens": None,
                "total_tokens": None,
                "issues_detected": 0,
                "issues_expected": 2,
                "true_positives": 0,
                "false_positives": 0,
                "false_negatives": 0,
                "json_valid": False,
                "error_message": "timeout",
            },
        ],
    }
    path = tmp_path / "aggregated_metrics_baseline.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    agg = load_aggregated(path)
    assert agg.original() == data
    assert agg.error_count == 1
    assert agg.total_issues_detected == 2
    assert agg.total_issues_expected == 3


def test_load_keeps_additions_the_file_holds(tmp_path: Path) -> None:
    data = sample_agg().model_dump(mode="json")
    data["error_count"] = 7  # deliberately inconsistent: the file's value wins
    path = tmp_path / "full.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_aggregated(path).error_count == 7


def test_load_without_individual_results_derives_errors_from_counts(tmp_path: Path) -> None:
    data = sample_agg().original()
    data["individual_results"] = []
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_aggregated(path).error_count == 1  # 3 documents, 2 successful


# --- bad input ----------------------------------------------------------------------


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_load_names_the_bad_field(tmp_path: Path) -> None:
    data = sample_agg().original()
    data["individual_results"][2]["true_positives"] = "three"
    path = write_json(tmp_path / "a.json", data)
    with pytest.raises(InputFileError) as info:
        load_aggregated(path)
    assert info.value.path == str(path)
    # Strict types: "three" (or "3") is not a count.
    assert (
        info.value.detail == "individual_results[2].true_positives: Input should be a valid integer"
    )
    assert str(info.value).startswith(f"{path}: individual_results[2].true_positives")


def test_load_names_a_missing_field(tmp_path: Path) -> None:
    data = sample_agg().original()
    del data["issue_recall"]
    with pytest.raises(InputFileError, match=r"issue_recall: Field required"):
        load_aggregated(write_json(tmp_path / "a.json", data))


def test_load_reports_several_errors_briefly(tmp_path: Path) -> None:
    data = {"model_name": 5}
    with pytest.raises(InputFileError) as info:
        load_aggregated(write_json(tmp_path / "a.json", data))
    detail = info.value.detail
    assert detail.startswith("model_name: Input should be a valid string; ")
    assert detail.endswith("more errors")


def test_truncated_json_names_the_line(tmp_path: Path) -> None:
    text = json.dumps(sample_agg().original(), indent=2)
    path = tmp_path / "aggregated_metrics.json"
    lines = text.splitlines()
    path.write_text("\n".join(lines[:20]), encoding="utf-8")  # cut mid-file
    with pytest.raises(InputFileError) as info:
        load_aggregated(path)
    assert info.value.detail.startswith("invalid JSON at line 20, column ")


def test_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{\n  "model_name": "m",\n  "total_documents": 3,,\n}', encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_aggregated(path)
    assert info.value.detail == (
        "invalid JSON at line 3, column 24: Expecting property name enclosed in double quotes"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "invalid JSON at line 1, column 1: Expecting value"),
        ("[1, 2]", "expected a JSON object at the top level, got list"),
        ("null", "expected a JSON object at the top level, got NoneType"),
    ],
)
def test_load_rejects_non_objects(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "a.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_aggregated(path)
    assert info.value.detail == message


def test_load_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="file not found"):
        load_aggregated(tmp_path / "nope.json")
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputFileError, match="not UTF-8"):
        load_aggregated(binary)
    with pytest.raises(InputFileError, match="not a regular file"):
        load_aggregated(tmp_path)  # a directory
