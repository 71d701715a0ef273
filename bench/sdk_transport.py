"""CPU per call of the paths a model request can take, against the stand-in in its own process.

    .venv/bin/python bench/sdk_transport.py --calls 4000 --concurrency 128 --repeat 3

Each path sends the same request (benchq's prompt, a generated bill, the
JSON schema) `--calls` times, `--concurrency` at a time, on one asyncio loop
in this process, to the stand-in (tests/standin, answering after 100 ms) in
a process of its own; the CPU measured (getrusage of this process) is the
client's alone. Paths:

- `bare aiohttp`: `session.post(json=body)`, the floor;
- `openai SDK, aiohttp`: `AsyncOpenAI(http_client=DefaultAioHttpClient())`
  and its generic `post` (what benchq did before);
- `benchq openai path`: the provider's `_chat` (SDK-built headers, body
  spliced into a serialised template, `JsonTransport`, answer read into the
  SDK's `ChatCompletion`);
- `google-genai SDK`: `client.aio.models.generate_content` (what benchq's
  gemini provider did before);
- `benchq gemini path`: the provider's `_generate` (the request the SDK
  builds once, `JsonTransport`, the SDK's `GenerateContentResponse`);
- `bare aiohttp, gemini body`: the same Gemini request as a plain POST.

Prints a JSON line per path and repetition, then the median per path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import openai
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchq.cases.generate import generate_suite  # noqa: E402
from benchq.cases.suite import load_suite  # noqa: E402
from benchq.config.registry import load_registry  # noqa: E402
from benchq.config.settings import Settings  # noqa: E402
from benchq.providers.gemini import GeminiProvider  # noqa: E402
from benchq.providers.openai_chat import OpenAIChatProvider  # noqa: E402
from benchq.providers.prompts import load_prompt  # noqa: E402

Call = Callable[[str], Awaitable[Any]]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(call: Call, docs: list[str], limit: int) -> tuple[float, float]:
    gate = asyncio.Semaphore(limit)

    async def one(doc: str) -> None:
        async with gate:
            await call(doc)

    started, cpu = time.perf_counter(), _cpu()
    await asyncio.gather(*(one(d) for d in docs))
    return time.perf_counter() - started, (_cpu() - cpu) / len(docs) * 1000


async def _paths(base: str, docs: list[str], limit: int) -> dict[str, tuple[float, float]]:
    settings = Settings()
    registry = load_registry(settings)
    prompt = load_prompt("v1")
    oa = OpenAIChatProvider(
        registry.get("openai"), api_key=SecretStr("k"), base_url=f"{base}/v1", prompt=prompt,
        connections=limit,
    )  # fmt: skip
    gm = GeminiProvider(
        registry.get("gemini"), api_key=SecretStr("k"), base_url=base, prompt=prompt
    )
    sdk = openai.AsyncOpenAI(
        base_url=f"{base}/v1", api_key="k", max_retries=0, http_client=openai.DefaultAioHttpClient()
    )
    assert gm.lean is not None
    lean = gm.lean
    gemini_url = f"{base}/v1beta/models/{gm.spec.model_id}:generateContent"
    gemini_body: dict[str, Any] = {
        "contents": [{"role": "user", "parts": [{"text": ""}]}],
        "systemInstruction": {"parts": [{"text": prompt.text}]},
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": gm.config.response_schema,
            "maxOutputTokens": gm.spec.max_output_tokens,
        },
    }
    out: dict[str, tuple[float, float]] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:

        async def bare(doc: str) -> None:
            async with session.post(f"{base}/v1/chat/completions", json=oa.request_body(doc)) as r:
                await r.read()

        async def bare_gemini(doc: str) -> None:
            body = {**gemini_body, "contents": [{"role": "user", "parts": [{"text": doc}]}]}
            async with session.post(gemini_url, json=body, headers={"x-goog-api-key": "k"}) as r:
                await r.read()

        async def via_sdk(doc: str) -> None:
            await sdk.post(
                "/chat/completions",
                cast_to=openai.types.chat.ChatCompletion,
                body=oa.request_body(doc),
            )

        paths: dict[str, Call] = {
            "bare aiohttp": bare,
            "openai SDK, aiohttp": via_sdk,
            "benchq openai path": oa._chat,
            "google-genai SDK": lambda doc: gm.client.aio.models.generate_content(
                model=gm.spec.model_id, contents=doc, config=gm.config
            ),
            "benchq gemini path": lambda doc: gm._generate(lean, doc),
            "bare aiohttp, gemini body": bare_gemini,
        }
        for name, call in paths.items():
            out[name] = await _measure(call, docs, limit)
    await sdk.close()
    await oa.transport.aclose()
    await oa.client.close()
    await gm.transport.aclose()
    await gm.client.aio.aclose()
    return out


def main() -> None:
    """Measure each path `--repeat` times; print JSON lines and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        generate_suite(min(args.calls, 2000), 5, Path(tmp))
        texts = [c.text for c in load_suite(Path(tmp)).cases]
    docs = [texts[i % len(texts)] for i in range(args.calls)]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "standin_serve.py"), "--delay", "0.1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    cpu: dict[str, list[float]] = {}
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip().removesuffix("/v1")
        for rep in range(args.repeat):
            for name, (wall, ms) in asyncio.run(_paths(base, docs, args.concurrency)).items():
                cpu.setdefault(name, []).append(ms)
                print(json.dumps({"repeat": rep + 1, "path": name, "wall_seconds": round(wall, 3),
                                  "cpu_ms_per_call": round(ms, 3)}), flush=True)  # fmt: skip
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
    for name, values in cpu.items():
        summary = {"path": name, "cpu_ms_per_call_median": round(statistics.median(values), 3)}
        summary["range"] = [round(min(values), 3), round(max(values), 3)]
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
