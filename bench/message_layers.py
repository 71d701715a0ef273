"""What the JSON of one job costs, layer by layer, from the producer to the store writer.

A job of `--cases` generated cases and the results its worker hands over
(each case scored against the stand-in's answer, the one `bench/fanout.py`
gets back) are encoded and decoded the way they travel: the payload by
pydantic (`jobs/messages`), inside the task body (`(args, kwargs, embed)`:
benchq's body format, `jobs/body`, or Celery's JSON serializer as before
it), inside kombu's Redis envelope (`body_encoding` None), and the decoded
envelope written once more as kombu's Redis transport records a message it
delivered as unacknowledged (`QoS.append`). Both body formats are measured
in the same run, step by step. No Redis and no Celery: the CPU of each step
alone, on this process (median of `--repeat` rounds of `--loops` each).

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
from benchq.jobs import body  # noqa: E402
from benchq.jobs.messages import CaseBatch, SaveCases, decode, encode  # noqa: E402
from benchq.providers.answer import parse_answer  # noqa: E402
from benchq.providers.base import ModelAnswer  # noqa: E402
from benchq.scoring.case import score_case  # noqa: E402
from tests.standin.server import VALID_ANSWER  # noqa: E402

EMBED = {"callbacks": None, "errbacks": None, "chain": None}
#: How each body format writes and reads `(args, kwargs, embed)`, and its content type.
FORMATS: dict[str, tuple[Callable[[object], str], Callable[[str], object], str]] = {
    "benchq": (body.dumps, body.loads, body.CONTENT_TYPE),
    "celery-json": (lambda b: str(dumps(b)), loads, "application/json"),
}


def _envelope(payload: str, fmt: str) -> str:
    """A task message as kombu's Redis transport stores it, around one JSON-text argument."""
    write, _, content_type = FORMATS[fmt]
    return str(
        dumps(
            {
                "body": write(((payload,), {}, EMBED)),
                "content-encoding": "utf-8",
                "content-type": content_type,
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
    gc.collect()
    gc.freeze()  # as in a worker: what is loaded is out of the collector's passes
    pydantic_steps: dict[str, Callable[[], object]] = {
        "producer: job payload (pydantic)": lambda: encode(job),
        "model worker: job payload read (pydantic)": lambda: decode(CaseBatch, job_text),
        "model worker: results payload (pydantic)": lambda: encode(handed),
        "store writer: results payload read (pydantic)": lambda: decode(SaveCases, handed_text),
    }
    sizes: dict[str, dict[str, int]] = {}
    steps: dict[tuple[str, str], Callable[[], object]] = {
        ("pydantic", name): step for name, step in pydantic_steps.items()
    }
    for fmt, (_, read, _) in FORMATS.items():
        job_env, handed_env = _envelope(job_text, fmt), _envelope(handed_text, fmt)
        sizes[fmt] = {"job_envelope_bytes": len(job_env), "results_envelope_bytes": len(handed_env)}
        # kombu keeps a delivered message's decoded envelope as unacknowledged (QoS.append)
        job_raw, handed_raw = loads(job_env), loads(handed_env)
        for parts in (
            (job_text, job_env, job_raw, "producer", "model worker"),
            (handed_text, handed_env, handed_raw, "model worker", "store writer"),
        ):
            steps.update(_kombu_steps(fmt, read, *parts))
    seen: dict[tuple[str, str], list[float]] = {key: [] for key in steps}
    for _ in range(args.repeat):
        for key, step in steps.items():
            seen[key].append(_cpu_ms(step, args.loops))
    totals: dict[str, float] = dict.fromkeys(["pydantic", *FORMATS], 0.0)
    for (layer, name), values in seen.items():
        median = statistics.median(values)
        totals[layer] += median
        print(json.dumps({"layer": layer, "step": name, "cpu_ms": round(median, 3),
                          "range": [round(min(values), 3), round(max(values), 3)]}))  # fmt: skip
    for fmt in FORMATS:
        total = totals["pydantic"] + totals[fmt]
        print(
            json.dumps(
                {
                    "body": fmt,
                    "cases": args.cases,
                    "job_payload_bytes": len(job_text),
                    "results_payload_bytes": len(handed_text),
                    **sizes[fmt],
                    "cpu_ms_per_job": round(total, 2),
                    "cpu_ms_per_case": round(total / args.cases, 4),
                }
            )
        )


def _kombu_steps(
    fmt: str,
    read: Callable[[str], object],
    payload: str,
    envelope: str,
    raw: dict[str, object],
    sender: str,
    receiver: str,
) -> dict[tuple[str, str], Callable[[], object]]:
    """The steps of one message outside pydantic: body and envelope, both ways, and kombu's copy."""
    text = str(raw["body"])
    return {
        (fmt, f"{sender}: body and kombu envelope"): lambda: _envelope(payload, fmt),
        (fmt, f"{receiver}: envelope read"): lambda: loads(envelope),
        (fmt, f"{receiver}: unacknowledged copy written"): lambda: dumps([raw, "", "q"]),
        (fmt, f"{receiver}: body read"): lambda: read(text),
    }


if __name__ == "__main__":
    main()
