"""When a benchq run began and ended, read from its store (the benchmarks' definition).

A run begins when the producer enqueues it and ends, for its reader, when
its aggregate is stored and published as a snapshot. The summary's
`finished_at` and `duration_seconds` are stamped as the aggregate step
starts, before it reads the results back, so they alone would leave the
aggregate's time and CPU out of a run's figures.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import NamedTuple


class RunWindow(NamedTuple):
    """Epoch seconds: enqueued, aggregate step started, snapshot published."""

    start: float
    aggregate_started: float
    end: float


def run_window(conn: sqlite3.Connection, run_id: str, *, model: str) -> RunWindow:
    """The window of a one-model run of `model`; SystemExit when it published no snapshot.

    The end is the run's first published snapshot: with one model, its own.
    """
    monitoring, finished = conn.execute(
        "SELECT monitoring, finished_at FROM benchmark_run_models WHERE run_id=? AND model_name=?",
        (run_id, model),
    ).fetchone()
    published = conn.execute(
        "SELECT min(created_at) FROM benchmark_transactions WHERE benchq_run_id=?", (run_id,)
    ).fetchone()[0]
    if published is None:
        raise SystemExit(f"benchq run {run_id} published no snapshot")
    aggregate_started = datetime.fromisoformat(finished).timestamp()
    start = aggregate_started - float(json.loads(monitoring)["duration_seconds"])
    return RunWindow(start, aggregate_started, datetime.fromisoformat(published).timestamp())
