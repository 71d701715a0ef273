"""I/O-bound fan-out: model calls through benchq, a bare aiohttp client and (optionally) Inspect AI.

    .venv/bin/python bench/fanout.py --calls 2000 10000 --concurrency 64 256 --repeat 3
    .venv/bin/python bench/fanout.py --calls 10000 --concurrency 256 --inspect

Every side calls the same stand-in model server (tests/standin, the OpenAI
chat-completions protocol, answering each request after `--delay` seconds),
which runs in a process of its own (`bench/standin_serve.py`) and is started
afresh for every measurement. Each side runs as its own command:

- bare: `bench/bare_client.py`, aiohttp with a semaphore of `concurrency`,
  sending exactly the request bodies benchq's provider builds (prompt,
  document, length limit, JSON schema);
- bare-split (`--sides bare bare-split benchq`): the bare client laid out
  as benchq's workers are: `--workers` processes started together, each
  with its share of the bodies and `concurrency / workers` in flight. An
  event loop's CPU per call grows as its calls in flight shrink (fewer
  answers per wake-up), so this is the like-for-like floor for benchq's
  worker processes; its run time is the first start to the last answer,
  its CPU the processes' sum;
- benchq: `benchq run --models medgemma` on the embedded default (private
  Redis, `--workers` worker processes, `concurrency / workers` calls in
  flight each, fleet concurrency limit `concurrency`, response cache off,
  `--batch-size` cases a job, by default benchq's own choice);
- inspect (`--inspect`): `inspect eval` of a one-step task (generate) over
  the same documents with the same system prompt, JSON schema and length
  limit, `--max-connections concurrency`, installed from PyPI into a
  virtualenv of its own (`--inspect-venv`) the first time.

For each side it reports: run time (benchq: enqueue to the run's snapshot
published, the aggregate of every result stored before it;
bare: first request to last answer; inspect: the eval's own start and end),
the whole command's wall time (Python start to exit, start-up and shutdown
included), and CPU per call: the CPU of every process of the command
(producer, workers, Redis; sampled from /proc) within the run window, divided
by the calls. The stand-in's CPU is reported apart. Ratios are side / bare
of the same repetition; the summary gives their median and range.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from proctree import TreeSampler, cpu_seconds  # noqa: E402
from run_window import run_window  # noqa: E402

from benchq.cases.generate import generate_suite  # noqa: E402
from benchq.cases.suite import load_suite  # noqa: E402
from benchq.config.registry import load_registry  # noqa: E402
from benchq.config.settings import Settings, auto_batch_size  # noqa: E402
from benchq.providers.medgemma import MedGemmaProvider  # noqa: E402
from benchq.providers.prompts import load_prompt  # noqa: E402

Figures = dict[str, Any]
#: The command line of `benchq run`'s worker processes (forked by its zygote).
WORKERS = "benchq.local.zygote"


@contextlib.contextmanager
def standin(delay: float) -> Iterator[tuple[str, int]]:
    """A fresh stand-in server process; yields its base URL and pid."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "standin_serve.py"), "--delay", str(delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip(), proc.pid
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


def run_bare(url: str, bodies: Path, concurrency: int) -> Figures:
    """The bare aiohttp client as a command of its own."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bare_client.py"), "--url", url,
         "--bodies", str(bodies), "--concurrency", str(concurrency)],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    out = json.loads(proc.stdout)
    return {
        "run_seconds": out["run_seconds"],
        "command_seconds": wall,
        "cpu_seconds": out["cpu_seconds"],
        "calls": out["calls"],
        "errors": out["failed"],
    }


def run_bare_split(url: str, bodies: Path, concurrency: int, processes: int) -> Figures:
    """The bare client as `processes` commands at once, each with its share of the bodies."""
    lines = bodies.read_text().splitlines(keepends=True)
    shares = []
    for i in range(processes):
        share = bodies.with_name(f"{bodies.stem}.part{i}-of-{processes}.jsonl")
        share.write_text("".join(lines[i::processes]))
        shares.append(share)
    each = max(1, math.ceil(concurrency / processes))
    started = time.perf_counter()
    argv = [sys.executable, str(ROOT / "bench" / "bare_client.py"), "--url", url]
    procs = [
        subprocess.Popen(
            [*argv, "--bodies", str(share), "--concurrency", str(each)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    outs = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=900)
            if proc.returncode != 0:
                raise SystemExit(f"bare client failed ({proc.returncode})")
            outs.append(json.loads(out))
    finally:
        for proc in procs:  # one failed: the others must not outlive the benchmark
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.perf_counter() - started
    return {
        "run_seconds": max(o["ended"] for o in outs) - min(o["started"] for o in outs),
        "command_seconds": wall,
        "cpu_seconds": sum(o["cpu_seconds"] for o in outs),
        "calls": sum(o["calls"] for o in outs),
        "errors": sum(o["failed"] for o in outs),
        "processes": processes,
        "in_flight_each": each,
    }


def _benchq_env(
    url: str, concurrency: int, workers: int, batch: int, marker: Path, extra: dict[str, str]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHQ_")}
    env.update(
        BENCHQ_MEDGEMMA_BASE_URL=url,
        BENCHQ_MODEL__MEDGEMMA__CONCURRENCY=str(concurrency),
        BENCHQ_WORKER_CONCURRENCY=str(max(1, math.ceil(concurrency / workers))),
        BENCHQ_RESPONSE_CACHE="false",
        BENCHQ_BENCH_MARKER=str(marker),
    )
    if batch:  # 0: benchq's own choice (Settings.batch_size)
        env["BENCHQ_BATCH_SIZE"] = str(batch)
    env.update(extra)
    return env


def run_benchq(
    url: str,
    suite: Path,
    workdir: Path,
    *,
    concurrency: int,
    workers: int,
    batch: int,
    extra_env: dict[str, str] | None = None,
) -> Figures:
    """`benchq run` on the embedded default; its figures from the store and /proc."""
    workdir.mkdir(parents=True)
    env = _benchq_env(url, concurrency, workers, batch, workdir, extra_env or {})
    argv = [sys.executable, "-m", "benchq.cli", "run", "--suite", str(suite),
            "--models", "medgemma", "--workers", str(workers)]  # fmt: skip
    started = time.perf_counter()
    with open(workdir / "command.log", "w") as log:
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid).start()
        code = proc.wait(timeout=1800)
    wall = time.perf_counter() - started
    sampler.stop()
    if code != 0:
        raise SystemExit(f"benchq run failed ({code}):\n{(workdir / 'command.log').read_text()}")
    with sqlite3.connect(workdir / "benchq.db") as conn:
        (run_id,) = conn.execute("SELECT run_id FROM benchmark_run_models").fetchone()
        window = run_window(conn, run_id, model="medgemma")
        calls, errors = conn.execute(
            "SELECT count(*), count(error_message) FROM benchmark_case_results"
        ).fetchone()
    start, end = window.start, window.end
    run_seconds = end - start
    return {
        "run_seconds": run_seconds,
        "aggregate_seconds": end - window.aggregate_started,
        "command_seconds": wall,
        "cpu_seconds": sampler.cpu_between(start, end),
        # The window earlier versions of this script used (to the aggregate
        # step's start), so figures of both can be compared.
        "cpu_seconds_to_aggregate_start": sampler.cpu_between(start, window.aggregate_started),
        "cpu_seconds_by_process": {
            k: round(v, 3)
            for k, v in sampler.cpu_by_kind(
                start, end, {"worker": WORKERS, "redis": "redis-server", "producer": "benchq.cli"}
            ).items()
        },
        "command_cpu_seconds": sampler.totals[-1] if sampler.totals else 0.0,
        "calls": calls,
        "errors": errors,
        "peak_worker_rss_mib": sampler.peak_rss_matching(WORKERS),
    }


def write_bodies(suite: Path, path: Path) -> None:
    """The request bodies benchq's provider sends for the suite, one JSON a line."""
    settings = Settings()
    spec = load_registry(settings).get("medgemma")
    provider = MedGemmaProvider(spec, api_key=None, prompt=load_prompt(settings.prompt_version))
    docs = [case.text for case in load_suite(suite).cases]
    path.write_text("".join(json.dumps(provider.request_body(d)) + "\n" for d in docs))
    provider.close()


def _summary(rows: list[Figures]) -> list[Figures]:
    """Median and range of each side's figures and ratios, per (calls, concurrency, batch)."""
    out = []
    keys = sorted({(r["calls"], r["concurrency"], r["batch"]) for r in rows})
    for calls, conc, batch in keys:
        mine = [
            r for r in rows if (r["calls"], r["concurrency"], r["batch"]) == (calls, conc, batch)
        ]
        entry: Figures = {"calls": calls, "concurrency": conc, "batch": batch, "runs": len(mine)}
        for side in ("bare", "bare-split", "benchq", "inspect"):
            have = [r[side] for r in mine if side in r]
            if not have:
                continue
            for what in ("run_seconds", "command_seconds", "cpu_ms_per_call"):
                values = [h[what] for h in have]
                entry[f"{side}_{what}"] = _med_range(values)
            if side != "bare" and all("bare" in r for r in mine):
                for what in ("run_seconds", "command_seconds", "cpu_ms_per_call"):
                    ratios = [r[side][what] / r["bare"][what] for r in mine if side in r]
                    entry[f"{side}_{what}_ratio"] = _med_range(ratios)
            entry[f"{side}_errors"] = sum(h["errors"] for h in have)
        if all("benchq" in r and "bare-split" in r for r in mine):
            ratios = [
                r["benchq"]["cpu_ms_per_call"] / r["bare-split"]["cpu_ms_per_call"] for r in mine
            ]
            entry["benchq_cpu_ms_per_call_ratio_to_split"] = _med_range(ratios)
        out.append(entry)
    return out


def _med_range(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def measure(
    side: str,
    args: argparse.Namespace,
    where: Path,
    suite: Path,
    bodies: Path,
    conc: int,
    batch: int,
    inspect_python: Path | None,
) -> Figures:
    """One side's figures, against a fresh stand-in of its own."""
    with standin(args.delay) as (url, server_pid):
        server_cpu = cpu_seconds(server_pid) or 0.0
        if side == "bare":
            got = run_bare(url, bodies, conc)
        elif side == "bare-split":
            got = run_bare_split(url, bodies, conc, args.workers)
        elif side == "benchq":
            extra = dict(item.split("=", 1) for item in args.env)
            got = run_benchq(
                url, suite, where, concurrency=conc, workers=args.workers, batch=batch,
                extra_env=extra,
            )  # fmt: skip
        else:
            from inspect_side import run_inspect

            assert inspect_python is not None
            got = run_inspect(inspect_python, url, bodies, where, concurrency=conc)
        got["server_cpu_seconds"] = (cpu_seconds(server_pid) or 0.0) - server_cpu
    got["cpu_ms_per_call"] = got["cpu_seconds"] / got["calls"] * 1000 if got["calls"] else 0.0
    if "cpu_seconds_to_aggregate_start" in got and got["calls"]:
        got["cpu_ms_per_call_to_aggregate_start"] = (
            got["cpu_seconds_to_aggregate_start"] / got["calls"] * 1000
        )
    return got


def main() -> None:
    """Run every side for each (calls, concurrency), `--repeat` times; print JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument(
        "--batch-size", type=int, nargs="+", default=[0],
        help="Cases a job; 0 (the default): benchq's default for the concurrency.",
    )  # fmt: skip
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE",
        help="An environment variable for the benchq command (repeatable).",
    )  # fmt: skip
    parser.add_argument("--sides", nargs="+", default=["bare", "benchq"])
    parser.add_argument("--inspect", action="store_true", help="Also run Inspect AI.")
    parser.add_argument(
        "--inspect-venv",
        type=Path,
        default=Path.home() / ".cache" / "benchq-bench" / "inspect-venv",
        help="Virtualenv Inspect AI is installed into (made on first use).",
    )
    parser.add_argument("--keep", type=Path, default=None, help="Keep the work folders here.")
    args = parser.parse_args()
    sides = list(args.sides) + (["inspect"] if args.inspect else [])
    inspect_python = None
    if "inspect" in sides:
        from inspect_side import ensure_inspect

        inspect_python = ensure_inspect(args.inspect_venv)

    rows: list[Figures] = []
    keep = args.keep
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.nullcontext(str(keep)) if keep else tempfile.TemporaryDirectory(prefix="fanout-")
    ) as tmp:
        work = Path(tmp)
        for calls in args.calls:
            suite = work / f"suite-{calls}"
            if not suite.exists():
                generate_suite(calls, 5, suite)
            bodies = work / f"bodies-{calls}.jsonl"
            write_bodies(suite, bodies)
            for conc, batch, rep in itertools.product(
                args.concurrency, args.batch_size, range(args.repeat)
            ):
                row: Figures = {"calls": calls, "concurrency": conc, "batch": batch}
                row["batch_used"] = batch or auto_batch_size(math.ceil(conc / args.workers))
                row["repeat"] = rep + 1
                for side in sides:
                    where = work / f"{side}-{calls}-{conc}-{batch}-{rep}"
                    row[side] = measure(
                        side, args, where, suite, bodies, conc, batch, inspect_python
                    )
                print(json.dumps(row), flush=True)
                rows.append(row)
    for entry in _summary(rows):
        print(json.dumps(entry), flush=True)


if __name__ == "__main__":
    main()
