"""CPU of moving job messages through kombu's Redis transport, base64 bodies or plain JSON.

Each message is what `benchq run` sends for one job: Celery's JSON body of
`run_cases` with a `CaseBatch` of `--cases` generated cases, the same
headers Celery writes. For each side the script publishes `--messages` of
them to a queue of a private Redis and then consumes and acknowledges them
(kombu `Producer` and `Consumer`, `no_ack=False`, so each delivery is also
recorded as unacknowledged, as a worker's is), on a connection whose
`body_encoding` is kombu's default (`base64`) or benchq's (`None`); the
sides alternate `--repeat` times. Reports this process's CPU (publishing,
then consuming) per message; Redis's own work is not in it.

    .venv/bin/python bench/message_encoding.py --messages 200 --cases 128 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer, Queue

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchq.cases.generate import generate_suite
from benchq.cases.suite import load_suite
from benchq.jobs.messages import CaseBatch, encode
from benchq.local.redis_server import PrivateRedis


def _side(url: str, encoding: str | None, body: object, count: int) -> tuple[float, float]:
    """CPU seconds per message to publish, then to consume and acknowledge, `count` messages."""
    queue = Queue("bench.encoding", Exchange("bench.encoding"), "bench.encoding")
    with Connection(url, transport_options={"body_encoding": encoding}) as conn:
        channel = conn.channel()
        queue(channel).declare()
        producer = Producer(channel)
        started = time.process_time()
        for _ in range(count):
            producer.publish(
                body,
                exchange=queue.exchange,
                routing_key="bench.encoding",
                serializer="json",
                headers={"task": "benchq.run_cases", "argsrepr": "('run',)"},
            )
        published = time.process_time() - started
        seen = 0

        def _received(_body: Any, message: Any) -> None:
            nonlocal seen
            seen += 1
            message.ack()

        started = time.process_time()
        with Consumer(channel, [queue], callbacks=[_received], accept=["json"]):
            while seen < count:
                conn.drain_events(timeout=5)
        consumed = time.process_time() - started
        channel.close()
    return published / count, consumed / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--cases", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="encoding-") as tmp:
        generate_suite(args.cases, 7, Path(tmp) / "suite")
        cases = load_suite(Path(tmp) / "suite").cases
    job = CaseBatch(run_id="run", model_name="medgemma", store="bench", cases=cases)
    # Celery's body of a task: (args, kwargs, embed), args = (the job as JSON text,)
    body = [[encode(job)], {}, {"callbacks": None, "errbacks": None, "chain": None}]
    sides: dict[str, str | None] = {"base64": "base64", "plain": None}
    seen: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    redis = PrivateRedis()
    url = redis.start()
    try:
        for i in range(args.repeat):
            order = list(sides.items())
            for side, encoding in order if i % 2 == 0 else order[::-1]:
                publish, consume = _side(url, encoding, body, args.messages)
                seen[side].append((publish, consume))
                print(json.dumps({"repeat": i, "side": side, "publish_ms": publish * 1e3,
                                  "consume_ms": consume * 1e3}))  # fmt: skip
    finally:
        redis.stop()

    def spread(values: list[float], scale: float = 1e3, digits: int = 2) -> str:
        low, mid, high = (
            f"{x * scale:.{digits}f}" for x in (min(values), statistics.median(values), max(values))
        )
        return f"{mid} [{low}-{high}]"

    totals = {side: [p + c for p, c in v] for side, v in seen.items()}
    ratios = [b / a for a, b in zip(totals["base64"], totals["plain"], strict=True)]
    print(
        json.dumps(
            {
                "messages": args.messages,
                "cases_a_message": args.cases,
                "message_bytes": len(json.dumps(body)),
                **{f"{s}_publish_ms": spread([p for p, _ in v]) for s, v in seen.items()},
                **{f"{s}_consume_ms": spread([c for _, c in v]) for s, v in seen.items()},
                "plain_ratio": spread(ratios, scale=1, digits=3),
            }
        )
    )


if __name__ == "__main__":
    main()
