"""A `benchq run` killed with SIGKILL leaves no process behind: the workers, the
process that forked them, their pool children and the private redis-server are
gone within seconds (PR_SET_PDEATHSIG at every level).

The run calls a slow model (the stand-in answers after 30 s), so at the kill
every worker is in the middle of model calls: the case where a worker told to
shut down warm would wait for them, long after nobody waits for the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from tests.conftest import processes_mentioning
from tests.pipeline_helpers import cli
from tests.standin.server import Fault, StandinServer

#: "A few seconds": how long the kernel and the processes may take to go.
GRACE_S = 10.0


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], fields[19]


def descendants(root: int) -> dict[int, tuple[str, int]]:
    """Every live descendant of `root`: pid -> (start time, depth below root)."""
    children: dict[int, list[int]] = defaultdict(list)
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] != "Z":
                children[stat[0]].append(int(entry.name))
                started[int(entry.name)] = stat[2]
    found: dict[int, tuple[str, int]] = {}
    todo = [(root, 0)]
    while todo:
        pid, depth = todo.pop()
        for child in children[pid]:
            found[child] = (started[child], depth + 1)
            todo.append((child, depth + 1))
    return found


def alive(pid: int, start: str) -> bool:
    """The same process (not a reused pid) still runs and is not a zombie."""
    stat = _stat(pid)
    return stat is not None and stat[2] == start and stat[1] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_sigkill_of_benchq_run_leaves_no_worker_or_redis_behind(clean_env: Path, pool: str) -> None:
    suite = clean_env / "suite"
    generate_suite(40, 4, suite)
    with StandinServer() as standin:
        standin.state.default = Fault(delay=30.0)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "OPENAI_"))}
        env.update(
            OPENAI_API_KEY="sk-test",
            OPENAI_BASE_URL=standin.openai_base_url,
            BENCHQ_WORKER_POOL=pool,
            BENCHQ_BATCH_SIZE="2",
            BENCHQ_WORKER_CONCURRENCY="2",
        )
        proc = subprocess.Popen(
            cli("run", "--suite", str(suite), "--models", "openai", "--workers", "2", "--no-cache"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 120
            # Mid-run: both workers are waiting on model calls.
            while standin.count() < 4:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the workers never called the model"
                time.sleep(0.1)
            tree = descendants(proc.pid)
            names = {pid: _cmdline(pid) for pid in tree}
            assert any("redis-server" in n for n in names.values()), names
            # The workers are forked by one preloaded process (benchq.local.zygote).
            zygotes = [
                p for p, n in names.items() if "benchq.local.zygote" in n and tree[p][1] == 1
            ]
            assert len(zygotes) == 1, names
            workers = [
                p for p in tree if tree[p][1] == 2 and _stat(p) and _stat(p)[0] == zygotes[0]
            ]
            assert len(workers) == 2, names
            if pool == "prefork":  # the pool's children: one level below the workers
                assert any(depth == 3 for _, depth in tree.values()), names
        finally:
            proc.kill()
            proc.wait(timeout=30)

        deadline = time.monotonic() + GRACE_S
        while True:
            left = {pid: names[pid] for pid, (start, _) in tree.items() if alive(pid, start)}
            if not left:
                break
            if time.monotonic() > deadline:
                for pid in left:  # clean up for the next tests, then fail
                    os.kill(pid, signal.SIGKILL)
                pytest.fail(f"still running {GRACE_S:g} s after SIGKILL of benchq run: {left}")
            time.sleep(0.1)
    assert processes_mentioning(str(clean_env)) == []
