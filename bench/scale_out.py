"""Scaling out: throughput with worker processes on one host, then on two, one model server.

    .venv/bin/python bench/scale_out.py --cases 4000 --repeat 3

Uses the two-host setup of tests/test_scale_out.py: two network namespaces
joined by a veth pair (needs root with CAP_NET_ADMIN). Host A runs
redis-server (password, TCP on A's address only) and the stand-in model
server (answering after `--delay`, on A's address, so both hosts call the
same server); each host runs `--workers-per-host` worker processes with
`--concurrency` calls in flight each; the producer (`benchq enqueue`) runs on
host B. The store is one SQLite file both hosts share. For each repetition
it runs the same suite with host A's workers alone, then with both hosts'
(every worker started and ready before the enqueue), and reports cases per
second (run duration: enqueue to the aggregate stored and published,
`run_window.py`) and the ratio two / one.

Both "hosts" share this machine's cores: the ratio says how much a second
host adds when the work is waiting on the model, not what a second machine's
own cores would add on top.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from run_window import run_window  # noqa: E402

from benchq.cases.generate import generate_suite  # noqa: E402
from benchq.local.process import spawn, stop  # noqa: E402
from benchq.local.worker_pool import celery_worker_args, worker_argv, worker_env  # noqa: E402
from benchq.store.sqlite import SQLiteStore  # noqa: E402
from tests.test_scale_out import Fleet, _can_make_namespaces, _namespaces  # noqa: E402

QUEUES = ["benchq.publish", "benchq.provider.medgemma"]


@contextlib.contextmanager
def _standin_on_host_a(fleet: Fleet, delay: float) -> Iterator[str]:
    address = fleet.broker_url.rsplit("@", 1)[1].split(":")[0]
    proc = subprocess.Popen(
        [*fleet.hosts[0].prefix, sys.executable, str(ROOT / "bench" / "standin_serve.py"),
         "--delay", str(delay), "--host", address],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


def _env(fleet: Fleet, db: Path, url: str, concurrency: int, batch: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("BENCHQ_")},
        "BENCHQ_BROKER_URL": fleet.broker_url,
        "BENCHQ_STORE_URL": f"sqlite:///{db}",
        "BENCHQ_MEDGEMMA_BASE_URL": url,
        # The fleet limit is not what is measured here.
        "BENCHQ_MODEL__MEDGEMMA__CONCURRENCY": "10000",
        "BENCHQ_RESPONSE_CACHE": "false",
        "PYTHONPATH": str(ROOT),
        **worker_env(concurrency, batch),
    }


def _run(
    fleet: Fleet, hosts: int, suite: Path, work: Path, url: str, args: argparse.Namespace
) -> float:
    """Cases per second of one run with the workers of the first `hosts` hosts."""
    db = work / "benchq.db"
    SQLiteStore(db).close()
    env = _env(fleet, db, url, args.concurrency, args.batch_size)
    started = []
    for host in fleet.hosts[:hosts]:
        for i in range(args.workers_per_host):
            log = work / f"{host.name}-{i}.log"
            argv = worker_argv(celery_worker_args(
                name=f"{host.name}-{i}@scale", queues=QUEUES, pool="threads",
                concurrency=args.concurrency, batch_size=args.batch_size, loglevel="INFO",
            ))  # fmt: skip
            started.append((spawn([*host.prefix, *argv], env=env, log_path=str(log)), log))
    try:
        deadline = time.monotonic() + 120
        for proc, log in started:
            while " ready." not in (log.read_text(errors="replace") if log.exists() else ""):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"worker did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        run_id = f"scale-{hosts}-{int(time.time())}"
        subprocess.run(
            [*fleet.hosts[1].prefix, sys.executable, "-m", "benchq.cli", "enqueue", "--suite",
             str(suite), "--models", "medgemma", "--run-id", run_id, "--wait"],
            env=env, check=True, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
    finally:
        for proc, _ in started:
            proc.terminate()
        for proc, _ in started:
            stop(proc, timeout=15.0)
    with sqlite3.connect(db) as conn:
        window = run_window(conn, run_id, model="medgemma")
        (errors,) = conn.execute(
            "SELECT count(error_message) FROM benchmark_case_results WHERE run_id=?", (run_id,)
        ).fetchone()
    if errors:
        raise SystemExit(f"{errors} case errors in {run_id}")
    return args.cases / (window.end - window.start)


def main() -> None:
    """Measure one host, then two, `--repeat` times; print JSON lines and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--workers-per-host", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="Calls in flight a worker.")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not _can_make_namespaces():
        raise SystemExit("needs root with CAP_NET_ADMIN (ip netns add)")
    ratios: list[float] = []
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        tmp_path = Path(tmp)
        suite = tmp_path / "suite"
        generate_suite(args.cases, 5, suite)
        with _namespaces(tmp_path) as fleet, _standin_on_host_a(fleet, args.delay) as url:
            for rep in range(args.repeat):
                row = {}
                for hosts in (1, 2):
                    work = tmp_path / f"run-{rep}-{hosts}"
                    work.mkdir()
                    row[hosts] = _run(fleet, hosts, suite, work, url, args)
                    rates[hosts].append(row[hosts])
                ratios.append(row[2] / row[1])
                print(json.dumps({"repeat": rep + 1, "cases_per_second": row,
                                  "ratio": round(ratios[-1], 3)}), flush=True)  # fmt: skip
    print(json.dumps({
        "cases": args.cases, "delay_s": args.delay, "workers_per_host": args.workers_per_host,
        "calls_in_flight_per_host": args.workers_per_host * args.concurrency,
        "one_host_cases_per_second": [round(r, 1) for r in rates[1]],
        "two_hosts_cases_per_second": [round(r, 1) for r in rates[2]],
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
