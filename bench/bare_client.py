"""The reference: a bare aiohttp client sending request bodies to a server, N at a time.

    python bench/bare_client.py --url URL --bodies FILE --concurrency 256

`FILE` holds one JSON request body a line (the benchmark writes the bodies
benchq's provider builds); each is serialised again per call, as any client
that builds its request does. Prints one JSON line: the run's wall seconds
(first request sent to last answer read), the CPU seconds this process spent
in that window, the calls made and how many failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path

import aiohttp


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _run(url: str, bodies: list[dict[str, object]], limit: int) -> dict[str, float]:
    sem = asyncio.Semaphore(limit)
    failed = 0
    connector = aiohttp.TCPConnector(limit=limit)
    headers = {"Authorization": "Bearer EMPTY"}
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: dict[str, object]) -> None:
            nonlocal failed
            async with sem, session.post(url, json=body, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    failed += 1

        started, cpu = time.time(), _cpu()
        await asyncio.gather(*(one(b) for b in bodies))
        ended, cpu_end = time.time(), _cpu()
    return {
        "started": started,
        "ended": ended,
        "run_seconds": ended - started,
        "cpu_seconds": cpu_end - cpu,
        "calls": len(bodies),
        "failed": failed,
    }


def main() -> None:
    """Send every body once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="OpenAI base URL (…/v1)")
    parser.add_argument("--bodies", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    bodies = [json.loads(line) for line in args.bodies.read_text().splitlines() if line]
    url = f"{args.url.rstrip('/')}/chat/completions"
    print(json.dumps(asyncio.run(_run(url, bodies, args.concurrency))))


if __name__ == "__main__":
    main()
