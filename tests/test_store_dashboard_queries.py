"""The dashboard's aggregate queries, once per backend (SQLite, Postgres, Supabase).

Same fixtures as the contract tests: each test gets an empty, migrated store.
"""

from __future__ import annotations

import sqlite3
import statistics
from contextlib import closing
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from benchq.errors import StoreError
from benchq.scoring.schema import CaseResult, MonitoringMetrics, MonitoringRecord
from benchq.store.aggregates import CaseDocument, DashboardFilter, diff_cases
from benchq.store.base import ResultsStore
from benchq.store.schema import PushMetadata, RunModelSummary, RunRecord, SnapshotConfig

try:
    from pg_fixtures import StoreSpec, pg_cluster, store, store_spec
except ImportError:  # tests/ became a package
    from tests.pg_fixtures import StoreSpec, pg_cluster, store, store_spec  # noqa: F401

LOCAL = PushMetadata(environment="local", commit_sha="abc")
STAGING = PushMetadata(environment="staging", commit_sha="abc")


def record(
    model: str, f1: float, *, latency: float = 1000.0, cost: float = 0.01
) -> MonitoringRecord:
    return MonitoringRecord(
        model_version=model,
        model_provider="test",
        dataset_size=3,
        metrics=MonitoringMetrics(
            precision=f1,
            recall=f1,
            f1=f1,
            latency_ms=latency,
            analysis_cost=cost,
            total_documents=3,
            total_issues_detected=3,
            total_issues_expected=3,
        ),
        duration_seconds=1.0,
        error_count=0,
        success_count=3,
        timestamp="2026-11-27T00:00:00Z",
    )


def case(run_id: str, model: str, name: str, detected: list[str], **extra: object) -> CaseResult:
    expected = ["duplicate_charge", "overbilling"]
    return CaseResult(
        document_name=name,
        document_type="medical_bill",
        extraction_success=True,
        json_valid=True,
        run_id=run_id,
        model_name=model,
        detected_types=detected,
        expected_types=expected,
        raw_output='{"issues": []}',
        **extra,  # type: ignore[arg-type]
    )


def publish_run(store: ResultsStore, run_id: str, model: str, version: str, f1: float) -> None:
    """A run of one model as the pipeline records it: run, summary, snapshot."""
    store.create_run(
        RunRecord(run_id=run_id, suite="s", models=[model], cases_per_model=2, created_at="x")
    )
    rec = record(version, f1)
    store.save_run_summary(
        RunModelSummary(
            run_id=run_id,
            model_name=model,
            aggregated={},
            monitoring=rec.model_dump(mode="json"),
            finished_at="x",
        )
    )
    store.publish(rec, LOCAL, run_id=run_id)


def test_configurations_report_counts_current_and_baseline(store: ResultsStore) -> None:
    for f1 in (0.5, 0.6, 0.7):
        store.publish(record("alpha-v1", f1), LOCAL)
    store.publish(record("beta-v1", 0.9), LOCAL)
    store.publish(record("alpha-v1", 0.4), STAGING)
    store.set_baseline(SnapshotConfig(model_version="alpha-v1"), 1)

    rows = {(c.model_version, c.environment): c for c in store.configurations()}
    assert set(rows) == {("alpha-v1", "local"), ("beta-v1", "local"), ("alpha-v1", "staging")}
    alpha = rows[("alpha-v1", "local")]
    assert (alpha.snapshots, alpha.current_version, alpha.baseline_version) == (3, 3, 1)
    assert alpha.current_f1 == pytest.approx(0.7)
    assert alpha.baseline_f1 == pytest.approx(0.5)
    assert rows[("beta-v1", "local")].baseline_version is None
    assert [c.environment for c in store.configurations("staging")] == ["staging"]


def test_daily_metrics_aggregate_f1_per_day_and_model(store: ResultsStore) -> None:
    f1s = [0.5, 0.6, 0.8]
    for f1 in f1s:
        store.publish(record("alpha-v1", f1), LOCAL)
    store.publish(record("beta-v1", 0.9), LOCAL)
    store.publish(record("beta-v1", 0.1), STAGING)

    (day,) = store.daily_metrics(DashboardFilter(environment="local"))
    assert day.day == datetime.now(UTC).date()
    assert day.runs == 4
    assert day.model_version is None
    assert day.f1_mean == pytest.approx(statistics.mean([*f1s, 0.9]))
    assert day.f1_std == pytest.approx(statistics.stdev([*f1s, 0.9]))
    assert (day.f1_min, day.f1_max) == (pytest.approx(0.5), pytest.approx(0.9))

    per_model = store.daily_metrics(DashboardFilter(environment="local"), per_model=True)
    by_model = {d.model_version: d for d in per_model}
    assert by_model["alpha-v1"].runs == 3
    assert by_model["alpha-v1"].f1_std == pytest.approx(statistics.stdev(f1s))
    assert by_model["beta-v1"].f1_std is None  # one snapshot: no deviation

    only_beta = store.daily_metrics(DashboardFilter(models=("beta-v1",)))
    assert [d.runs for d in only_beta] == [2]  # both environments


def test_model_stats_cover_the_filtered_snapshots(store: ResultsStore) -> None:
    for f1 in (0.2, 0.4, 0.9):
        store.publish(record("alpha-v1", f1, cost=0.02), LOCAL)
    store.publish(record("beta-v1", 0.5), STAGING)

    stats = {s.model_version: s for s in store.model_stats(DashboardFilter(days=30))}
    assert set(stats) == {"alpha-v1", "beta-v1"}
    alpha = stats["alpha-v1"]
    assert alpha.runs == 3
    assert (alpha.f1_min, alpha.f1_max) == (pytest.approx(0.2), pytest.approx(0.9))
    assert alpha.f1_mean == pytest.approx(0.5)
    assert alpha.cost_mean == pytest.approx(0.02)
    local = store.model_stats(DashboardFilter(environment="local", models=("beta-v1",)))
    assert local == []


def _backdate(spec: StoreSpec, days: int) -> None:
    """Move every alpha snapshot `days` into the past, behind the store's back."""
    when = datetime.now(UTC) - timedelta(days=days)
    if spec.kind == "sqlite":
        with closing(sqlite3.connect(spec.target)) as conn, conn:
            conn.execute(
                "UPDATE benchmark_snapshots SET created_at=? WHERE model_version='alpha-v1'",
                (when.isoformat(),),
            )
        return
    assert spec.db_url is not None
    with psycopg.connect(spec.db_url) as conn:
        conn.execute(
            "UPDATE benchmark_snapshots SET created_at=%s WHERE model_version='alpha-v1'", (when,)
        )


def test_the_time_range_excludes_older_snapshots(store_spec: StoreSpec) -> None:
    store = store_spec.open()
    try:
        store.publish(record("alpha-v1", 0.3), LOCAL)
        store.publish(record("beta-v1", 0.6), LOCAL)
        _backdate(store_spec, 10)
        week = {s.model_version for s in store.model_stats(DashboardFilter(days=7))}
        assert week == {"beta-v1"}
        every = {s.model_version for s in store.model_stats(DashboardFilter())}
        assert every == {"alpha-v1", "beta-v1"}
        days = [d.day for d in store.daily_metrics(DashboardFilter(days=90))]
        assert len(days) == 2 and days[0] < days[1]
    finally:
        store.close()


def test_model_usage_sums_tokens_and_cost_behind_current_snapshots(store: ResultsStore) -> None:
    publish_run(store, "run-1", "alpha", "alpha-v1.3", 0.5)
    store.save_case_results(
        [
            case(
                "run-1",
                "alpha",
                "a",
                ["duplicate_charge"],
                input_tokens=100,
                output_tokens=20,
                total_tokens=120,
                cost_usd=0.01,
                extraction_latency_ms=500.0,
            ),
            case(
                "run-1",
                "alpha",
                "b",
                [],
                input_tokens=300,
                output_tokens=40,
                total_tokens=340,
                cost_usd=0.03,
                extraction_latency_ms=700.0,
            ),
        ]
    )
    store.publish(record("pushed-by-hand", 0.4), LOCAL)  # no run behind it

    usage = {u.model_version: u for u in store.model_usage(DashboardFilter())}
    alpha = usage["alpha-v1.3"]
    assert (alpha.cases, alpha.failed_cases, alpha.snapshot_version) == (2, 0, 1)
    assert alpha.avg_input_tokens == pytest.approx(200)
    assert alpha.avg_total_tokens == pytest.approx(230)
    assert alpha.total_cost_usd == pytest.approx(0.04)
    assert alpha.cost_per_case_usd == pytest.approx(0.02)
    assert alpha.avg_latency_ms == pytest.approx(600)
    assert usage["pushed-by-hand"].cases == 0
    assert store.model_usage(DashboardFilter(environment="production")) == []


def test_case_documents_round_trip_and_upsert(store: ResultsStore) -> None:
    issues = [{"type": "duplicate_charge", "description": "twice", "should_detect": True}]
    store.save_case_documents(
        "run-1",
        [
            CaseDocument(case_id="b", document_type="dental_bill", text="old", expected_issues=[]),
            CaseDocument(case_id="a", document_type="medical_bill", text="BILL A"),
        ],
    )
    store.save_case_documents(
        "run-1",
        [
            CaseDocument(
                case_id="b", document_type="dental_bill", text="new", expected_issues=issues
            )
        ],
    )
    docs = store.case_documents("run-1")
    assert list(docs) == ["a", "b"]
    assert docs["b"].text == "new" and docs["b"].expected_issues == issues
    assert store.case_documents("other") == {}


def test_case_diff_finds_cases_newly_missed_and_newly_found(store: ResultsStore) -> None:
    publish_run(store, "run-1", "alpha", "alpha-v1.0", 0.8)
    publish_run(store, "run-2", "alpha", "alpha-v1.0", 0.6)
    store.save_case_results(
        [
            case("run-1", "alpha", "same", ["duplicate_charge"]),
            case("run-1", "alpha", "lost", ["duplicate_charge", "overbilling"]),
            case("run-1", "alpha", "gained", []),
            case("run-2", "alpha", "same", ["duplicate_charge"]),
            case("run-2", "alpha", "lost", ["duplicate_charge", "upcoding"]),
            case("run-2", "alpha", "gained", ["overbilling"]),
        ]
    )
    changes = store.case_diff(SnapshotConfig(model_version="alpha-v1.0"), 1, 2)
    assert [(c.case_id, c.change) for c in changes] == [
        ("lost", "regressed"),
        ("gained", "improved"),
    ]
    lost, gained = changes
    assert lost.newly_missed == ["overbilling"] and lost.new_false_alarms == ["upcoding"]
    assert gained.newly_found == ["overbilling"]
    assert lost.a is not None and lost.b is not None and lost.b.run_id == "run-2"


def test_the_anon_key_reads_every_aggregate_and_the_reader_the_documents(
    store_spec: StoreSpec,
) -> None:
    writer = store_spec.open()
    publish_run(writer, "run-1", "alpha", "alpha-v1.0", 0.8)
    writer.save_case_documents(
        "run-1", [CaseDocument(case_id="a", document_type="medical_bill", text="T")]
    )
    anon = store_spec.open(read_only=True)
    reader = store_spec.open(reader=True)
    try:
        for store in (anon, reader):
            assert [c.model_version for c in store.configurations()] == ["alpha-v1.0"]
            assert store.daily_metrics(DashboardFilter())[0].runs == 1
            assert store.model_stats(DashboardFilter())[0].runs == 1
            assert store.model_usage(DashboardFilter())[0].snapshot_version == 1
        assert reader.case_documents("run-1")["a"].text == "T"
        if store_spec.kind == "supabase":  # documents are not for the anon key
            with pytest.raises(StoreError, match="SUPABASE_READER_KEY"):
                anon.case_documents("run-1")
    finally:
        anon.close()
        reader.close()
        writer.close()


def test_diff_cases_treats_a_failed_call_as_finding_nothing() -> None:
    ok = case("r", "m", "x", ["duplicate_charge"])
    failed = ok.model_copy(update={"extraction_success": False, "run_id": "r2"})
    (change,) = diff_cases([ok], [failed])
    assert change.change == "regressed" and change.newly_missed == ["duplicate_charge"]
    assert diff_cases([ok], [ok]) == []
    assert [c.change for c in diff_cases([], [ok])] == ["added"]
