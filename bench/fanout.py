"""I/O-bound fan-out: 2,000 model calls through benchq versus a plain asyncio client.

    .venv/bin/python bench/fanout.py --cases 2000 --delay 0.1 --concurrency 64

Both sides call the same local stand-in server (tests/standin: the OpenAI
chat-completions protocol), which answers every request after `--delay`
seconds. benchq runs `benchq run --models medgemma` on the embedded default
(private Redis, 2 worker processes x 32 threads, the openai SDK inside each
job, fleet concurrency limit 64, cache off); its time is the run's own
duration (enqueue to published). The floor is aiohttp with a semaphore of 64
sending the same request bodies. The ideal is ceil(cases/64) x delay.
benchq's processing time (first model call to run published) is reported
beside the run's duration (enqueue to published, worker start-up included).
Also reports the largest resident memory of one worker process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchq.cases.generate import generate_suite  # noqa: E402
from benchq.cases.suite import load_suite  # noqa: E402
from benchq.config.registry import load_registry  # noqa: E402
from benchq.config.settings import Settings  # noqa: E402
from benchq.providers.medgemma import MedGemmaProvider  # noqa: E402
from benchq.providers.prompts import load_prompt  # noqa: E402
from tests.standin.server import Fault, StandinServer  # noqa: E402


def _worker_rss_kib(marker: str) -> int:
    """Largest VmRSS (KiB) among live celery worker processes whose environment has `marker`."""
    best = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
            if b"celery" not in cmd or marker.encode() not in (entry / "environ").read_bytes():
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    best = max(best, int(line.split()[1]))
        except OSError:
            continue
    return best


def run_benchq(
    server: StandinServer, suite: Path, workdir: Path, concurrency: int
) -> dict[str, float]:
    """`benchq run` on the embedded default; returns its timings and peak worker memory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHQ_")}
    per_worker = max(1, concurrency // 2)
    env.update(
        BENCHQ_MEDGEMMA_BASE_URL=server.openai_base_url,
        BENCHQ_MODEL__MEDGEMMA__CONCURRENCY=str(concurrency),
        BENCHQ_WORKER_CONCURRENCY=str(per_worker),
        BENCHQ_RESPONSE_CACHE="false",
        BENCHQ_BENCH_MARKER=str(workdir),
    )
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _worker_rss_kib(str(workdir)))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchq.cli", "run", "--suite", str(suite), "--models",
         "medgemma", "--workers", "2"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"benchq run failed:\n{proc.stdout}\n{proc.stderr}")
    with sqlite3.connect(workdir / "benchq.db") as conn:
        (monitoring, published) = conn.execute(
            "SELECT monitoring, finished_at FROM benchmark_run_models"
        ).fetchone()
        rows = [json.loads(row[0]) for row in conn.execute(
            "SELECT result FROM benchmark_case_results")]  # fmt: skip
        ends = [datetime.fromisoformat(r["finished_at"]).timestamp() for r in rows]
        starts = [end - r["pipeline_latency_ms"] / 1000 for end, r in zip(ends, rows, strict=True)]
        errors = conn.execute(
            "SELECT count(*) FROM benchmark_case_results WHERE error_message IS NOT NULL"
        ).fetchone()[0]
    return {
        "run_seconds": json.loads(monitoring)["duration_seconds"],
        # From the first model call to the run published: what a deployment with
        # workers already running pays (no Redis or worker start-up).
        "processing_seconds": datetime.fromisoformat(published).timestamp() - min(starts),
        # From the last case scored to the run published: aggregation and publishing.
        "finalize_seconds": datetime.fromisoformat(published).timestamp() - max(ends),
        "command_wall_seconds": wall,
        "errors": errors,
        "peak_worker_rss_mb": peak[0] / 1024,
    }


async def _plain(server: StandinServer, bodies: list[dict[str, object]], limit: int) -> float:
    sem = asyncio.Semaphore(limit)
    url = f"{server.openai_base_url}/chat/completions"
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: dict[str, object]) -> None:
            async with sem, session.post(url, json=body) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - started


def main() -> None:
    """Run both sides and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="Work in this new folder and keep it (suite, store, worker logs).",
    )
    args = parser.parse_args()

    if args.keep is not None:
        args.keep.mkdir(parents=True)
    with (
        contextlib.nullcontext(str(args.keep))
        if args.keep is not None
        else tempfile.TemporaryDirectory(prefix="benchq-fanout-")
    ) as tmp:
        work = Path(tmp)
        suite_dir = work / "suite"
        generate_suite(args.cases, 5, suite_dir)
        # The plain client sends exactly the bodies benchq's provider sends
        # (prompt, document, length limit and JSON schema), built by it.
        settings = Settings()
        spec = load_registry(settings).get("medgemma")
        provider = MedGemmaProvider(spec, api_key=None, prompt=load_prompt(settings.prompt_version))
        bodies = [provider.request_body(case.text) for case in load_suite(suite_dir).cases]
        with StandinServer() as server:
            server.state.default = Fault(delay=args.delay)
            plain = asyncio.run(_plain(server, bodies, args.concurrency))
            plain_calls = server.count()
            plain_peak = server.state.max_in_flight
            server.state.max_in_flight = 0
            ours = run_benchq(server, suite_dir, work, args.concurrency)
            benchq_calls = server.count() - plain_calls
            benchq_peak = server.state.max_in_flight
    ideal = math.ceil(args.cases / args.concurrency) * args.delay
    print(
        json.dumps(
            {
                "cases": args.cases,
                "delay_s": args.delay,
                "concurrency": args.concurrency,
                "ideal_seconds": round(ideal, 3),
                "plain_aiohttp_seconds": round(plain, 3),
                "benchq_run_seconds": round(ours["run_seconds"], 3),
                "benchq_processing_seconds": round(ours["processing_seconds"], 3),
                "ratio_processing_to_plain": round(ours["processing_seconds"] / plain, 3),
                "benchq_finalize_seconds": round(ours["finalize_seconds"], 3),
                "benchq_command_wall_seconds": round(ours["command_wall_seconds"], 3),
                "ratio_benchq_to_plain": round(ours["run_seconds"] / plain, 3),
                "benchq_errors": ours["errors"],
                "calls": {"plain": plain_calls, "benchq": benchq_calls},
                "peak_requests_in_flight": {"plain": plain_peak, "benchq": benchq_peak},
                "peak_worker_rss_mb": round(ours["peak_worker_rss_mb"], 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
