"""How long `benchq run`'s workers take to answer their first ping, two ways of pinging.

Starts a private Redis, then, `--repeat` times, two local workers (through
the zygote, as `benchq run` does) for the medgemma queue and the publish
queue, and times `WorkerPool.wait_ready` from the pool's start until both
answered a ping: with kombu's default wait for the replies (a BRPOP of 1 s,
what every start had before) and with `benchq run`'s
(`PRIVATE_REPLY_POLL_SECONDS`). The two alternate, so both sides see the
same machine. Prints one JSON line per start, then a summary line with the
median [range] of each side and of the pair-by-pair ratio.

    .venv/bin/python bench/worker_ready.py --repeat 8
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchq.config.settings import Settings
from benchq.jobs.celery_app import make_app
from benchq.jobs.names import PUBLISH_QUEUE, provider_queue
from benchq.local.redis_server import PrivateRedis
from benchq.local.runtime import PRIVATE_POLL_SECONDS, PRIVATE_REPLY_POLL_SECONDS
from benchq.local.worker_pool import WorkerPool


def _start(url: str, logs: Path, reply_poll: float | None) -> float:
    env = {
        "BENCHQ_BROKER_URL": url,
        "BENCHQ_MEDGEMMA_BASE_URL": "http://127.0.0.1:9/v1",  # never called
        "BENCHQ_WORKER_POLL_SECONDS": str(PRIVATE_POLL_SECONDS),
    }
    pool = WorkerPool(
        count=2,
        env=env,
        queues=[provider_queue("medgemma"), PUBLISH_QUEUE],
        concurrency=128,
        batch_size=128,
        log_dir=logs,
        reply_poll_seconds=reply_poll,
    )
    app = make_app(Settings(broker_url=url))
    started = time.perf_counter()
    pool.start()
    try:
        if not pool.wait_ready(app):
            raise SystemExit(f"the workers did not answer: see {logs}")
        return time.perf_counter() - started
    finally:
        pool.stop()


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=8)
    args = parser.parse_args()
    sides = {"kombu_default": None, "benchq_run": PRIVATE_REPLY_POLL_SECONDS}
    seen: dict[str, list[float]] = {side: [] for side in sides}
    redis = PrivateRedis()
    url = redis.start()
    try:
        with tempfile.TemporaryDirectory(prefix="worker-ready-") as tmp:
            for i in range(args.repeat):
                order = list(sides.items())
                for side, poll in order if i % 2 == 0 else order[::-1]:
                    # each side goes first in every other pair, in case the order matters
                    seconds = _start(url, Path(tmp) / f"{side}-{i}", poll)
                    seen[side].append(seconds)
                    print(json.dumps({"repeat": i, "side": side, "ready_seconds": seconds}))
    finally:
        redis.stop()
    ratios = [b / a for a, b in zip(seen["kombu_default"], seen["benchq_run"], strict=True)]
    print(
        json.dumps(
            {
                "starts": args.repeat,
                "load_average": os.getloadavg()[0],
                **{f"{side}_ready_seconds": _summary(v) for side, v in seen.items()},
                "benchq_run_ratio": _summary(ratios),
            }
        )
    )


if __name__ == "__main__":
    main()
