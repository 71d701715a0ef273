"""The original system's SQL interface on a benchq database: same signatures, same results.

One database is made by the original's own schema file, one by benchq's
migrations; the same history is written into both with the original's own
function (`upsert_benchmark_result`), and every function and view of the
original must then answer the same, value for value and digit for digit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from benchq.store.postgres import PostgresStore
from benchq.store.schema import SnapshotConfig

try:
    from original_files import original_schema
    from pg_fixtures import PgCluster, pg_cluster
except ImportError:  # tests/ became a package
    from tests.original_files import original_schema
    from tests.pg_fixtures import PgCluster, pg_cluster  # noqa: F401

FUNCTIONS = (
    "upsert_benchmark_result",
    "detect_regression",
    "get_snapshot_history",
    "checkout_snapshot",
    "compare_snapshots",
)
VIEWS = ("v_latest_benchmarks", "v_performance_trends")
MEDGEMMA = ("medgemma-v1.2", "benchmark-set-v3", "analysis-v4", "github-actions")

#: (commit, model, provider, dataset, size, prompt, environment, metrics, duration, tags, notes)
HISTORY: list[tuple[Any, ...]] = [
    ("c1", *MEDGEMMA[:1], "google", MEDGEMMA[1], 150, *MEDGEMMA[2:],
     '{"precision": 0.91, "recall": 0.88, "f1": 0.895, "latency_ms": 412, '
     '"analysis_cost": 0.0042, "accuracy": 0.89, "true_positives": 132}',
     45.2, ["experiment-1", "baseline"], "Initial baseline run"),
    ("c2", *MEDGEMMA[:1], "google", MEDGEMMA[1], 150, *MEDGEMMA[2:],
     '{"precision": 0.8512345, "recall": 0.777777777, "f1": 0.81234, '
     '"latency_ms": 398.456, "analysis_cost": 0.00412345}',
     None, None, None),
    # 0.12345 is a tie at four places: both round it half away from zero.
    ("c3", *MEDGEMMA[:1], "google", MEDGEMMA[1], None, *MEDGEMMA[2:],
     '{"precision": 0.12345, "recall": 0.5, "f1": 0.84505, "latency_ms": 0}',
     12.0, [], None),
    ("d1", "openai-v1.0", "openai", "benchmark-set-v1", 48, "v1", "local",
     '{"precision": 0.75, "recall": 0.6, "f1": 0.6666666666666666, "latency_ms": 1500.5, '
     '"analysis_cost": 0, "total_documents": 48, "total_issues_detected": 0, '
     '"total_issues_expected": 0}',
     1.5, None, None),
    ("d2", "openai-v1.0", "openai", "benchmark-set-v1", 48, "v1", "local",
     '{"precision": 0.7, "recall": 0.65, "f1": 0.674, "latency_ms": 1420}',
     None, ["nightly"], "second"),
    ("e1", "openai-v1.0", "openai", "benchmark-set-v1", 48, "v1", "staging",
     '{"f1": 0.5}', None, None, None),
]  # fmt: skip

#: Queries whose answers must be the same on both databases (ids and clock times left out).
QUERIES = {
    "detect_regression": "SELECT * FROM detect_regression('medgemma-v1.2')",
    "detect_regression_0.1": "SELECT * FROM detect_regression('medgemma-v1.2', 0.1)",
    "detect_regression_no_baseline": "SELECT * FROM detect_regression('openai-v1.0')",
    "history": "SELECT snapshot_version, commit_sha, f1_score, precision_score, recall_score, "
    "latency_ms, is_current, is_baseline FROM get_snapshot_history("
    "'medgemma-v1.2', 'benchmark-set-v3', 'analysis-v4', 'github-actions')",
    "history_2": "SELECT snapshot_version, f1_score FROM get_snapshot_history("
    "'openai-v1.0', 'benchmark-set-v1', 'v1', 'local', 1)",
    "compare_1_2": "SELECT * FROM compare_snapshots("
    "'medgemma-v1.2', 'benchmark-set-v3', 'analysis-v4', 'github-actions', 1, 2)",
    "compare_2_3": "SELECT * FROM compare_snapshots("
    "'medgemma-v1.2', 'benchmark-set-v3', 'analysis-v4', 'github-actions', 2, 3)",
    "compare_missing": "SELECT * FROM compare_snapshots("
    "'medgemma-v1.2', 'benchmark-set-v3', 'analysis-v4', 'github-actions', 1, 9)",
    "latest": "SELECT model_version, dataset_version, prompt_version, environment, "
    "snapshot_version, f1_score, precision_score, recall_score, latency_ms, cost_per_analysis, "
    "commit_sha, run_id, triggered_by, metrics FROM v_latest_benchmarks",
    "trends": "SELECT * FROM v_performance_trends",
}


def write_history(url: str) -> list[str]:
    """Write HISTORY with the original's function, check out and set a baseline as a user
    of the original would; return the transaction ids the function answered."""
    ids = []
    with psycopg.connect(url, autocommit=True) as conn:
        for i, (commit, model, provider, dataset, size, prompt, env, metrics, duration, tags,
                notes) in enumerate(HISTORY):  # fmt: skip
            params = (commit, model, provider, dataset, size, prompt, env, f"run-{i}", metrics,
                      duration, tags, notes)  # fmt: skip
            row = conn.execute(
                "SELECT upsert_benchmark_result(%s, 'main', %s, %s, %s, %s::integer, %s, %s, %s, "
                "'bot', %s::jsonb, %s::numeric, %s::text[], %s)",
                params,
            ).fetchone()
            assert row is not None
            ids.append(str(row[0]))
        conn.execute(
            "SELECT checkout_snapshot('medgemma-v1.2', 'benchmark-set-v3', 'analysis-v4', "
            "'github-actions', 2)"
        )
        # The original had no function for it: its users set a baseline by hand.
        conn.execute(
            "UPDATE benchmark_snapshots SET is_baseline = TRUE "
            "WHERE model_version = 'medgemma-v1.2' AND snapshot_version = 1"
        )
        # Fixed times, so the daily trends group the same on both (and on any day).
        conn.execute(
            "UPDATE benchmark_transactions SET created_at = "
            "'2026-02-03 10:00:00+00'::timestamptz + (ascii(commit_sha) - 99) * interval '1 day'"
            " + (right(commit_sha, 1)::int) * interval '1 minute'"
        )
    return ids


def answers(url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every query of QUERIES, each value as text (so 0.8950 and 0.895 differ)."""
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, query in QUERIES.items():
            rows = conn.execute(query.encode()).fetchall()
            out[name] = [tuple(str(v) for v in row) for row in rows]
    return out


def signatures(url: str) -> dict[str, Any]:
    """The original functions' arguments and results, and its views' columns."""
    with psycopg.connect(url, autocommit=True) as conn:
        functions = conn.execute(
            "SELECT p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid) "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname = ANY(%s) ORDER BY 1, 2",
            (list(FUNCTIONS),),
        ).fetchall()
        views = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ANY(%s) "
            "ORDER BY table_name, ordinal_position",
            (list(VIEWS),),
        ).fetchall()
    return {"functions": functions, "views": views}


@pytest.fixture
def original_and_benchq(pg_cluster: PgCluster) -> Iterator[tuple[str, str]]:
    """(a database made by the original's schema file, a database made by benchq)."""
    original = pg_cluster.new_database(template="template0")
    with psycopg.connect(original, autocommit=True) as conn:
        conn.execute(original_schema().encode())
    yield original, pg_cluster.new_database()


def test_the_original_functions_and_views_have_its_signatures(
    original_and_benchq: tuple[str, str],
) -> None:
    original, benchq = original_and_benchq
    expected = signatures(original)
    assert len(expected["functions"]) == len(FUNCTIONS)
    assert {v for v, _, _ in expected["views"]} == set(VIEWS)
    assert signatures(benchq) == expected


def test_the_same_history_gives_the_same_answers(original_and_benchq: tuple[str, str]) -> None:
    original, benchq = original_and_benchq
    write_history(original)
    write_history(benchq)
    expected = answers(original)
    # The scenario covers what it means to: a regression, rounding, several configurations.
    assert expected["detect_regression"] == [("0.8123", "0.8950", "0.0827", "True")]
    assert expected["detect_regression_0.1"][0][3] == "False"
    assert expected["detect_regression_no_baseline"] == []
    assert ("3", "c3", "0.8451", "0.1235", "0.5000", "0.00", "False", "False") in expected[
        "history"
    ]
    assert len(expected["latest"]) == 3 and len(expected["trends"]) >= 3
    assert answers(benchq) == expected


def test_checkout_of_a_missing_version_fails_as_the_original(
    original_and_benchq: tuple[str, str],
) -> None:
    for url in original_and_benchq:
        write_history(url)
        with psycopg.connect(url, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.RaiseException, match="Snapshot version 9 not found"):
                conn.execute(
                    "SELECT checkout_snapshot('medgemma-v1.2', 'benchmark-set-v3', "
                    "'analysis-v4', 'github-actions', 9)"
                )
            current = conn.execute(
                "SELECT snapshot_version FROM benchmark_snapshots "
                "WHERE model_version = 'medgemma-v1.2' AND is_current"
            ).fetchall()
            assert current == [(2,)]


def test_what_the_original_functions_write_benchq_reads(
    original_and_benchq: tuple[str, str],
) -> None:
    _, benchq = original_and_benchq
    ids = write_history(benchq)
    store = PostgresStore(benchq)
    try:
        config = SnapshotConfig(
            model_version="medgemma-v1.2",
            dataset_version="benchmark-set-v3",
            prompt_version="analysis-v4",
            environment="github-actions",
        )
        history = store.snapshot_history(*MEDGEMMA)
        assert [s.snapshot_version for s in history] == [3, 2, 1]
        assert [str(s.transaction_id) for s in reversed(history)] == ids[:3]
        assert [s.is_current for s in history] == [False, True, False]
        assert history[2].metrics["accuracy"] == 0.89  # kept as the function was given it
        verdict = store.regression_check(config)
        assert verdict.status == "regression" and verdict.rule == "original"
        with psycopg.connect(benchq, autocommit=True) as conn:
            row = conn.execute(
                "SELECT error_count, success_count, tags, duration_seconds "
                "FROM benchmark_transactions WHERE commit_sha = 'c2'"
            ).fetchone()
        # Not recorded by the original's function: unknown, not 0; no tags: an empty list.
        assert row == (None, None, [], None)
    finally:
        store.close()
