"""The run explorer's reads and the dashboard's handling of failed runs, once per backend.

Same fixtures as the contract tests: each test gets an empty, migrated store
(SQLite, Postgres, and Supabase through the PostgREST stand-in).
"""

from __future__ import annotations

import pytest

from benchq.errors import StoreError
from benchq.scoring.schema import CaseResult, MonitoringMetrics, MonitoringRecord
from benchq.store.aggregates import CaseDocument, DashboardFilter
from benchq.store.base import ResultsStore
from benchq.store.schema import PushMetadata, RunRecord, RunStatus

try:
    from pg_fixtures import StoreSpec, pg_cluster, store, store_spec
except ImportError:  # tests/ became a package
    from tests.pg_fixtures import StoreSpec, pg_cluster, store, store_spec  # noqa: F401
from tests.test_store_privacy import BILL, RAW, Served, db, served  # noqa: F401

LOCAL = PushMetadata(environment="local", commit_sha="abc")


def record(
    model: str, f1: float, *, dataset: str = "set-a", ok: int = 3, errors: int = 0
) -> MonitoringRecord:
    return MonitoringRecord(
        model_version=model,
        model_provider="test",
        dataset_version=dataset,
        dataset_size=ok + errors,
        metrics=MonitoringMetrics(
            precision=f1,
            recall=f1,
            f1=f1,
            latency_ms=0.0 if ok == 0 else 900.0,
            analysis_cost=0.01,
            total_documents=ok + errors,
            total_issues_detected=3,
            total_issues_expected=3,
        ),
        duration_seconds=1.0,
        error_count=errors,
        success_count=ok,
        timestamp="2026-11-27T00:00:00Z",
    )


def result(
    run_id: str, model: str, case_id: str, detected: list[str], **extra: object
) -> CaseResult:
    return CaseResult(
        document_name=case_id,
        document_type="medical_bill",
        extraction_success=True,
        json_valid=True,
        run_id=run_id,
        model_name=model,
        detected_types=detected,
        expected_types=["duplicate_charge"],
        true_positives=int("duplicate_charge" in detected),
        false_positives=len([d for d in detected if d != "duplicate_charge"]),
        false_negatives=int("duplicate_charge" not in detected),
        raw_output='{"issues": [' + ",".join(f'{{"type": "{d}"}}' for d in detected) + "]}",
        **extra,  # type: ignore[arg-type]
    )


def a_run(
    store: ResultsStore, run_id: str, *, dataset: str = "set-a", when: str = "2026-11-01"
) -> None:
    store.create_run(
        RunRecord(
            run_id=run_id,
            suite="demo",
            models=["alpha", "beta"],
            cases_per_model=2,
            created_at=f"{when}T00:00:00+00:00",
            dataset_version=dataset,
        )
    )
    store.save_case_documents(
        run_id,
        [
            CaseDocument(
                case_id="c1",
                document_type="medical_bill",
                text="Patient: Jane Roe\n99213 Office visit $120.00\n99213 Office visit $120.00",
                expected_issues=[
                    {"type": "duplicate_charge", "description": "x", "should_detect": True}
                ],
            ),
            CaseDocument(case_id="c2", document_type="medical_bill", text="Lab panel 80053 $40"),
        ],
    )
    store.save_case_results(
        [
            result(run_id, "alpha", "c1", ["duplicate_charge"], input_tokens=100, cost_usd=0.002),
            result(run_id, "beta", "c1", ["overbilling"], extraction_latency_ms=1500.0),
            result(run_id, "alpha", "c2", []),
            CaseResult(
                document_name="c2",
                document_type="medical_bill",
                extraction_success=False,
                error_message="provider returned HTTP 500: upstream timed out after 30 s",
                run_id=run_id,
                model_name="beta",
                expected_types=["duplicate_charge"],
            ),
        ]
    )


def test_the_grid_reads_every_cell_without_raw_answers(store: ResultsStore) -> None:
    a_run(store, "r1")
    a_run(store, "r2")
    cells = store.run_case_cells("r1")
    assert [(c.case_id, c.model_name) for c in cells] == [
        ("c1", "alpha"),
        ("c1", "beta"),
        ("c2", "alpha"),
        ("c2", "beta"),
    ]
    alpha_c1, beta_c1, _, beta_c2 = cells
    assert alpha_c1.detected_types == ["duplicate_charge"]
    assert alpha_c1.expected_types == ["duplicate_charge"]
    assert (alpha_c1.true_positives, alpha_c1.input_tokens, alpha_c1.cost_usd) == (1, 100, 0.002)
    assert beta_c1.false_positives == 1 and beta_c1.extraction_latency_ms == 1500.0
    assert not beta_c2.extraction_success
    assert beta_c2.error_message == "provider returned HTTP 500: upstream timed out after 30 s"
    assert store.run_case_cells("nope") == []


def test_one_case_opens_with_its_document_and_every_answer(store: ResultsStore) -> None:
    a_run(store, "r1")
    answers = store.case_answers("r1", "c1")
    assert [a.model_name for a in answers] == ["alpha", "beta"]
    assert answers[1].raw_output == '{"issues": [{"type": "overbilling"}]}'
    document = store.case_document("r1", "c1")
    assert document is not None and "Jane Roe" in document.text
    assert document.expected_issues[0]["type"] == "duplicate_charge"
    assert store.case_document("r1", "missing") is None


def test_documents_are_searched_in_the_database(store: ResultsStore) -> None:
    a_run(store, "r1")
    a_run(store, "r2")
    assert store.search_case_documents("r1", "office VISIT") == {"c1"}
    assert store.search_case_documents("r1", "$") == {"c1", "c2"}
    assert store.search_case_documents("r1", "50%_off") == set()  # wildcards are literal
    assert store.search_case_documents("r1", "nothing like this") == set()


def test_recent_runs_are_newest_first_and_filter_by_dataset(store: ResultsStore) -> None:
    a_run(store, "old", when="2026-10-01")
    a_run(store, "new", when="2026-11-20", dataset="set-b")
    a_run(store, "mid", when="2026-11-01")
    store.set_run_status("mid", "failed")
    runs = store.recent_runs()
    assert [r.run_id for r in runs] == ["new", "mid", "old"]
    assert runs[1].status == RunStatus.failed
    assert [r.run_id for r in store.recent_runs(dataset_version="set-a")] == ["mid", "old"]
    assert [r.run_id for r in store.recent_runs(limit=1)] == ["new"]


def test_failed_runs_are_counted_apart_and_left_out_of_means(store: ResultsStore) -> None:
    store.publish(record("alpha-v1", 0.6), LOCAL)
    store.publish(record("alpha-v1", 0.8), LOCAL)
    store.publish(record("alpha-v1", 0.0, ok=0, errors=3), LOCAL)  # every call failed
    store.publish(record("beta-v1", 0.5, dataset="set-b"), LOCAL)

    (stats,) = store.model_stats(DashboardFilter(models=("alpha-v1",)))
    assert (stats.runs, stats.failed) == (3, 1)
    assert stats.f1_mean == pytest.approx(0.7)
    assert stats.f1_min == pytest.approx(0.6)
    assert stats.latency_mean == pytest.approx(900.0)
    (day,) = store.daily_metrics(DashboardFilter(models=("alpha-v1",)))
    assert (day.runs, day.failed) == (3, 1)
    assert day.f1_mean == pytest.approx(0.7)

    configs = {c.model_version: c for c in store.configurations()}
    assert configs["alpha-v1"].current_failed and configs["alpha-v1"].failed_snapshots == 1
    assert not configs["beta-v1"].current_failed

    points = store.snapshot_points(DashboardFilter(models=("alpha-v1",)))
    assert [(p.snapshot_version, p.failed) for p in points] == [(1, False), (2, False), (3, True)]


def test_the_dataset_filter_selects_one_suite(store: ResultsStore) -> None:
    store.publish(record("alpha-v1", 0.6), LOCAL)
    store.publish(record("alpha-v1", 0.2, dataset="set-b"), LOCAL)
    (only_b,) = store.model_stats(DashboardFilter(dataset="set-b"))
    assert only_b.f1_mean == pytest.approx(0.2)
    assert [d.runs for d in store.daily_metrics(DashboardFilter(dataset="set-a"))] == [1]
    assert [p.dataset_version for p in store.snapshot_points(DashboardFilter(dataset="set-b"))] == [
        "set-b"
    ]


# --- who may read what (20261201490000_read_roles.sql) through the PostgREST stand-in ------


def test_the_explorer_reads_cases_with_the_reader_key_only(served: Served) -> None:  # noqa: F811
    """The explorer's case reads are closed to the anon key; its snapshot points are not."""
    anon = served.store(anon=True)
    try:
        assert [p.model_version for p in anon.snapshot_points(DashboardFilter())] == ["alpha-v1.0"]
        for read in (
            lambda: anon.run_case_cells("run-1"),
            lambda: anon.case_answers("run-1", "bill-1"),
            lambda: anon.case_document("run-1", "bill-1"),
            lambda: anon.search_case_documents("run-1", "Jane"),
            lambda: anon.recent_runs(),
        ):
            with pytest.raises(StoreError, match="SUPABASE_READER_KEY"):
                read()
    finally:
        anon.close()
    reader = served.store(anon=True, reader=True)
    try:
        assert [c.case_id for c in reader.run_case_cells("run-1")] == ["bill-1"]
        assert reader.case_answers("run-1", "bill-1")[0].raw_output == RAW
        document = reader.case_document("run-1", "bill-1")
        assert document is not None and document.text == BILL
        assert reader.search_case_documents("run-1", "jane roe") == {"bill-1"}
        assert [r.run_id for r in reader.recent_runs()] == ["run-1"]
    finally:
        reader.close()


def test_a_repeat_is_its_own_cell_and_opens_with_its_case_document(store: ResultsStore) -> None:
    """`--repeat N` stores repeats under `id~N`: a row of their own, the case's document."""
    from benchq.report.collect import collect_run
    from benchq.report.html import case_views

    a_run(store, "r1")
    again = result("r1", "alpha", "c1", [], repeat=1)
    store.save_case_results([again])
    keys = [(c.case_id, c.model_name) for c in store.run_case_cells("r1")]
    assert ("c1~1", "alpha") in keys and ("c1", "alpha") in keys
    (answer,) = store.case_answers("r1", "c1~1")
    assert answer.repeat == 1 and answer.detected_types == []
    views = {v["id"]: v for v in case_views(collect_run(store, "r1"))}
    assert views["c1~1"]["lines"] is not None  # the document of case c1
    assert [a["model"] for a in views["c1~1"]["answers"]] == ["alpha"]
