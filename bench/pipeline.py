"""End-to-end cases per second of a baseline run, against a no-op Celery task, on one Redis.

    .venv/bin/python bench/pipeline.py --cases 2000 --workers 2

Both measurements use the same private redis-server and the same worker
processes (the embedded default's command line: threads pool). The no-op is
`--cases` messages of `benchq.ping`, one task each; the pipeline is a real
`benchq` run of the baseline model on `--cases` generated cases, sent as jobs
of `--batch-size` cases (the default of BENCHQ_BATCH_SIZE; 1 sends one message
per case, as the no-op does), from the first message sent until the run is
published (chord callback done). Prints like-for-like ratios, median and
range over the repetitions:

- per message: Celery messages the pipeline moves per second (a job and its
  `save_cases` hand-over each, plus the model's aggregate, publish and
  verdict) against no-op messages per second;
- per case: cases scored and stored per second against no-op messages per
  second, i.e. against a floor of one empty message per case. With
  `--batch-size 1` (the design card's shape, one message per (model,
  case)) the two differ only by the hand-over message.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchq.cases.generate import generate_suite
from benchq.cases.suite import load_suite
from benchq.config.settings import Settings
from benchq.jobs.celery_app import make_app
from benchq.jobs.names import PUBLISH_QUEUE
from benchq.jobs.target import worker_environment
from benchq.local.redis_server import PrivateRedis
from benchq.local.worker_pool import WorkerPool
from benchq.producers.enqueue import enqueue_run
from benchq.producers.models import all_queues, resolve_models
from benchq.producers.plan import plan_run
from benchq.producers.wait import wait_for_run
from benchq.store.factory import open_target, resolve_store_target


def measure_noop(settings: Settings, n: int, client: redis.Redis) -> float:  # type: ignore[type-arg]
    """Seconds to run n no-op tasks: first send to last result stored."""
    app = make_app(settings)
    ping = app.signature("benchq.ping", queue=PUBLISH_QUEUE)
    start = time.perf_counter()
    ids = [ping.apply_async().id for _ in range(n)]
    keys = [f"celery-task-meta-{i}" for i in ids]
    while True:
        done = sum(1 for v in client.mget(keys) if v is not None)
        if done >= n:
            return time.perf_counter() - start
        time.sleep(0.05)


def measure_pipeline(settings: Settings, suite_dir: Path) -> tuple[float, int]:
    """Seconds for a baseline run of the suite, first send to run published; and case count."""
    suite = load_suite(suite_dir)
    plan = plan_run(suite, resolve_models(["baseline"], settings), batch_size=settings.batch_size)
    target = resolve_store_target(settings)
    store = open_target(target)
    app = make_app(settings)
    start = time.perf_counter()
    enqueue_run(app, plan, store, store_identity=target.identity)
    wait_for_run(store, plan.run_id, poll_seconds=0.05, timeout=600)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed, plan.case_count


def main() -> None:
    """Run both measurements and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pool", choices=["threads", "prefork", "solo"], default="threads")
    parser.add_argument("--batch-size", type=int, default=Settings().batch_size)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="benchq-bench-") as tmp, PrivateRedis() as server:
        tmpdir = Path(tmp)
        suite = tmpdir / "suite"
        generate_suite(args.cases, 42, suite)
        settings = Settings(  # type: ignore[call-arg]
            broker_url=server.url,
            store_url=f"sqlite:///{tmpdir / 'bench.db'}",
            worker_concurrency=args.concurrency,
            batch_size=args.batch_size,
        )
        env = worker_environment(settings, resolve_store_target(settings))
        client = redis.Redis(unix_socket_path=str(server.socket_path))
        with WorkerPool(
            count=args.workers,
            env=env,
            queues=all_queues(settings),
            pool=args.pool,
            concurrency=args.concurrency,
            batch_size=args.batch_size,
        ) as pool:
            if not pool.wait_ready(make_app(settings)):
                raise SystemExit("workers did not come up")
            noop, pipe = [], []
            for _ in range(args.repeat):
                noop.append(measure_noop(settings, args.cases, client))
                seconds, cases = measure_pipeline(settings, suite)
                pipe.append(seconds)
        jobs = -(-cases // args.batch_size)
        messages = 2 * jobs + 3
        noop_rate = [args.cases / x for x in noop]
        per_case = [cases / p / (args.cases / n) for p, n in zip(pipe, noop, strict=True)]
        per_msg = [messages / p / (args.cases / n) for p, n in zip(pipe, noop, strict=True)]
        print(
            json.dumps(
                {
                    "cases": args.cases,
                    "workers": args.workers,
                    "concurrency": args.concurrency,
                    "pool": args.pool,
                    "batch_size": args.batch_size,
                    "pipeline_messages": messages,
                    "noop_seconds": [round(x, 3) for x in noop],
                    "pipeline_seconds": [round(x, 3) for x in pipe],
                    "noop_messages_per_s_median": round(statistics.median(noop_rate), 1),
                    "pipeline_cases_per_s_median": round(
                        statistics.median([cases / p for p in pipe]), 1
                    ),
                    "ratio_per_case": _med_range(per_case),
                    "ratio_per_message": _med_range(per_msg),
                },
                indent=2,
            )
        )


def _med_range(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


if __name__ == "__main__":
    main()
