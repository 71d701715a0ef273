"""`benchq flower`: real Flower, real worker, real Redis, read through Flower's HTTP API.

Flower is started exactly as the compose service starts it (`benchq flower`,
which execs `celery flower` with the credentials in FLOWER_BASIC_AUTH), on a
free loopback port.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchq.cases.generate import generate_suite
from benchq.cases.suite import load_suite
from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.jobs.celery_app import make_app
from benchq.jobs.names import PUBLISH_QUEUE
from benchq.local.process import spawn, stop
from benchq.ops.flower import basic_auth, flower_argv, flower_env
from benchq.producers.wait import wait_for_run
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import enqueue, settings_for, workers

USER = "ops"
PASSWORD = "s3cret-Pa55"
CASES = 5
BATCH = 2
JOBS = 3  # 5 cases, 2 a job


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _flower_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchq.ops.flower", *args]


def _get(url: str, auth: tuple[str, str] | None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            status: int = response.status
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    return status, json.loads(body) if body.startswith((b"{", b"[")) else body


def _until(probe: Any, what: str, timeout: float = 90.0, seen: Any = None) -> Any:
    """Poll `probe` until it returns something truthy (events arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}; last seen: {seen() if seen else None}")
        time.sleep(0.3)


@pytest.fixture
def flower(clean_env: Path, redis_url: str) -> Iterator[tuple[str, Settings]]:
    """A real Flower on a free loopback port, watching `redis_url`; yields its base URL."""
    settings = settings_for(clean_env, redis_url, batch_size=BATCH)
    port = _free_port()
    env = {
        **os.environ,
        "BENCHQ_BROKER_URL": redis_url,
        "BENCHQ_FLOWER_USER": USER,
        "BENCHQ_FLOWER_PASSWORD": PASSWORD,
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    log = clean_env / "flower.log"
    proc = spawn(
        _flower_cli("--address", "127.0.0.1", "--port", str(port)),
        env=env,
        log_path=str(log),
    )
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"flower exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            return _get(f"{base}/healthcheck", None)[0] == 200
        except OSError:
            return False

    try:
        _until(answering, "Flower to listen")
        yield base, settings
    finally:
        stop(proc)


def test_flower_shows_a_real_runs_tasks_and_workers_only_with_credentials(
    flower: tuple[str, Settings], clean_env: Path
) -> None:
    base, settings = flower
    suite = clean_env / "suite"
    generate_suite(CASES, 11, suite)
    auth = (USER, PASSWORD)

    with workers(settings, 1, prefix="flowerw") as pool:
        # The worker must be known to Flower before the run, or its first
        # task events could go by unseen.
        def worker_listed() -> list[str]:
            status, body = _get(f"{base}/api/workers?refresh=1", auth)
            assert status == 200, body
            return [name for name in body if name.startswith("flowerw1@")]

        (worker_name,) = _until(worker_listed, "the worker in /api/workers")

        # Task events are off until a monitor asks for them; Flower turns them
        # on in the workers every few seconds. Wait until it has: a ping task
        # then shows up in Flower.
        app = make_app(settings)

        def events_flowing() -> bool:
            app.signature("benchq.ping", queue=PUBLISH_QUEUE).apply_async()
            status, body = _get(f"{base}/api/tasks?limit=1000", auth)
            assert status == 200, body
            return any(t["name"] == "benchq.ping" for t in body.values())

        _until(events_flowing, "task events from the worker")
        plan = enqueue(settings, suite)
        store = SQLiteStore(clean_env / "benchq.db")
        wait_for_run(store, plan.run_id, workers_alive=lambda: pool.alive() > 0, timeout=120)
        store.close()

        last: dict[str, Any] = {}

        def run_tasks_done() -> list[dict[str, Any]]:
            status, body = _get(f"{base}/api/tasks?limit=1000", auth)
            assert status == 200, body
            last["body"] = body
            ours = [t for t in body.values() if plan.run_id in f"{t.get('args')}{t.get('kwargs')}"]
            jobs = [t for t in ours if t["name"] == "benchq.run_cases"]
            finals = [t for t in ours if t["name"] == "benchq.verdict"]
            done = len(jobs) == JOBS and all(t["state"] == "SUCCESS" for t in jobs)
            return ours if done and finals else []

        tasks = _until(
            run_tasks_done,
            "the run's tasks in /api/tasks",
            seen=lambda: [
                {k: str(t.get(k))[:80] for k in ("name", "state", "args", "kwargs", "worker")}
                for t in list(last.get("body", {}).values())[:4]
            ],
        )

    # Every job of the run, and which worker ran it, as Flower saw it: each
    # names its cases by id, and together they cover the suite once.
    jobs = [t for t in tasks if t["name"] == "benchq.run_cases"]
    assert len(jobs) == JOBS
    assert {t["worker"] for t in jobs} == {worker_name}
    cases = load_suite(suite).cases
    shown = [case for t in jobs for case in ast.literal_eval(t["args"])[0]["cases"]]
    assert sorted(shown) == sorted(c.id for c in cases)
    # ... and never the bills themselves, nor the answers on their way to the store.
    saves = [t for t in tasks if t["name"] == "benchq.save_cases"]
    assert saves and all(ast.literal_eval(t["args"])[0]["cases"] for t in saves)
    for t in tasks:
        assert not any(c.text[:40] in f"{t['args']}{t['kwargs']}" for c in cases), t["name"]
    # the model's chain, each step visible by name
    assert {"benchq.aggregate", "benchq.publish", "benchq.verdict"} <= {t["name"] for t in tasks}

    # Without credentials, or with wrong ones, nothing is readable: API and UI alike.
    for path in ("/api/tasks", "/api/workers", "/", "/tasks"):
        assert _get(base + path, None)[0] == 401, path
        assert _get(base + path, (USER, "wrong"))[0] == 401, path
        assert _get(base + path, ("someone", PASSWORD))[0] == 401, path


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BENCHQ_FLOWER_USER and BENCHQ_FLOWER_PASSWORD not set"),
        ({"BENCHQ_FLOWER_USER": "ops"}, "BENCHQ_FLOWER_PASSWORD not set"),
        ({"BENCHQ_FLOWER_PASSWORD": "x"}, "BENCHQ_FLOWER_USER not set"),
        (
            {"BENCHQ_FLOWER_USER": "ops", "BENCHQ_FLOWER_PASSWORD": "a,b"},
            "must not contain ','",
        ),
        ({"BENCHQ_FLOWER_USER": "o:ps", "BENCHQ_FLOWER_PASSWORD": "x"}, "must not contain ':'"),
    ],
)
def test_flower_refuses_to_start_without_usable_credentials(
    clean_env: Path, redis_url: str, env: dict[str, str], message: str
) -> None:
    full = {**os.environ, "BENCHQ_BROKER_URL": redis_url, **env}
    proc = subprocess.run(
        _flower_cli("--port", str(_free_port())),
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_credentials_reach_flower_by_environment_not_command_line() -> None:
    settings = Settings(  # type: ignore[call-arg]
        broker_url="redis://localhost:1/0", flower_user="ops", flower_password=PASSWORD
    )
    argv = flower_argv(address="127.0.0.1", port=5555)
    env = flower_env(settings, base={"FLOWER_UNAUTHENTICATED_API": "true"})
    assert not any(PASSWORD in arg for arg in argv)  # `ps` shows argv to every user
    assert env["FLOWER_BASIC_AUTH"] == f"ops:{PASSWORD}"
    assert "FLOWER_UNAUTHENTICATED_API" not in env
    assert basic_auth(settings) == f"ops:{PASSWORD}"
    with pytest.raises(ConfigError, match="BENCHQ_BROKER_URL"):
        flower_env(settings.model_copy(update={"broker_url": None}))
