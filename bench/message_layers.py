"""What the JSON of one job costs, layer by layer, from the producer to the store writer.

A job of `--cases` generated cases and the results its worker hands over
(each case scored against the stand-in's answer, the one `bench/fanout.py`
gets back) are encoded and decoded the way they travel: the payload by
pydantic (`jobs/messages`), inside Celery's body (`[args, kwargs, embed]`,
kombu's JSON), inside kombu's Redis envelope (`body_encoding` None), and
the decoded envelope written once more as kombu's Redis transport records
a message it delivered as unacknowledged (`QoS.append`). No Redis and no
Celery: the CPU of each step alone, on this process (median of `--repeat`
rounds of `--loops` each).

    .venv/bin/python bench/message_layers.py --cases 128 --repeat 5
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kombu.utils.json import dumps, loads

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchq.cases.generate import generate_suite  # noqa: E402
from benchq.cases.suite import load_suite  # noqa: E402
from benchq.jobs.messages import CaseBatch, SaveCases, decode, encode  # noqa: E402
from benchq.providers.answer import parse_answer  # noqa: E402
from benchq.providers.base import ModelAnswer  # noqa: E402
from benchq.scoring.case import score_case  # noqa: E402
from tests.standin.server import VALID_ANSWER  # noqa: E402


def _envelope(payload: str) -> str:
    """A task message as kombu's Redis transport stores it, around one JSON-text argument."""
    body = dumps([[payload], {}, {"callbacks": None, "errbacks": None, "chain": None}])
    return str(
        dumps(
            {
                "body": body,
                "content-encoding": "utf-8",
                "content-type": "application/json",
                "headers": {"lang": "py", "task": "benchq.run_cases", "argsrepr": "(...)"},
                "properties": {"body_encoding": None, "delivery_tag": "0" * 36},
            }
        )
    )


def _cpu_ms(step: Callable[[], object], loops: int) -> float:
    step()
    started = time.process_time()
    for _ in range(loops):
        step()
    return (time.process_time() - started) / loops * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--loops", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="message-layers-") as tmp:
        generate_suite(args.cases, 5, Path(tmp))
        cases = load_suite(Path(tmp)).cases
    text = json.dumps(VALID_ANSWER)
    parsed = parse_answer(text)
    answer = ModelAnswer(issues=parsed.issues, facts=parsed.facts, raw_output=text)
    results = [
        score_case(
            case_id=c.id,
            truth=c.truth,
            answer=answer,
            run_id="r",
            model_name="medgemma",
            worker="w",
            finished_at="2026-12-02T04:00:00+00:00",
        )
        for c in cases
    ]
    job = CaseBatch(run_id="r", model_name="medgemma", store="s", cases=cases)
    handed = SaveCases(run_id="r", model_name="medgemma", store="s", results=results)
    job_text, handed_text = encode(job), encode(handed)
    job_env, handed_env = _envelope(job_text), _envelope(handed_text)
    # kombu keeps a delivered message's decoded envelope as unacknowledged (QoS.append)
    job_raw, handed_raw = loads(job_env), loads(handed_env)
    job_body, handed_body = job_raw["body"], handed_raw["body"]
    gc.collect()
    gc.freeze()  # as in a worker: what is loaded is out of the collector's passes
    steps: dict[str, Callable[[], object]] = {
        "producer: job payload (pydantic)": lambda: encode(job),
        "producer: Celery body and kombu envelope": lambda: _envelope(job_text),
        "model worker: envelope read": lambda: loads(job_env),
        "model worker: unacknowledged copy written": lambda: dumps([job_raw, "", "q"]),
        "model worker: body read": lambda: loads(job_body),
        "model worker: job payload read (pydantic)": lambda: decode(CaseBatch, job_text),
        "model worker: results payload (pydantic)": lambda: encode(handed),
        "model worker: results body and envelope": lambda: _envelope(handed_text),
        "store writer: envelope read": lambda: loads(handed_env),
        "store writer: unacknowledged copy written": lambda: dumps([handed_raw, "", "q"]),
        "store writer: body read": lambda: loads(handed_body),
        "store writer: results payload read (pydantic)": lambda: decode(SaveCases, handed_text),
    }
    seen: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.repeat):
        for name, step in steps.items():
            seen[name].append(_cpu_ms(step, args.loops))
    total = 0.0
    for name, values in seen.items():
        median = statistics.median(values)
        total += median
        print(json.dumps({"step": name, "cpu_ms": round(median, 3),
                          "range": [round(min(values), 3), round(max(values), 3)]}))  # fmt: skip
    print(
        json.dumps(
            {
                "cases": args.cases,
                "job_payload_bytes": len(job_text),
                "job_envelope_bytes": len(job_env),
                "results_payload_bytes": len(handed_text),
                "results_envelope_bytes": len(handed_env),
                "cpu_ms_per_job": round(total, 2),
                "cpu_ms_per_case": round(total / args.cases, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
