"""The job functions themselves, called directly (as Celery's testing guide advises)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from benchq.cases.schema import Case, GroundTruth
from benchq.errors import ProviderRetryable
from benchq.jobs.messages import ModelJob
from benchq.providers import aio
from benchq.providers.base import DetectedIssue, ModelAnswer, Provider
from benchq.scoring.schema import CaseResult
from benchq.store.schema import RunRecord, RunStatus
from benchq.store.sqlite import SQLiteStore
from benchq.workers.pipeline import (
    aggregate_model,
    finish_run,
    publish_model,
    score_batch,
    verdict_model,
)

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


def _score(case: Case, provider: Provider) -> CaseResult:
    async def go() -> list[CaseResult]:
        out = await score_batch(
            run_id="r", model_name="m", cases=[case], provider=provider, slots=asyncio.Semaphore(1)
        )
        return out.results

    (result,) = aio.run_sync(go())
    return result


def _job(**extra: object) -> ModelJob:
    fields: dict[str, object] = {
        "run_id": "r",
        "model_name": "m",
        "model_version": "m-v1.0",
        "model_provider": "test",
        "dataset_version": "d",
        "expected_cases": 3,
        "enqueued_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
    }
    return ModelJob.model_validate({**fields, **extra})


def test_failed_model_calls_are_stored_as_error_results_and_counted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    cases = [Case(id=f"c{i}", text="bill", truth=TRUTH) for i in range(3)]
    store.save_case_results(
        [_score(cases[0], Fixed()), _score(cases[1], Failing()), _score(cases[2], Crashing())]
    )

    stored = {r.document_name: r for r in store.case_results("r", "m")}
    assert stored["c0"].extraction_success and stored["c0"].true_positives == 1
    assert not stored["c1"].extraction_success
    assert "HTTP 500" in (stored["c1"].error_message or "")
    assert "ZeroDivisionError" in (stored["c2"].error_message or "")

    # two failures in three are tolerated here, to see them counted when published
    job = _job(max_error_rate=1.0)
    out = aggregate_model(job, store, now=datetime(2026, 1, 1, 0, 1, tzinfo=UTC))
    assert out is not None and out.status == "aggregated"
    assert out.aggregated["total_documents"] == 3
    # The summary holds the sums, not the cases: those are rows of their own,
    # and a summary is read again by every later step.
    assert "individual_results" not in out.aggregated
    assert out.aggregated["error_count"] == 2
    assert out.monitoring["error_count"] == 2
    assert out.monitoring["success_count"] == 1
    assert out.monitoring["duration_seconds"] == 60.0
    assert store.get_run("r").status == "queued"  # not over before its verdict
    published = publish_model(job, store)
    assert (published.status, published.snapshot_version) == ("published", 1)
    judged = verdict_model(job, store)
    assert judged.verdict is not None and judged.verdict["status"] == "no_baseline"
    assert finish_run(store, "r") == RunStatus.done
    assert store.get_run("r").status == "done"


def test_each_step_of_the_chain_can_run_twice(tmp_path: Path) -> None:
    store = _store(tmp_path)
    cases = [Case(id=f"c{i}", text="bill", truth=TRUTH) for i in range(3)]
    job = _job()
    store.save_case_results([_score(cases[0], Fixed())])
    assert aggregate_model(job, store) is None  # two cases still on their way
    store.save_case_results([_score(c, Fixed()) for c in cases[1:]])
    first = aggregate_model(job, store)
    assert aggregate_model(job, store) == first
    assert publish_model(job, store).snapshot_version == 1
    assert publish_model(job, store).snapshot_version == 1  # a redelivered publish
    assert [s.snapshot_version for s in store.snapshot_history("m-v1.0", "d")] == [1]
    verdict_model(job, store)
    assert verdict_model(job, store).verdict == verdict_model(job, store).verdict
    assert finish_run(store, "r") == RunStatus.done


def test_a_failed_model_publishes_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    cases = [Case(id=f"c{i}", text="bill", truth=TRUTH) for i in range(3)]
    store.save_case_results([_score(c, Failing()) for c in cases])
    job = _job()
    summary = aggregate_model(job, store)
    assert summary is not None and summary.status == "failed"
    assert "3 of 3 cases failed" in (summary.error or "")
    assert publish_model(job, store).status == "failed"
    assert verdict_model(job, store).verdict is None
    assert store.latest_benchmarks() == []
    assert finish_run(store, "r") == RunStatus.failed
    assert "3 of 3 cases failed" in (store.get_run("r").error or "")


def test_storing_a_case_twice_keeps_one_row(tmp_path: Path) -> None:
    store = _store(tmp_path)
    case = Case(id="c0", text="bill", truth=TRUTH)
    store.save_case_results([_score(case, Failing())])
    store.save_case_results([_score(case, Fixed())])
    assert store.count_case_results("r", "m") == 1
    assert store.case_results("r", "m")[0].extraction_success
