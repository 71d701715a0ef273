"""The benchmarks' run window (bench/run_window.py) holds a run's work, aggregate included."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from tests.pipeline_helpers import cli

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from run_window import run_window


def test_the_window_runs_from_enqueue_past_the_aggregate_to_the_snapshot(clean_env: Path) -> None:
    suite = clean_env / "bills"
    generate_suite(8, 5, suite)
    proc = subprocess.run(
        cli("run", "--suite", str(suite), "--models", "baseline", "--workers", "1"),
        capture_output=True, text=True, timeout=240, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with sqlite3.connect(clean_env / "benchq.db") as conn:
        (run_id,) = conn.execute("SELECT run_id FROM benchmark_runs").fetchone()
        window = run_window(conn, run_id, model="baseline")
        finished = [
            datetime.fromisoformat(f).timestamp()
            for (f,) in conn.execute(
                "SELECT json_extract(result, '$.finished_at') FROM benchmark_case_results"
            )
        ]
        (published,) = conn.execute(
            "SELECT created_at FROM benchmark_transactions WHERE benchq_run_id=?", (run_id,)
        ).fetchone()
    assert len(finished) == 8
    # Every case was scored inside the window, before the aggregate began;
    # the window ends with the published snapshot, after the aggregate.
    assert window.start <= min(finished)
    assert max(finished) <= window.aggregate_started <= window.end
    assert window.end == datetime.fromisoformat(published).timestamp()

    with sqlite3.connect(clean_env / "benchq.db") as conn:
        conn.execute("DELETE FROM benchmark_transactions")
        with pytest.raises(SystemExit, match=f"{run_id} published no snapshot"):
            run_window(conn, run_id, model="baseline")
