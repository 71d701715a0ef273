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
from benchq.ops.flower_server import credentials_match, secured
from benchq.producers.enqueue import enqueue_run
from benchq.producers.models import resolve_models
from benchq.producers.plan import plan_run
from benchq.producers.wait import wait_for_run
from benchq.store.factory import open_target, resolve_store_target
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import enqueue, settings_for, workers
from tests.standin.server import StandinServer

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


def _raw(url: str, auth: tuple[str, str] | None = None) -> tuple[int, bytes, Any]:
    """Status, body and headers (names in any case) of a GET, whatever the status."""
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


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


def _await_events(base: str, settings: Settings) -> None:
    """Wait until Flower sees the workers' task events.

    They are off until a monitor asks for them; Flower turns them on in the
    workers every few seconds. Once it has, a ping task shows up in Flower.
    """
    app = make_app(settings)

    def events_flowing() -> bool:
        app.signature("benchq.ping", queue=PUBLISH_QUEUE).apply_async()
        status, body = _get(f"{base}/api/tasks?limit=1000", (USER, PASSWORD))
        assert status == 200, body
        return any(t["name"] == "benchq.ping" for t in body.values())

    _until(events_flowing, "task events from the worker")


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

        _await_events(base, settings)
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


# --- every path but the health check needs credentials ---------------------------------------


def _sample_path(pattern: str) -> str:
    """A concrete path a Flower route pattern matches (`(.+)`, `(.*)` -> `x`)."""
    path = pattern.rstrip("$").replace("(.+)", "x").replace("(.*)", "x").replace("/?", "")
    return "/no-such-page" if path == ".*" else path


def test_every_flower_route_needs_credentials_but_the_health_check(
    flower: tuple[str, Settings],
) -> None:
    from flower.urls import handlers

    base, _ = flower
    routes = [
        h.regex.pattern if hasattr(h, "regex") else h[0]
        for h in handlers  # this process's unpatched table: every route Flower has
    ]
    paths = sorted(
        {_sample_path(r) for r in routes}
        | {"/static/css/flower.css", "/favicon.ico", "/robots.txt"}
    )
    assert "/metrics" in paths and "/api/tasks" in paths and len(paths) > 25
    for path in paths:
        if path == "/healthcheck":
            continue
        for auth in (None, (USER, "wrong"), ("someone", PASSWORD)):
            status, body, headers = _raw(base + path, auth)
            assert status == 401, (path, auth, status, body[:200])
            assert headers.get("WWW-Authenticate") == 'Basic realm="flower"', path
            assert "Server" not in headers, path
    # The health check reveals nothing: OK, no server name, no cookie.
    status, body, headers = _raw(base + "/healthcheck")
    assert (status, body) == (200, b"OK")
    assert "Server" not in headers and "Set-Cookie" not in headers
    # With the credentials, the formerly open paths answer.
    status, body, _ = _raw(base + "/metrics", (USER, PASSWORD))
    assert status == 200 and b"flower_" in body
    status, body, _ = _raw(base + "/static/css/flower.css", (USER, PASSWORD))
    assert status == 200 and body


def test_the_route_table_is_rewritten_whole() -> None:
    """Unit: every route of Flower's table guarded, the health check replaced."""
    from flower.urls import handlers

    table = secured(list(handlers))
    assert len(table) == len(handlers)
    names = {spec.regex.pattern: spec.handler_class.__name__ for spec in table}
    assert names["/healthcheck$"] == "Healthcheck"
    assert all(n.startswith("Guarded") for p, n in names.items() if p != "/healthcheck$")
    token = base64.b64encode(b"ops:pw").decode()
    assert credentials_match(f"Basic {token}", ["ops:pw"])
    assert not credentials_match(f"Basic {token}", ["ops:other"])
    assert not credentials_match(f"Bearer {token}", ["ops:pw"])
    assert not credentials_match("Basic !!!", ["ops:pw"])
    assert not credentials_match(None, ["ops:pw"])
    assert not credentials_match(f"Basic {token}", [])


# --- a retried job shows ids, never the bill it carries -------------------------------------------

THROTTLED = """
[models.slowai]
provider = "openai"
model_id = "slow-model"
requests_per_minute = 60
tokens_per_minute = 0
concurrency = 8
"""


def test_a_retried_job_shows_flower_case_ids_only(
    flower: tuple[str, Settings], clean_env: Path
) -> None:
    """Jobs deferred by their model's rate limit are retried (`JobTask.retry`) with their
    remaining cases: the retry's message must show Flower ids, as the first one did."""
    base, settings = flower
    suite = clean_env / "suite"
    generate_suite(12, 7, suite)
    (clean_env / "models.toml").write_text(THROTTLED)
    auth = (USER, PASSWORD)
    with StandinServer() as standin:
        model_env = {
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": standin.openai_base_url,
            "BENCHQ_REGISTRY_PATH": str(clean_env / "models.toml"),
            # slowai starts one call a second after a burst of 6; a case that
            # would wait longer than 0.2 s sends its job back to the queue.
            "BENCHQ_LIMIT_DEFER_AFTER": "0.2",
        }
        settings = settings.model_copy(
            update={"registry_path": clean_env / "models.toml", "openai_api_key": "sk-test"}
        )
        settings = Settings.model_validate(settings.model_dump())
        with workers(settings, 1, prefix="retryw", extra_env=model_env) as pool:
            _await_events(base, settings)
            plan = plan_run(load_suite(suite), resolve_models(["slowai"], settings), batch_size=2)
            target = resolve_store_target(settings)
            store = open_target(target)
            enqueue_run(make_app(settings), plan, store, store_identity=target.identity)
            wait_for_run(store, plan.run_id, workers_alive=lambda: pool.alive() > 0, timeout=180)
            assert store.count_case_results(plan.run_id, "slowai") == 12
            store.close()

            def retried_jobs() -> list[dict[str, Any]]:
                status, body = _get(f"{base}/api/tasks?limit=1000", auth)
                assert status == 200, body
                jobs = [
                    t
                    for t in body.values()
                    if t["name"] == "benchq.run_cases" and plan.run_id in str(t.get("args"))
                ]
                done = len(jobs) == 6 and all(t["state"] == "SUCCESS" for t in jobs)
                return jobs if done and any(t.get("retries") for t in jobs) else []

            jobs = _until(retried_jobs, "the run's jobs, some retried, done in Flower")
    cases = load_suite(suite).cases
    for job in jobs:
        shown = ast.literal_eval(job["args"])
        assert set(shown[0]) == {"run_id", "model_name", "cases"}, job["args"]
        assert all(isinstance(c, str) for c in shown[0]["cases"])
        assert job["kwargs"] == "{}"
        assert not any(c.text[:40] in f"{job['args']}{job['kwargs']}" for c in cases)
    # a retry carries only the cases still to run: fewer ids than its first delivery had
    retried = [j for j in jobs if j.get("retries")]
    assert retried and all(len(ast.literal_eval(j["args"])[0]["cases"]) <= 2 for j in retried)
