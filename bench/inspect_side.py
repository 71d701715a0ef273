"""Inspect AI as the third side of `bench/fanout.py`: `inspect eval` on the same server.

Inspect is installed from PyPI into a virtualenv of its own (never into
benchq's), the first time it is asked for. The task (`inspect_task.py`, next
to this file) sends each document with benchq's system prompt, JSON schema
and length limit through Inspect's `openai-api` provider to the stand-in, and
scores nothing costly (`includes()` on a constant); `--max-connections` is
the same concurrency as the other sides. The run time is the eval's own
(`stats.started_at` to `stats.completed_at` in its log); CPU is that of the
command's processes in that window.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
from datetime import datetime
from pathlib import Path
from typing import Any

from proctree import TreeSampler

HERE = Path(__file__).resolve().parent
#: Pinned so the figures can be reproduced.
INSPECT_REQUIREMENTS = ["inspect-ai==0.3.285", "openai"]


def ensure_inspect(where: Path) -> Path:
    """The Python of a virtualenv holding Inspect AI (made and filled on first use)."""
    python = where / "bin" / "python"
    marker = where / ".benchq-installed"
    wanted = " ".join(INSPECT_REQUIREMENTS)
    if marker.exists() and marker.read_text() == wanted:
        return python
    where.parent.mkdir(parents=True, exist_ok=True)
    venv.create(where, with_pip=True, clear=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *INSPECT_REQUIREMENTS],
        check=True,
    )
    marker.write_text(wanted)
    return python


def run_inspect(
    python: Path, url: str, bodies: Path, workdir: Path, *, concurrency: int
) -> dict[str, Any]:
    """`inspect eval` of the documents against the stand-in; its figures."""
    workdir.mkdir(parents=True)
    first = json.loads(bodies.read_text().split("\n", 1)[0])
    settings = workdir / "settings.json"
    # The dataset is the bodies themselves: each sample's input is its messages.
    settings.write_text(json.dumps({"body": first, "dataset": str(bodies)}))
    env = {
        **os.environ,
        "BENCH_SETTINGS": str(settings),
        "STANDIN_API_KEY": "EMPTY",
        "STANDIN_BASE_URL": url,
        "INSPECT_LOG_DIR": str(workdir / "logs"),
    }
    argv = [
        str(python), "-m", "inspect_ai", "eval", "inspect_task.py",
        "--model", "openai-api/standin/" + str(first["model"]),
        "--max-connections", str(concurrency), "--max-samples", str(concurrency),
        "--max-retries", "0", "--display", "none", "--log-format", "json",
        "--no-log-samples", "--no-score-display",
    ]  # fmt: skip
    # Inspect takes the task file relative to where it runs.
    shutil.copy(HERE / "inspect_task.py", workdir / "inspect_task.py")
    started = time.perf_counter()
    with open(workdir / "command.log", "w") as log:
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid).start()
        code = proc.wait(timeout=3600)
    wall = time.perf_counter() - started
    sampler.stop()
    if code != 0:
        raise SystemExit(f"inspect eval failed ({code}):\n{(workdir / 'command.log').read_text()}")
    log_file = next((workdir / "logs").glob("*.json"))
    stats = json.loads(log_file.read_text())
    start = datetime.fromisoformat(stats["stats"]["started_at"]).timestamp()
    end = datetime.fromisoformat(stats["stats"]["completed_at"]).timestamp()
    results = stats.get("results") or {}
    return {
        "run_seconds": end - start,
        "command_seconds": wall,
        "cpu_seconds": sampler.cpu_between(start, end),
        "command_cpu_seconds": sampler.totals[-1] if sampler.totals else 0.0,
        "calls": int(results.get("completed_samples", 0)),
        "errors": int(results.get("total_samples", 0)) - int(results.get("completed_samples", 0)),
    }


if __name__ == "__main__":
    print(ensure_inspect(Path(sys.argv[1])))
