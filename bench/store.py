"""Rows per second of `save_case_results`: SQLite, Postgres, and a plain COPY baseline.

    .venv/bin/python bench/store.py [--rows 10000] [--repeat 3] [--pg-url URL]

Without `--pg-url` a throwaway PostgreSQL 15 cluster is started (the test
suite's, from tests/pg_fixtures.py: unix socket, fsync off) and removed after.
Each figure is the median of `--repeat` runs, each into an empty run id, so
every row is a fresh insert; the "redelivery" line re-saves rows that exist
(the upsert path a redelivered chord takes). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchq.scoring.schema import CaseResult  # noqa: E402
from benchq.store.postgres import PostgresStore, _case_row  # noqa: E402
from benchq.store.sqlite import SQLiteStore  # noqa: E402


def make_rows(run_id: str, n: int) -> list[CaseResult]:
    """`n` realistic case results (about 1 kB of raw model output each)."""
    raw = '{"issues": [{"type": "duplicate_charge", "summary": "' + "x" * 900 + '"}]}'
    return [
        CaseResult(
            document_name=f"bill-{i:06d}",
            document_type="medical_bill",
            extraction_success=True,
            extraction_latency_ms=850.0,
            pipeline_latency_ms=900.0,
            issues_detected=2,
            issues_expected=2,
            true_positives=1,
            false_positives=1,
            false_negatives=1,
            json_valid=True,
            run_id=run_id,
            model_name="openai",
            detected_types=["duplicate_charge", "overbilling"],
            expected_types=["duplicate_charge", "unbundling"],
            raw_output=raw,
        )
        for i in range(n)
    ]


def timed(action: Callable[[list[CaseResult]], None], n: int, repeat: int) -> float:
    """Median seconds of `repeat` calls, each given a fresh run of `n` results.

    The results are built before the clock starts: every path is timed from
    `CaseResult` objects to committed rows, conversion included.
    """
    times = []
    for _ in range(repeat):
        rows = make_rows(uuid.uuid4().hex, n)
        start = time.perf_counter()
        action(rows)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(pg_url: str, n: int, repeat: int) -> list[tuple[str, float]]:
    """(label, seconds) for each measured path."""
    out: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SQLiteStore(Path(tmp) / "bench.db")
        out.append(("SQLite save_case_results", timed(sqlite.save_case_results, n, repeat)))
        sqlite.close()

    pg = PostgresStore(pg_url)
    out.append(
        ("Postgres save_case_results (COPY + upsert)", timed(pg.save_case_results, n, repeat))
    )

    def redeliver(rows: list[CaseResult]) -> None:
        pg.save_case_results(rows)  # untimed: afterwards every row exists already
        start = time.perf_counter()
        pg.save_case_results(rows)
        redelivery.append(time.perf_counter() - start)

    redelivery: list[float] = []
    for _ in range(repeat):
        redeliver(make_rows(uuid.uuid4().hex, n))
    out.append(
        ("Postgres save_case_results, redelivery (all rows exist)", statistics.median(redelivery))
    )
    conn = pg._conn()  # the bench measures the driver path itself, beside the store
    columns = (
        "run_id, model_name, case_id, document_type, extraction_success, json_valid, "
        "true_positives, false_positives, false_negatives, error_message, raw_output, result"
    )

    def executemany(results: list[CaseResult]) -> None:
        rows = [_case_row(r) for r in results]
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO benchmark_case_results ({columns}) ".encode()
                + b"VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                b"ON CONFLICT (run_id, model_name, case_id) DO UPDATE SET result = excluded.result",
                rows,
            )

    out.append(("Postgres executemany upsert (no COPY)", timed(executemany, n, repeat)))

    conn.execute(b"CREATE TABLE IF NOT EXISTS bench_copy (LIKE benchmark_case_results)")

    def plain_copy(results: list[CaseResult]) -> None:
        rows = [_case_row(r) for r in results]
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(f"COPY bench_copy ({columns}) FROM STDIN".encode()) as copy,
        ):
            for row in rows:
                copy.write_row(row)

    out.append(("Postgres plain COPY (no keys, no upsert)", timed(plain_copy, n, repeat)))
    conn.execute(b"DROP TABLE bench_copy")
    pg.close()
    return out


def main() -> None:
    """Parse flags, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-url", default=None, help="a migrated database; default: throwaway")
    args = parser.parse_args()
    cluster = None
    url = args.pg_url
    if url is None:
        from pg_fixtures import get_cluster

        cluster = get_cluster()
        url = cluster.new_database()
    try:
        results = bench(url, args.rows, args.repeat)
    finally:
        if cluster is not None:
            cluster.stop()
    copy_rate = args.rows / dict(results)["Postgres plain COPY (no keys, no upsert)"]
    print(f"{args.rows} case results, median of {args.repeat}\n")
    print("| path | seconds | rows/s | vs plain COPY |")
    print("| --- | ---: | ---: | ---: |")
    for label, seconds in results:
        rate = args.rows / seconds
        print(f"| {label} | {seconds:.3f} | {rate:,.0f} | {rate / copy_rate:.2f} |")


if __name__ == "__main__":
    main()
