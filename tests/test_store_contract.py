"""One contract, three backends: SQLite, Postgres, and Supabase (supabase-py over HTTP).

Every test here runs once per backend (the `store` / `store_spec` fixtures),
each on an empty, migrated store, so the three stay interchangeable.
"""

from __future__ import annotations

import multiprocessing
import socket
from pathlib import Path
from typing import Any

import pytest

from benchq.errors import NotFound, StoreError, StoreUnavailable
from benchq.scoring.schema import CaseResult, MonitoringMetrics, MonitoringRecord
from benchq.store.base import ResultsStore
from benchq.store.schema import (
    PushMetadata,
    RunModelSummary,
    RunRecord,
    RunStatus,
    SnapshotConfig,
    SnapshotFilter,
)

try:
    from pg_fixtures import StoreSpec, pg_cluster, store, store_spec
except ImportError:  # tests/ became a package
    from tests.pg_fixtures import StoreSpec, pg_cluster, store, store_spec  # noqa: F401

META = PushMetadata(environment="local", commit_sha="abc123", branch_name="main", tags=["ci"])
CONFIG = SnapshotConfig(model_version="openai-v1.0")


def record(
    f1: float = 0.8, *, precision: float = 0.8, recall: float = 0.8, model: str = "openai-v1.0"
) -> MonitoringRecord:
    """A monitoring record with the given headline metrics."""
    return MonitoringRecord(
        model_version=model,
        model_provider="openai",
        dataset_size=10,
        metrics=MonitoringMetrics(
            precision=precision,
            recall=recall,
            f1=f1,
            latency_ms=1200.0,
            analysis_cost=0.002,
            total_documents=10,
            total_issues_detected=9,
            total_issues_expected=10,
        ),
        duration_seconds=12.5,
        error_count=1,
        success_count=9,
        timestamp="2026-11-27T01:00:00Z",
    )


def case(run_id: str, model: str, name: str, tp: int = 1, raw: str = "{}") -> CaseResult:
    return CaseResult(
        document_name=name,
        document_type="medical_bill",
        extraction_success=True,
        json_valid=True,
        true_positives=tp,
        run_id=run_id,
        model_name=model,
        raw_output=raw,
        detected_types=["duplicate_charge"],
    )


def run_record(run_id: str = "r1") -> RunRecord:
    return RunRecord(
        run_id=run_id,
        suite="sample",
        models=["openai", "gemini"],
        cases_per_model=3,
        created_at="2026-11-27T01:00:00Z",
    )


# --- runs and case results (the behaviour the pipeline relies on) ----------------


def test_runs_are_created_once_and_found_by_id(store: ResultsStore) -> None:
    store.create_run(run_record())
    store.create_run(run_record())  # redelivery: a no-op
    run = store.get_run("r1")
    assert run.models == ["openai", "gemini"]
    assert run.status == RunStatus.queued
    store.set_run_status("r1", "done")
    assert store.get_run("r1").status == RunStatus.done
    with pytest.raises(NotFound):
        store.get_run("nope")


def test_case_results_are_idempotent_on_their_key(store: ResultsStore) -> None:
    store.create_run(run_record())
    store.save_case_results([case("r1", "openai", n) for n in ("c", "a", "b")])
    store.save_case_result(case("r1", "openai", "a", tp=5, raw='{"issues": []}'))
    results = store.case_results("r1", "openai")
    assert [r.document_name for r in results] == ["a", "b", "c"]
    assert results[0].true_positives == 5
    assert results[0].raw_output == '{"issues": []}'
    assert results[0].detected_types == ["duplicate_charge"]
    assert store.count_case_results("r1", "openai") == 3
    assert store.count_case_results("r1", "gemini") == 0
    progress = store.progress("r1")
    assert progress.done == {"openai": 3, "gemini": 0}


def test_case_results_come_in_pages_in_case_order(store: ResultsStore) -> None:
    store.create_run(run_record())
    names = [f"c{n:02d}" for n in range(25)]
    store.save_case_results([case("r1", "openai", n) for n in reversed(names)])
    store.save_case_result(case("r1", "gemini", "c99"))  # another model: not in its pages
    pages = list(store.iter_case_results("r1", "openai", page_size=10))
    # Backends that page give pages of at most 10; all give every case once, in order.
    assert [len(p) for p in pages] in ([10, 10, 5], [25])
    assert [r.document_name for p in pages for r in p] == names
    assert [r.document_name for r in store.case_results("r1", "openai")] == names


def test_stored_case_ids_are_those_of_the_asked_model(store: ResultsStore) -> None:
    store.create_run(run_record())
    store.create_run(run_record("r2"))
    store.save_case_results([case("r1", "openai", n) for n in ("c", "a", "b")])
    store.save_case_results([case("r1", "gemini", n) for n in ("a", "d")])
    store.save_case_result(case("r2", "openai", "e"))  # same model, another run
    store.save_case_result(case("r1", "openai", "a", tp=5))  # a redelivery: still one id
    asked = ["a", "b", "c", "d", "e", "z"]
    assert store.stored_case_ids("r1", "openai", asked) == {"a", "b", "c"}
    assert store.stored_case_ids("r1", "openai", ["b", "z"]) == {"b"}
    assert store.stored_case_ids("r1", "gemini", asked) == {"a", "d"}
    assert store.stored_case_ids("r2", "openai", asked) == {"e"}
    assert store.stored_case_ids("r1", "mistral", asked) == set()
    assert store.stored_case_ids("unknown-run", "openai", asked) == set()
    assert store.stored_case_ids("r1", "openai", []) == set()


def test_a_large_batch_with_duplicates_keeps_the_last(store_spec: StoreSpec) -> None:
    store = store_spec.open()
    batch = [case("r1", "m", f"case-{i:04d}", tp=1) for i in range(1200)]
    batch.append(case("r1", "m", "case-0007", tp=9))
    store.save_case_results(batch)
    store.save_case_results(batch)  # a whole redelivered batch
    assert store.count_case_results("r1", "m") == 1200
    assert store_spec.count("benchmark_case_results") == 1200
    results = store.case_results("r1", "m")  # more than one Supabase page
    assert len(results) == 1200
    assert results[7].true_positives == 9
    ids = [f"case-{i:04d}" for i in range(1300)]  # more ids than one request takes
    assert store.stored_case_ids("r1", "m", ids) == set(ids[:1200])


def test_run_summaries_replace_earlier_ones(store: ResultsStore) -> None:
    store.create_run(run_record())
    for version in (None, 3):
        store.save_run_summary(
            RunModelSummary(
                run_id="r1",
                model_name="openai",
                aggregated={"issue_f1_score": 0.5},
                monitoring={"model_version": "openai-v1.0"},
                finished_at="2026-11-27T02:00:00Z",
                snapshot_version=version,
                verdict=None if version is None else {"status": "ok"},
            )
        )
    (summary,) = store.run_summaries("r1")
    assert summary.snapshot_version == 3
    assert summary.aggregated == {"issue_f1_score": 0.5}
    assert summary.verdict == {"status": "ok"}
    # a model is over once its verdict is in (or it failed)
    assert store.progress("r1").finished_models == ["openai"]


def test_a_failed_run_keeps_its_first_error_and_failed_models(store: ResultsStore) -> None:
    store.create_run(run_record())
    store.save_run_summary(
        RunModelSummary(
            run_id="r1",
            model_name="gemini",
            aggregated={},
            monitoring={},
            finished_at="2026-11-27T02:00:00Z",
            status="failed",
            error="gemini: 3 of 3 cases failed",
        )
    )
    store.set_run_status("r1", "failed", error="gemini: 3 of 3 cases failed")
    store.set_run_status("r1", "failed", error="a later, derived error")
    run = store.get_run("r1")
    assert run.status == RunStatus.failed
    assert run.error == "gemini: 3 of 3 cases failed"
    (summary,) = store.run_summaries("r1")
    assert (summary.status, summary.snapshot_version) == ("failed", None)
    progress = store.progress("r1")
    assert progress.failed_models == ["gemini"]
    assert progress.error == "gemini: 3 of 3 cases failed"


def test_snapshots_record_the_model_id_and_prompt_digest(store: ResultsStore) -> None:
    known = record().model_copy(update={"model_id": "gpt-4o-mini", "prompt_digest": "0123abcd"})
    snap = store.publish(known, META)
    assert (snap.model_id, snap.prompt_digest) == ("gpt-4o-mini", "0123abcd")
    (latest,) = store.latest_benchmarks()
    assert (latest.model_id, latest.prompt_digest) == ("gpt-4o-mini", "0123abcd")
    pushed = store.publish(record(), META)  # a pushed record that does not know them
    assert (pushed.model_id, pushed.prompt_digest) == (None, None)


# --- publishing and versions ---------------------------------------------------------


def test_publish_numbers_versions_per_configuration(store_spec: StoreSpec) -> None:
    store = store_spec.open()
    first = store.publish(record(0.7), META, run_id="r1")
    second = store.publish(record(0.8), META)
    other = store.publish(record(0.9, model="gemini-v1.0"), META)
    staging = store.publish(record(0.6), META.model_copy(update={"environment": "staging"}))
    assert (first.snapshot_version, second.snapshot_version) == (1, 2)
    assert other.snapshot_version == 1 and staging.snapshot_version == 1
    assert first.benchq_run_id == "r1" and first.commit_sha == "abc123"
    assert second.is_current and second.f1_score == pytest.approx(0.8)
    assert second.cost_per_analysis == pytest.approx(0.002)
    assert second.metrics["total_issues_expected"] == 10
    history = store.snapshot_history("openai-v1.0", "benchmark-set-v1", "v1", "local")
    assert [s.snapshot_version for s in history] == [2, 1]
    assert [s.is_current for s in history] == [True, False]
    assert store_spec.count("benchmark_transactions") == 4
    assert store_spec.count("benchmark_snapshots") == 4


def test_checkout_moves_current_and_a_missing_version_changes_nothing(
    store_spec: StoreSpec,
) -> None:
    store = store_spec.open()
    for f1 in (0.7, 0.8, 0.9):
        store.publish(record(f1), META)
    snap = store.checkout(CONFIG, 1)
    assert snap.snapshot_version == 1 and snap.is_current
    before = [s.model_dump() for s in store.snapshot_history("openai-v1.0")]
    with pytest.raises(NotFound):
        store.checkout(CONFIG, 99)
    with pytest.raises(NotFound):
        store.checkout(CONFIG.model_copy(update={"model_version": "nobody"}), 1)
    assert [s.model_dump() for s in store.snapshot_history("openai-v1.0")] == before
    assert [s["snapshot_version"] for s in before if s["is_current"]] == [1]
    # the next publish still takes MAX+1 and becomes current
    assert store.publish(record(), META).snapshot_version == 4
    assert [
        s.snapshot_version for s in store.list_snapshots(SnapshotFilter(current_only=True))
    ] == [4]


def test_compare_reports_delta_and_percent_change(store: ResultsStore) -> None:
    store.publish(record(0.5, precision=0.4), META)
    store.publish(record(0.6, precision=0.0), META)
    rows = store.compare(CONFIG, 1, 2)
    assert [r.metric for r in rows][:5] == [
        "precision",
        "recall",
        "f1",
        "latency_ms",
        "analysis_cost",
    ]
    by = {r.metric: r for r in rows}
    assert by["f1"].a == pytest.approx(0.5) and by["f1"].b == pytest.approx(0.6)
    assert by["f1"].delta == pytest.approx(0.1)
    assert by["f1"].pct_change == pytest.approx(20.0)
    assert by["precision"].pct_change == pytest.approx(-100.0)
    assert by["recall"].delta == pytest.approx(0.0)
    with pytest.raises(NotFound):
        store.compare(CONFIG, 1, 7)


def test_baseline_and_regression_check(store: ResultsStore) -> None:
    assert store.regression_check(CONFIG).status == "no_current"
    store.publish(record(0.80), META)
    assert store.regression_check(CONFIG).status == "no_baseline"
    base = store.set_baseline(CONFIG, 1)
    assert base.is_baseline
    store.publish(record(0.78), META)  # F1 -0.02: within 0.05
    verdict = store.regression_check(CONFIG, 0.05)
    assert (verdict.status, verdict.regressed) == ("ok", False)
    assert (verdict.current_version, verdict.baseline_version) == (2, 1)
    store.publish(record(0.70), META)  # F1 -0.10
    verdict = store.regression_check(CONFIG, 0.05)
    assert verdict.status == "regression" and verdict.regressed
    f1 = next(c for c in verdict.checks if c.metric == "f1")
    assert f1.regressed and f1.pct_change == pytest.approx(-12.5)
    assert not next(c for c in verdict.checks if c.metric == "precision").regressed
    assert store.regression_check(CONFIG, 0.2).status == "ok"
    # only one baseline per configuration
    store.set_baseline(CONFIG, 3)
    assert [s.snapshot_version for s in store.snapshot_history("openai-v1.0") if s.is_baseline] == [
        3
    ]
    with pytest.raises(NotFound):
        store.set_baseline(CONFIG, 42)
    with pytest.raises(StoreError):
        store.regression_check(CONFIG, 5.0)


def test_latest_trends_and_listing(store: ResultsStore) -> None:
    store.publish(record(0.6), META)
    store.publish(record(0.8), META)
    store.publish(record(0.9, model="gemini-v1.0"), META)
    latest = store.latest_benchmarks()
    assert [(s.model_version, s.snapshot_version) for s in latest] == [
        ("gemini-v1.0", 1),
        ("openai-v1.0", 2),
    ]
    assert latest[1].model_provider == "openai" and latest[1].branch_name == "main"
    trends = store.performance_trends(7)
    openai = next(t for t in trends if t.model_version == "openai-v1.0")
    assert openai.snapshots == 2 and openai.avg_f1 == pytest.approx(0.7)
    everything = store.list_snapshots()
    assert len(everything) == 3 and everything[0].model_version == "gemini-v1.0"
    only = store.list_snapshots(SnapshotFilter(model_version="openai-v1.0", limit=1))
    assert [s.snapshot_version for s in only] == [2]
    assert store.list_snapshots(SnapshotFilter(environment="production")) == []


# --- concurrency -------------------------------------------------------------------


def _publish_in_child(spec: StoreSpec, barrier: Any, results: Any) -> None:
    # Every outcome is reported, so the parent's assertion shows it at once.
    try:
        store = spec.open()
    except Exception as exc:
        barrier.abort()  # the others must not wait for this one
        results.put(f"open: {exc!r}")
        return
    try:
        barrier.wait(timeout=60)
        results.put(store.publish(record(), META).snapshot_version)
    except Exception as exc:
        results.put(repr(exc))
    finally:
        store.close()


@pytest.mark.slow
def test_eight_processes_publishing_at_once_get_versions_1_to_8(store_spec: StoreSpec) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(8)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_publish_in_child, args=(store_spec, barrier, results)) for _ in range(8)
    ]
    for p in procs:
        p.start()
    got = sorted(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert got == list(range(1, 9))
    history = store_spec.open().snapshot_history("openai-v1.0")
    assert sorted(s.snapshot_version for s in history) == list(range(1, 9))
    assert [s.snapshot_version for s in history if s.is_current] == [8]
    assert store_spec.count("benchmark_transactions") == 8


# --- an unreachable store ----------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "supabase"])
def test_an_unreachable_store_raises_store_unavailable(kind: str, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    specs = {
        # a path under a regular file can never be opened
        "sqlite": StoreSpec("sqlite", str(blocked / "benchq.db")),
        "postgres": StoreSpec("postgres", f"postgresql://postgres@/x?host={tmp_path}&port=1"),
        "supabase": StoreSpec(
            "supabase", f"http://127.0.0.1:{_closed_port()}", service_key="k", anon_key="k"
        ),
    }
    with pytest.raises(StoreUnavailable):
        store = specs[kind].open()
        store.publish(record(), META)
    with pytest.raises(StoreUnavailable):
        specs[kind].open().latest_benchmarks()


def test_publishing_the_same_run_twice_makes_one_snapshot(store: ResultsStore) -> None:
    first = store.publish(record(0.7), META, run_id="run-a")
    again = store.publish(record(0.9), META, run_id="run-a")
    other = store.publish(record(0.8), META, run_id="run-b")
    assert again.snapshot_version == first.snapshot_version == 1
    assert again.f1_score == first.f1_score
    assert other.snapshot_version == 2
    assert [s.snapshot_version for s in store.snapshot_history("openai-v1.0")] == [2, 1]


# --- the regression rule (the original's by default) and ids -------------------------


@pytest.mark.parametrize(("current", "regressed"), [(0.351, False), (0.350, False), (0.349, True)])
def test_the_default_regression_rule_is_the_originals(
    store: ResultsStore, current: float, regressed: bool
) -> None:
    store.publish(record(0.400, precision=0.9, recall=0.9), META)
    store.set_baseline(CONFIG, 1)
    # Precision and recall fall far: the original's rule judges F1 alone.
    store.publish(record(current, precision=0.1, recall=0.1), META)
    verdict = store.regression_check(CONFIG)
    assert (verdict.regressed, verdict.rule, verdict.threshold) == (regressed, "original", 0.05)
    assert verdict.status == ("regression" if regressed else "ok")
    assert [c.metric for c in verdict.checks if c.regressed] == (["f1"] if regressed else [])
    assert verdict.rule_text() == "original rule: F1 drop > 0.05"


def test_the_other_rules_by_name(store: ResultsStore) -> None:
    store.publish(record(0.400, precision=0.50, recall=0.40), META)
    store.set_baseline(CONFIG, 1)
    store.publish(record(0.370, precision=0.44, recall=0.40), META)
    # F1 -0.03 (7.5 %), precision -0.06 (12 %).
    assert not store.regression_check(CONFIG).regressed
    absolute = store.regression_check(CONFIG, rule="absolute")
    assert absolute.regressed and [c.metric for c in absolute.checks if c.regressed] == [
        "precision"
    ]
    relative = store.regression_check(CONFIG, 0.05, "relative")
    assert relative.rule == "relative"
    assert [c.metric for c in relative.checks if c.regressed] == ["precision", "f1"]
    with pytest.raises(StoreError, match="rule"):
        store.regression_check(CONFIG, rule="vibes")  # type: ignore[arg-type]


def test_ids_are_uuids_and_a_snapshot_names_its_transaction(store_spec: StoreSpec) -> None:
    from uuid import UUID

    store = store_spec.open()
    first = store.publish(record(0.7), META)
    second = store.publish(record(0.8), META)
    assert isinstance(first.id, UUID) and isinstance(first.transaction_id, UUID)
    assert len({first.id, second.id, first.transaction_id, second.transaction_id}) == 4
    latest = store.latest_benchmarks()[0]
    assert (latest.id, latest.transaction_id) == (second.id, second.transaction_id)
    assert store.get_snapshot(CONFIG, 1).id == first.id
