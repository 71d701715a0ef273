"""How fast the dashboard is on a large history in Postgres.

    .venv/bin/python bench/dashboard.py [--snapshots 10000] [--cases 50] [--repeat 5]
                                        [--pg-url URL] [--no-browser]

Fills a database with `--snapshots` snapshots (5 models x 4 environments,
one run per 5 snapshots) and `--cases` case results per snapshot (default:
10,000 and 500,000), written with COPY. Then measures, as the median of
`--repeat` cold runs (the dashboard's cache cleared and a new connection
each time):

* first view: every query the page runs when it opens (sidebar choices and
  the Current Snapshot view), through the same loaders the app calls
  (`benchq.dashboard.data.first_view`);
* filter change: the queries a change of environment, models and time range
  runs, for the view on screen and for each other view;
* unless `--no-browser`: the real page in headless Chromium, from navigation
  to the configurations table on screen, and from choosing an environment
  to the table showing only that environment.

Without `--pg-url` a throwaway PostgreSQL 15 cluster is started (the test
suite's, from tests/pg_fixtures.py: unix socket, fsync off) and removed after.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import psycopg  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from benchq.dashboard import data  # noqa: E402
from benchq.store.migrate import upgrade  # noqa: E402
from benchq.store.postgres import PostgresStore  # noqa: E402

MODELS = ("gpt-4o-mini", "gemini-2.0-flash", "medgemma-4b", "claude-haiku", "baseline")
ENVIRONMENTS = ("local", "github-actions", "staging", "production")
TYPES = ("duplicate_charge", "overbilling", "unbundling", "upcoding")


def fill(url: str, snapshots: int, cases: int, seed: int = 1) -> None:
    """Write the history with COPY: runs, summaries, transactions, snapshots, case results."""
    rng = random.Random(seed)
    runs = snapshots // len(MODELS)
    now = datetime.now(UTC)
    versions: dict[tuple[str, str], int] = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY benchmark_runs FROM STDIN") as runs_copy:
            for r in range(runs):
                record = {"run_id": f"run-{r}", "suite": "bench", "models": list(MODELS)}
                runs_copy.write_row(
                    (
                        f"run-{r}",
                        "bench",
                        Jsonb(list(MODELS)),
                        cases,
                        now.isoformat(),
                        "done",
                        Jsonb(record),
                    )
                )
        sid = 0
        with cur.copy(
            "COPY benchmark_transactions (id, created_at, commit_sha, model_version, "
            "model_provider, dataset_version, dataset_size, prompt_version, environment, "
            "metrics, benchq_run_id) FROM STDIN"
        ) as tx_copy:
            plan = []
            for r in range(runs):
                when = now - timedelta(days=365 * (1 - r / runs), minutes=rng.uniform(0, 60))
                environment = ENVIRONMENTS[r % len(ENVIRONMENTS)]
                for model in MODELS:
                    sid += 1
                    f1 = min(1.0, max(0.0, rng.gauss(0.55 + 0.07 * MODELS.index(model), 0.08)))
                    metrics = {
                        "precision": f1,
                        "recall": f1,
                        "f1": f1,
                        "latency_ms": 800.0,
                        "analysis_cost": 0.0004,
                        "total_documents": cases,
                        "total_issues_detected": cases,
                        "total_issues_expected": cases,
                    }
                    key = (model, environment)
                    versions[key] = versions.get(key, 0) + 1
                    plan.append((sid, when, model, environment, metrics, f"run-{r}", versions[key]))
                    tx_copy.write_row(
                        (
                            sid,
                            when,
                            "abc123",
                            f"{model}-v1.0",
                            "bench",
                            "benchmark-set-v1",
                            cases,
                            "v1",
                            environment,
                            Jsonb(metrics),
                            f"run-{r}",
                        )
                    )
        with cur.copy(
            "COPY benchmark_snapshots (id, snapshot_version, created_at, model_version, "
            "dataset_version, prompt_version, environment, transaction_id, commit_sha, metrics, "
            "precision_score, recall_score, f1_score, latency_ms, cost_per_analysis, is_current, "
            "is_baseline, benchq_run_id) FROM STDIN"
        ) as snap_copy:
            for sid, when, model, environment, metrics, run_id, version in plan:
                snap_copy.write_row(
                    (
                        sid,
                        version,
                        when,
                        f"{model}-v1.0",
                        "benchmark-set-v1",
                        "v1",
                        environment,
                        sid,
                        "abc123",
                        Jsonb(metrics),
                        metrics["precision"],
                        metrics["recall"],
                        metrics["f1"],
                        800.0,
                        0.0004,
                        version == versions[(model, environment)],
                        version == 1,
                        run_id,
                    )
                )
        with cur.copy(
            "COPY benchmark_run_models (run_id, model_name, finished_at, aggregated, monitoring) "
            "FROM STDIN"
        ) as rm_copy:
            for _sid, _when, model, _env, _m, run_id, _v in plan:
                rm_copy.write_row(
                    (
                        run_id,
                        model,
                        now.isoformat(),
                        Jsonb({}),
                        Jsonb({"model_version": f"{model}-v1.0"}),
                    )
                )
        with cur.copy(
            "COPY benchmark_case_results (run_id, model_name, case_id, document_type, "
            "extraction_success, json_valid, true_positives, false_positives, false_negatives, "
            "raw_output, result) FROM STDIN"
        ) as case_copy:
            for _sid, _when, model, _env, _m, run_id, _v in plan:
                for c in range(cases):
                    detected = [t for t in TYPES if rng.random() < 0.4]
                    raw = json.dumps({"issues": [{"type": t} for t in detected]})
                    result = {
                        "document_name": f"doc-{c:03d}",
                        "document_type": "medical_bill",
                        "extraction_success": True,
                        "run_id": run_id,
                        "model_name": model,
                        "input_tokens": 900 + c,
                        "output_tokens": 120,
                        "total_tokens": 1020 + c,
                        "cost_usd": 0.0004,
                        "extraction_latency_ms": 800.0,
                        "detected_types": detected,
                        "expected_types": ["duplicate_charge"],
                        "raw_output": raw,
                    }
                    case_copy.write_row(
                        (
                            run_id,
                            model,
                            f"doc-{c:03d}",
                            "medical_bill",
                            True,
                            True,
                            1,
                            0,
                            0,
                            raw,
                            Jsonb(result),
                        )
                    )
        cur.execute("ANALYZE")


def timed(action: Callable[[], Any], repeat: int) -> float:
    """Median seconds of `repeat` cold calls (dashboard cache cleared before each)."""
    times = []
    for _ in range(repeat):
        data.clear_cache()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_queries(url: str, repeat: int) -> list[tuple[str, float]]:
    """(label, seconds) of the first view and of a filter change, through the app's loaders."""

    def fresh() -> PostgresStore:
        return PostgresStore(url)

    def first() -> None:
        store = fresh()
        data.first_view(store)
        store.close()

    env, models, days = "production", ("gpt-4o-mini-v1.0", "medgemma-4b-v1.0"), 30

    def change_current() -> None:
        store = fresh()
        data.first_view(store, env, models)
        store.close()

    def change_trends() -> None:
        store = fresh()
        data.load_daily(store, env, models, days)
        store.close()

    def change_comparison() -> None:
        store = fresh()
        data.load_daily(store, env, models, days, True)
        data.load_model_stats(store, env, models, days)
        store.close()

    def change_all_time() -> None:
        store = fresh()
        data.load_daily(store, None, (), None, True)
        data.load_model_stats(store, None, (), None)
        store.close()

    return [
        ("first view: sidebar choices + Current Snapshot (all data)", timed(first, repeat)),
        ("filter change, Current Snapshot (env + 2 models)", timed(change_current, repeat)),
        (
            "filter change, Performance Trends (env + 2 models + 30 days)",
            timed(change_trends, repeat),
        ),
        (
            "filter change, Model Comparison (env + 2 models + 30 days)",
            timed(change_comparison, repeat),
        ),
        (
            "Model Comparison, all environments, all time (10,000 snapshots)",
            timed(change_all_time, repeat),
        ),
    ]


def bench_browser(url: str, repeat: int) -> list[tuple[str, float]]:
    """(label, seconds) of the real page in headless Chromium."""
    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, DashboardServer, cells

    loads, changes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        server = DashboardServer(Path(tmp), {"BENCHQ_STORE_URL": url})
        pw = sync_playwright().start()
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(repeat):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start = time.perf_counter()
                page.goto(server.url)
                page.locator(".tabulator-cell[tabulator-field='environment']").first.wait_for(
                    timeout=60_000
                )
                loads.append(time.perf_counter() - start)
                group = page.locator("div.bk-input-group:has(> label:text-is('Environment'))")
                start = time.perf_counter()
                group.first.locator("select").select_option("staging")
                while set(cells(page, "environment")) != {"staging"}:
                    page.wait_for_timeout(10)
                changes.append(time.perf_counter() - start)
                page.close()
            browser.close()
        finally:
            pw.stop()
            server.stop()
    return [
        ("browser: open page until the configurations table shows", statistics.median(loads)),
        ("browser: choose an environment until the table shows it", statistics.median(changes)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=50, help="case results per snapshot")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-url", help="an empty database to fill (default: a throwaway one)")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    cluster = None
    url = args.pg_url
    if url is None:
        from pg_fixtures import PgCluster

        cluster = PgCluster()
        cluster.admin("CREATE DATABASE bench")
        url = cluster.url("bench")
    try:
        upgrade(url)
        start = time.perf_counter()
        fill(url, args.snapshots, args.cases)
        fill_s = time.perf_counter() - start
        results = bench_queries(url, args.repeat)
        if not args.no_browser:
            results += bench_browser(url, max(1, args.repeat // 2))
    finally:
        if cluster is not None:
            cluster.stop()
    print(
        f"{args.snapshots:,} snapshots, {args.snapshots * args.cases:,} case results "
        f"(filled with COPY in {fill_s:.1f} s); median of {args.repeat} cold runs\n"
    )
    print("| what | seconds |\n| --- | ---: |")
    for label, seconds in results:
        print(f"| {label} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
