"""CPU per call of the openai SDK's transports at 64 calls in flight.

    .venv/bin/python bench/sdk_transport.py --calls 2000 --concurrency 64

The stand-in server (tests/standin, answering after 100 ms) runs in a
process of its own, so the CPU measured (getrusage of this process) is the
client's alone: the blocking `OpenAI` client in a pool of threads, and
`AsyncOpenAI` on its default httpx2 transport and on aiohttp
(`DefaultAioHttpClient`, what benchq uses). Prints wall time and CPU per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai

ROOT = Path(__file__).resolve().parent.parent

_SERVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.standin.server import Fault, StandinServer
server = StandinServer()
server.state.default = Fault(delay=0.1)
server.start()
print(server.openai_base_url, flush=True)
time.sleep(3600)
"""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _blocking(base: str, body: dict[str, Any], calls: int, limit: int) -> None:
    with (
        openai.OpenAI(base_url=base, api_key="k", max_retries=0) as client,
        ThreadPoolExecutor(limit) as pool,
    ):
        list(pool.map(lambda _: client.chat.completions.create(**body), range(calls)))


async def _async(base: str, body: dict[str, Any], calls: int, limit: int, aiohttp: bool) -> None:
    http = openai.DefaultAioHttpClient() if aiohttp else None
    async with openai.AsyncOpenAI(
        base_url=base, api_key="k", max_retries=0, http_client=http
    ) as client:
        gate = asyncio.Semaphore(limit)

        async def one() -> None:
            async with gate:
                await client.chat.completions.create(**body)

        await asyncio.gather(*(one() for _ in range(calls)))


def main() -> None:
    """Measure the three transports one after the other and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        body: dict[str, Any] = {
            "model": "m",
            "messages": [{"role": "user", "content": "x" * 3000}],
            "max_tokens": 2048,
        }
        runs = {
            "blocking OpenAI, threads": lambda: _blocking(base, body, args.calls, args.concurrency),
            "AsyncOpenAI, httpx2": lambda: asyncio.run(
                _async(base, body, args.calls, args.concurrency, aiohttp=False)
            ),
            "AsyncOpenAI, aiohttp": lambda: asyncio.run(
                _async(base, body, args.calls, args.concurrency, aiohttp=True)
            ),
        }
        out = {}
        for name, run in runs.items():
            started, cpu = time.perf_counter(), _cpu()
            run()
            out[name] = {
                "wall_seconds": round(time.perf_counter() - started, 3),
                "cpu_ms_per_call": round((_cpu() - cpu) / args.calls * 1000, 3),
            }
        print(json.dumps(out, indent=2))
    finally:
        server.kill()


if __name__ == "__main__":
    main()
