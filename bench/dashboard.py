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
* Regression Detection: the paired verdict of every configuration against
  its baseline (20 configurations of 50 cases), as the view computes them;
* Performance Trends' change points: one configuration's history (about 500
  snapshots; the newest 250 searched) for F1, latency and cost, over all time
  and over the last 30 days;
* the Run Explorer on one run of `--explore-cases` cases (default 1,000) by
  4 models, stored beside the history with documents: the data of opening
  it (every cell, the grid, the totals), of a filter (outcome, and a text
  search in the documents), and of opening one case;
* unless `--no-browser`: the real page in headless Chromium, from navigation
  to the configurations table on screen, and from choosing an environment
  to the table showing only that environment; and the explorer: from
  navigation (`?run=`) to its grid on screen, from choosing an outcome
  filter to the grid showing only those cases, and from a text search to
  the grid narrowed to it.

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
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import psycopg  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from benchq.dashboard import data  # noqa: E402
from benchq.dashboard.explorer_grid import filter_grid  # noqa: E402
from benchq.producers.enqueue import case_documents  # noqa: E402
from benchq.report.outcomes import model_totals  # noqa: E402
from benchq.store.migrate import upgrade  # noqa: E402
from benchq.store.postgres import PostgresStore  # noqa: E402
from benchq.store.schema import RunRecord, RunStatus  # noqa: E402

EXPLORE_RUN = "run-explore"

MODELS = ("gpt-4o-mini", "gemini-2.0-flash", "medgemma-4b", "claude-haiku", "baseline")
ENVIRONMENTS = ("local", "github-actions", "staging", "production")
TYPES = ("duplicate_charge", "overbilling", "unbundling", "upcoding")


def fill(url: str, snapshots: int, cases: int, seed: int = 1) -> None:
    """Write the history with COPY: runs, summaries, transactions, snapshots, case results.

    Snapshot and transaction ids are UUIDs (the original schema's type); snapshot
    N and its transaction both get `UUID(int=N)`, one in each table.
    """
    rng = random.Random(seed)
    runs = snapshots // len(MODELS)
    now = datetime.now(UTC)
    versions: dict[tuple[str, str], int] = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY benchmark_runs (run_id, suite, models, cases_per_model, created_at, status, "
            "record) FROM STDIN"
        ) as runs_copy:
            for r in range(runs):
                record = RunRecord(
                    run_id=f"run-{r}",
                    suite="bench",
                    models=list(MODELS),
                    cases_per_model=cases,
                    created_at=now.isoformat(),
                    status=RunStatus.done,
                ).model_dump(mode="json")
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
                            UUID(int=sid),
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
                        UUID(int=sid),
                        version,
                        when,
                        f"{model}-v1.0",
                        "benchmark-set-v1",
                        "v1",
                        environment,
                        UUID(int=sid),
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


def fill_explorer_run(url: str, cases: int, seed: int = 5) -> str:
    """One run of `cases` generated bills by 4 models, written through the store as a run is.

    Returns a word that some documents contain and others do not, for the
    text search.
    """
    from dashboard_history import MODELS, answer

    from benchq.cases.generate import generate_cases

    rng = random.Random(seed)
    suite = generate_cases(cases, seed)
    store = PostgresStore(url)
    store.create_run(
        RunRecord(
            run_id=EXPLORE_RUN,
            suite="bench-explore",
            models=[m.name for m in MODELS],
            cases_per_model=cases,
            created_at=datetime.now(UTC).isoformat(),
        )
    )
    store.save_case_documents(EXPLORE_RUN, case_documents(suite))
    for model in MODELS:
        results = [answer(rng, model, c, model.skill) for c in suite]
        for r in results:
            r.run_id = EXPLORE_RUN
        store.save_case_results(results)
    store.close()
    return "Cedar"


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

    def regressions() -> None:
        store = fresh()
        for r in data.load_configurations(store, None).itertuples(index=False):
            key = (r.model_version, r.dataset_version, r.prompt_version, r.environment)
            data.load_verdict(
                store, key, int(r.current_version), int(r.baseline_version), 0.05, 0.01
            )
        store.close()

    config = ("gpt-4o-mini-v1.0", "benchmark-set-v1", "v1", "production")

    def changes_all_time() -> None:
        store = fresh()
        data.load_changes(store, config, None)
        store.close()

    def changes_30_days() -> None:
        store = fresh()
        data.load_changes(store, config, 30)
        store.close()

    def explore_open() -> None:
        store = fresh()
        cells = data.load_run_cells(store, EXPLORE_RUN)
        grid = data.load_run_grid(store, EXPLORE_RUN)
        summaries = data.load_run_summaries(store, EXPLORE_RUN)
        model_totals(cells, {s.model_name: s.aggregated for s in summaries})
        filter_grid(grid)
        store.close()

    warm = fresh()
    grid = data.load_run_grid(warm, EXPLORE_RUN)  # loaded when the run opened

    def explore_filter() -> None:
        hits = data.load_search(warm, EXPLORE_RUN, "Cedar")
        filter_grid(grid, outcomes=["error", "missed"], case_ids=hits)

    def explore_case() -> None:
        store = fresh()
        data.load_case(store, EXPLORE_RUN, "doc_0500")
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
        ("Regression Detection: paired verdicts of 20 configurations", timed(regressions, repeat)),
        (
            "Performance Trends: change points of one configuration, all time (newest 250)",
            timed(changes_all_time, repeat),
        ),
        (
            "Performance Trends: change points of one configuration, last 30 days",
            timed(changes_30_days, repeat),
        ),
        ("explorer: open the run (cells, grid, totals)", timed(explore_open, repeat)),
        (
            "explorer: filter (outcome + text search in the documents)",
            timed(explore_filter, repeat),
        ),
        ("explorer: open one case (document + 4 answers)", timed(explore_case, repeat)),
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


def bench_explorer_browser(
    url: str, repeat: int, expected: dict[str, set[str]]
) -> list[tuple[str, float]]:
    """(label, seconds) of the Run Explorer in headless Chromium, on the big run.

    `expected` holds the case ids each filter must leave (computed from the
    store), so a timing only stops when the grid shows exactly the right cases
    on its first page.
    """
    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, DashboardServer, cells

    opens, alone, outcome_filters, searches = [], [], [], []

    def first_page(page: Any, want: set[str]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shown = cells(page, "case")
            if shown and set(shown) <= want and len(shown) == min(len(want), 25):
                return
            page.wait_for_timeout(10)
        raise RuntimeError("the grid did not show the filtered cases")

    with tempfile.TemporaryDirectory() as tmp:
        server = DashboardServer(Path(tmp), {"BENCHQ_STORE_URL": url})
        pw = sync_playwright().start()
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            grid_cell = ".tabulator-cell[tabulator-field='disagreement']"
            for _ in range(repeat):
                # The explorer alone (`/explore?run=`): what a link to a run opens.
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start = time.perf_counter()
                page.goto(f"{server.url}explore?run={EXPLORE_RUN}")
                page.locator(grid_cell).first.wait_for(timeout=60_000)
                alone.append(time.perf_counter() - start)
                page.close()
                # The whole dashboard with the explorer's tab in front (`/?run=`).
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start = time.perf_counter()
                page.goto(f"{server.url}?run={EXPLORE_RUN}")
                page.locator(grid_cell).first.wait_for(timeout=60_000)
                opens.append(time.perf_counter() - start)
                group = page.locator("div.bk-input-group:has(> label:text-is('Outcome'))").first
                start = time.perf_counter()
                group.locator("select").select_option("error")
                first_page(page, expected["error"])
                outcome_filters.append(time.perf_counter() - start)
                box = page.locator(
                    "div.bk-input-group:has(> label:text-is('Document contains (Enter)'))"
                ).locator("input")
                box.fill("Cedar")
                start = time.perf_counter()
                box.press("Enter")
                first_page(page, expected["error+Cedar"])
                searches.append(time.perf_counter() - start)
                page.close()
            browser.close()
        finally:
            pw.stop()
            server.stop()
    return [
        (
            "browser: open `/explore?run=` until the grid shows (first, cold)",
            alone[0],
        ),
        ("browser: open `/explore?run=` until the grid shows", statistics.median(alone)),
        ("browser: open the dashboard at `/?run=` until the grid shows", statistics.median(opens)),
        (
            "browser: choose an outcome filter until the grid shows it",
            statistics.median(outcome_filters),
        ),
        ("browser: search the documents until the grid shows it", statistics.median(searches)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=50, help="case results per snapshot")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-url", help="an empty database to fill (default: a throwaway one)")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument(
        "--explore-cases", type=int, default=1000, help="cases of the run the explorer opens"
    )
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
        fill_explorer_run(url, args.explore_cases)
        fill_s = time.perf_counter() - start
        results = bench_queries(url, args.repeat)
        if not args.no_browser:
            results += bench_browser(url, max(1, args.repeat // 2))
            store = PostgresStore(url)
            cellz = store.run_case_cells(EXPLORE_RUN)
            errored = {c.case_id for c in cellz if not c.extraction_success}
            cedar = store.search_case_documents(EXPLORE_RUN, "Cedar")
            store.close()
            expected = {"error": errored, "error+Cedar": errored & cedar}
            results += bench_explorer_browser(url, max(1, args.repeat // 2), expected)
    finally:
        if cluster is not None:
            cluster.stop()
    print(
        f"{args.snapshots:,} snapshots, {args.snapshots * args.cases:,} case results "
        f"and a run of {args.explore_cases:,} cases x 4 models for the explorer "
        f"(filled in {fill_s:.1f} s); median of {args.repeat} cold runs\n"
    )
    print("| what | seconds |\n| --- | ---: |")
    for label, seconds in results:
        print(f"| {label} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
