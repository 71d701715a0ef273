"""Workers on separate hosts share one run: every job is done once, by one of them.

Where the test may create network namespaces (root with CAP_NET_ADMIN, as in
CI), it builds two "hosts": namespace A runs redis-server (password, TCP on
A's address only) and worker group A; namespace B, joined to A by a veth
pair, runs worker group B and the producer, which reach Redis over that link
only. The addresses (10.200.x.y) exist only inside these two namespaces, and
no traffic leaves them. The SQLite store is a shared file: fine on one
machine, a stand-in for the Postgres a real fleet shares.

Where namespaces cannot be made, the same test runs two process groups with
distinct node names against one Redis, and says so in its id.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from benchq.local.process import spawn, stop
from benchq.local.redis_server import PrivateRedis
from benchq.local.worker_pool import celery_worker_args, worker_argv
from benchq.producers.models import all_queues
from benchq.producers.wait import wait_for_run
from benchq.store.schema import RunStatus
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import settings_for

CASES = 40
BATCH = 2
JOBS = CASES // BATCH
WORKERS_PER_HOST = 2
REDIS_PASSWORD = "ScaleOut0ne"


def _can_make_namespaces() -> bool:
    """True when `ip netns add` works here (root with CAP_NET_ADMIN)."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        return False
    probe = f"bqprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return made


@dataclass
class Host:
    """One machine of the fleet: a command prefix (its namespace) and a node name."""

    name: str
    prefix: list[str] = field(default_factory=list)


@dataclass
class Fleet:
    """Two hosts sharing one broker URL and one store file."""

    broker_url: str
    hosts: list[Host]
    mode: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def _namespaces(tmp: Path) -> Iterator[Fleet]:
    tag = f"{os.getpid() % 10000}{uuid.uuid4().hex[:4]}"
    ns_a, ns_b = f"bqa{tag}", f"bqb{tag}"
    veth_a, veth_b = f"bqva{tag}", f"bqvb{tag}"
    # A /30 per test run; the addresses live only inside the two namespaces.
    octet = int(uuid.uuid4().hex[:2], 16)
    addr_a, addr_b = f"10.200.{octet}.1", f"10.200.{octet}.2"
    redis_proc = None
    try:
        _ip("netns", "add", ns_a)
        _ip("netns", "add", ns_b)
        _ip("link", "add", veth_a, "type", "veth", "peer", "name", veth_b)
        _ip("link", "set", veth_a, "netns", ns_a)
        _ip("link", "set", veth_b, "netns", ns_b)
        _ip("-n", ns_a, "addr", "add", f"{addr_a}/30", "dev", veth_a)
        _ip("-n", ns_b, "addr", "add", f"{addr_b}/30", "dev", veth_b)
        for ns, dev in ((ns_a, veth_a), (ns_b, veth_b)):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        in_a = ["ip", "netns", "exec", ns_a]
        in_b = ["ip", "netns", "exec", ns_b]
        redis_dir = tmp / "redis"
        redis_dir.mkdir()
        # Listens on A's veth address only, with a password, as a shared broker should.
        redis_proc = spawn(
            [
                *in_a,
                "redis-server",
                "--bind",
                addr_a,
                "--port",
                "6379",
                "--requirepass",
                REDIS_PASSWORD,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(redis_dir),
                "--logfile",
                str(redis_dir / "redis.log"),
            ]
        )
        url = f"redis://:{REDIS_PASSWORD}@{addr_a}:6379/0"
        _wait_for_redis(in_b, addr_a, redis_proc)
        yield Fleet(url, [Host("hostA", in_a), Host("hostB", in_b)], "netns")
    finally:
        if redis_proc is not None:
            stop(redis_proc)
        for ns in (ns_a, ns_b):
            # Deleting a namespace also deletes the veth end inside it.
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def _wait_for_redis(prefix: list[str], addr: str, proc: subprocess.Popen[bytes]) -> None:
    # Asked from namespace B: proves the link works before any worker relies on it.
    deadline = time.monotonic() + 30
    while True:
        ping = subprocess.run(
            [*prefix, "redis-cli", "-h", addr, "-p", "6379", "ping"],
            capture_output=True,
            text=True,
            env={**os.environ, "REDISCLI_AUTH": REDIS_PASSWORD},
            timeout=30,
        )
        if ping.stdout.strip() == "PONG":
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"redis in namespace A did not answer: {ping.stdout}{ping.stderr}")
        time.sleep(0.1)


@contextlib.contextmanager
def _process_groups(tmp: Path) -> Iterator[Fleet]:
    with PrivateRedis() as server:
        yield Fleet(server.url, [Host("hostA"), Host("hostB")], "process-groups")


MODES = ["netns", "process-groups"]


@pytest.fixture(params=MODES)
def fleet(request: pytest.FixtureRequest, clean_env: Path) -> Iterator[Fleet]:
    """Two hosts: network namespaces if possible, else process groups on one machine."""
    if request.param == "netns":
        if not _can_make_namespaces():
            pytest.skip(
                "cannot create network namespaces here (needs root with CAP_NET_ADMIN); "
                "the process-groups variant covers the shared run"
            )
        with _namespaces(clean_env) as made:
            yield made
    else:
        with _process_groups(clean_env) as made:
            yield made


def _start_workers(
    fleet: Fleet, db: Path, log_dir: Path
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    env = {
        **os.environ,
        "BENCHQ_BROKER_URL": fleet.broker_url,
        "BENCHQ_STORE_URL": f"sqlite:///{db}",
        "BENCHQ_WORKER_CONCURRENCY": "1",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    started = []
    for host in fleet.hosts:
        for i in range(WORKERS_PER_HOST):
            argv = worker_argv(
                celery_worker_args(
                    name=f"{host.name}-{i + 1}@scaleout",
                    queues=all_queues(settings_for(db.parent, fleet.broker_url)),
                    pool="threads",
                    concurrency=1,
                    # INFO: the worker logs "ready" and one "succeeded" line per job.
                    loglevel="INFO",
                )
            )
            log = log_dir / f"{host.name}-{i + 1}.log"
            started.append((spawn([*host.prefix, *argv], env=env, log_path=str(log)), log))
    return started


def _wait_until_ready(started: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    # Every worker consumes before the first job is sent, so none can take
    # the whole run alone just by starting first.
    deadline = time.monotonic() + 120
    for proc, log in started:
        while " ready." not in (log.read_text(errors="replace") if log.exists() else ""):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker did not start: {log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)


def test_workers_on_two_hosts_share_one_run_and_store_each_result_once(
    fleet: Fleet, clean_env: Path
) -> None:
    suite = clean_env / "suite"
    generate_suite(CASES, 21, suite)
    db = clean_env / "benchq.db"
    SQLiteStore(db).close()  # schema made once, before several hosts open it
    log_dir = clean_env / "logs"
    log_dir.mkdir()
    started = _start_workers(fleet, db, log_dir)
    try:
        _wait_until_ready(started)
        # The producer runs on host B: in namespace mode it too reaches Redis
        # over the veth link only.
        run_id = "scale-out-run"
        enqueue = subprocess.run(
            [
                *fleet.hosts[1].prefix,
                sys.executable,
                "-m",
                "benchq.cli",
                "enqueue",
                "--suite",
                str(suite),
                "--models",
                "baseline",
                "--run-id",
                run_id,
            ],
            env={
                **os.environ,
                "BENCHQ_BROKER_URL": fleet.broker_url,
                "BENCHQ_STORE_URL": f"sqlite:///{db}",
                "BENCHQ_BATCH_SIZE": str(BATCH),
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert enqueue.returncode == 0, enqueue.stderr
        assert run_id in enqueue.stdout
        store = SQLiteStore(db)
        progress = wait_for_run(
            store,
            run_id,
            workers_alive=lambda: any(p.poll() is None for p, _ in started),
            timeout=240,
        )
        assert store.get_run(run_id).status is RunStatus.done
        store.close()
    finally:
        for proc, _ in started:
            proc.terminate()
        for proc, _ in started:
            stop(proc, timeout=15.0)

    assert progress.done["baseline"] == CASES
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT case_id, result FROM benchmark_case_results WHERE run_id=?", (run_id,)
        ).fetchall()
        summaries = conn.execute(
            "SELECT COUNT(*) FROM benchmark_run_models WHERE run_id=?", (run_id,)
        ).fetchone()[0]
    # One stored result per case, and one summary for the model.
    assert sorted(case for case, _ in rows) == sorted({case for case, _ in rows})
    assert len(rows) == CASES
    assert summaries == 1

    # Both hosts took jobs: the stored results name the worker that ran them.
    by_host: dict[str, int] = {}
    for _, result in rows:
        host = json.loads(result)["worker"].split("-")[0]
        by_host[host] = by_host.get(host, 0) + 1
    assert set(by_host) == {"hostA", "hostB"}, by_host

    # Each job ran exactly once across the fleet (none twice on two hosts):
    # the workers' own logs count one "succeeded" per job.
    succeeded = [
        m
        for _, log in started
        for m in re.findall(r"benchq\.run_cases\[([0-9a-f-]+)\] succeeded", log.read_text())
    ]
    assert len(succeeded) == JOBS
    assert len(set(succeeded)) == JOBS
    finals = sum(
        len(re.findall(r"benchq\.verdict\[[0-9a-f-]+\] succeeded", log.read_text()))
        for _, log in started
    )
    assert finals == 1
