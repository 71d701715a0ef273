"""The job functions themselves, called directly (as Celery's testing guide advises)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from benchq.cases.schema import Case, GroundTruth
from benchq.errors import ProviderRetryable
from benchq.providers.base import DetectedIssue, ModelAnswer, Provider
from benchq.store.schema import RunRecord
from benchq.store.sqlite import SQLiteStore
from benchq.workers.pipeline import ModelMeta, execute_case, finalize_model

TRUTH = GroundTruth.model_validate(
    {
        "document_type": "medical_bill",
        "expected_issues": [
            {"type": "duplicate_charge", "description": "x", "should_detect": True}
        ],
        "expected_facts": {
            "patient_name": "Ann Lee",
            "date_of_service": "2024-01-02",
            "facility_name": "Clinic",
            "medical_line_items": [],
        },
        "expected_savings": 10,
    }
)


class Fixed(Provider):
    kind = "test"

    def analyze(self, document: str) -> ModelAnswer:
        return ModelAnswer(issues=[DetectedIssue(type="Duplicate Charge")], raw_output="{}")


class Failing(Provider):
    kind = "test"

    def analyze(self, document: str) -> ModelAnswer:
        raise ProviderRetryable("HTTP 500 after 3 attempts")


class Crashing(Provider):
    kind = "test"

    def analyze(self, document: str) -> ModelAnswer:
        raise ZeroDivisionError("bug")


def _store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "s.db")
    store.create_run(
        RunRecord(run_id="r", suite="s", models=["m"], cases_per_model=3, created_at="2026-01-01")
    )
    return store


def test_failed_model_calls_are_stored_as_error_results_and_counted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    cases = [Case(id=f"c{i}", text="bill", truth=TRUTH) for i in range(3)]
    execute_case(run_id="r", model_name="m", case=cases[0], provider=Fixed(), store=store)
    execute_case(run_id="r", model_name="m", case=cases[1], provider=Failing(), store=store)
    execute_case(run_id="r", model_name="m", case=cases[2], provider=Crashing(), store=store)

    stored = {r.document_name: r for r in store.case_results("r", "m")}
    assert stored["c0"].extraction_success and stored["c0"].true_positives == 1
    assert not stored["c1"].extraction_success
    assert "HTTP 500" in (stored["c1"].error_message or "")
    assert "ZeroDivisionError" in (stored["c2"].error_message or "")

    meta = ModelMeta(
        run_id="r",
        model_name="m",
        model_version="m-v1.0",
        model_provider="test",
        dataset_version="d",
        expected_cases=3,
        enqueued_at=datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
        # two failures in three are tolerated here, to see them counted when published
        max_error_rate=1.0,
    )
    out = finalize_model(meta=meta, store=store, now=datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    assert out.aggregated.total_documents == 3
    assert out.aggregated.error_count == 2
    assert out.monitoring.error_count == 2
    assert out.monitoring.success_count == 1
    assert out.monitoring.duration_seconds == 60.0
    assert store.get_run("r").status == "done"


def test_storing_a_case_twice_keeps_one_row(tmp_path: Path) -> None:
    store = _store(tmp_path)
    case = Case(id="c0", text="bill", truth=TRUTH)
    execute_case(run_id="r", model_name="m", case=case, provider=Failing(), store=store)
    execute_case(run_id="r", model_name="m", case=case, provider=Fixed(), store=store)
    assert store.count_case_results("r", "m") == 1
    assert store.case_results("r", "m")[0].extraction_success
