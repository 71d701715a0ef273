"""docker-compose.yml and the Dockerfile, checked as far as this machine allows.

No Docker engine runs here (nor in CI), so no image is built and no container
started. What is checked: the compose file validates and resolves as intended
(`docker-compose config`, Debian's package), the Redis service's exact command
runs on the local redis-server with a password and append-only persistence,
every benchq command the services run exists, and the Dockerfile copies
nothing that .dockerignore leaves out.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from benchq.local.process import spawn, stop
from tests.conftest import REPO

PASSWORD = "0123456789abcdefComposeTest"
PYTHON_SERVICES = {"worker", "flower", "dashboard", "scheduler", "enqueue"}


def _compose_config(tmp: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed (scripts/setup.sh --dev installs it)")
    project = tmp / "project"
    project.mkdir(exist_ok=True)
    shutil.copy(REPO / "docker-compose.yml", project / "docker-compose.yml")
    # As a user would: .env copied from the example, the required values filled in.
    shutil.copy(REPO / ".env.example", project / ".env")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "REDIS_"))}
    return subprocess.run(
        [
            exe,
            "--project-directory",
            str(project),
            "-f",
            str(project / "docker-compose.yml"),
            "--profile",
            "tools",
            "config",
        ],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    proc = _compose_config(tmp_path_factory.mktemp("compose"), {"REDIS_PASSWORD": PASSWORD})
    assert proc.returncode == 0, proc.stderr
    parsed: dict[str, Any] = yaml.safe_load(proc.stdout)
    return parsed


def test_compose_file_validates_with_every_service(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {"redis"} | PYTHON_SERVICES
    assert set(config["volumes"]) == {"redis-data", "benchq-data"}


def test_python_services_share_one_image_broker_and_store(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in PYTHON_SERVICES:
        svc = services[name]
        assert svc["image"] == "benchq:latest", name
        assert svc["build"]["context"].endswith("project"), name
        env = svc["environment"]
        assert env["BENCHQ_BROKER_URL"] == f"redis://:{PASSWORD}@redis:6379/0", name
        assert env["BENCHQ_STORE_URL"] == "sqlite:////data/benchq.db", name
        assert "benchq-data:/data" in " ".join(map(str, svc["volumes"])), name
    assert services["scheduler"]["environment"]["BENCHQ_TRIGGERED_BY"] == "schedule"


def test_services_run_the_intended_commands(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["worker"]["command"][0] == "worker"
    assert services["flower"]["command"] == ["flower", "--address", "0.0.0.0", "--port", "5555"]
    assert services["dashboard"]["command"] == ["dashboard", "--host", "0.0.0.0", "--port", "5006"]
    assert services["scheduler"]["command"] == ["schedule"]
    assert services["enqueue"]["entrypoint"] == ["benchq", "enqueue"]
    for name in ("worker", "flower", "scheduler", "enqueue"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_workers_can_be_scaled(config: dict[str, Any]) -> None:
    # `--scale worker=N` fails on a fixed container name or a published host port.
    worker = config["services"]["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker


def test_published_ports_stay_on_the_loopback_by_default(config: dict[str, Any]) -> None:
    published = {
        name: svc.get("ports", []) for name, svc in config["services"].items() if svc.get("ports")
    }
    assert set(published) == {"redis", "flower", "dashboard"}
    for name, ports in published.items():
        for port in ports:
            text = port if isinstance(port, str) else str(port.get("host_ip"))
            assert text.startswith("127.0.0.1"), (name, port)


def test_compose_refuses_to_start_without_a_redis_password(tmp_path: Path) -> None:
    proc = _compose_config(tmp_path, {})
    assert proc.returncode != 0
    assert "REDIS_PASSWORD" in proc.stderr


def test_the_redis_service_command_requires_the_password_and_persists(
    config: dict[str, Any], tmp_path: Path
) -> None:
    """The compose command itself, run on the local redis-server (image: redis:7)."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    service = config["services"]["redis"]
    # `$$` in compose output is a literal `$` for the container's shell.
    command = [part.replace("$$", "$") for part in service["command"]]
    data = tmp_path / "data"
    data.mkdir()
    sock = tmp_path / "redis.sock"
    # The container's /data becomes a temporary folder (redis changes into its
    # --dir at once, so it cannot be overridden later); appended options win
    # over earlier ones: no TCP port here, a private socket instead.
    assert command[command.index("--dir") + 1] == "/data"
    command[command.index("--dir") + 1] = str(data)
    argv = [*command, "--port", "0", "--unixsocket", str(sock)]
    proc = spawn(argv, env={**os.environ, **service["environment"]})
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert proc.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        anonymous = redis.Redis(unix_socket_path=str(sock))
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.ping()
        client = redis.Redis(unix_socket_path=str(sock), password=PASSWORD)
        assert client.ping()
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        client.set("queued-job", "1")
        # The password is not on any command line `ps` could show.
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert PASSWORD.encode() not in cmdline
    finally:
        stop(proc)
    assert any(data.rglob("*.aof")), "no append-only file written"


def test_every_benchq_command_the_stack_runs_exists(config: dict[str, Any]) -> None:
    services = config["services"]
    commands = {services[name]["command"][0] for name in PYTHON_SERVICES - {"enqueue"}}
    commands.add(services["enqueue"]["entrypoint"][1])
    for command in sorted(commands):
        proc = subprocess.run(
            [sys.executable, "-m", "benchq.cli", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, f"benchq {command}: {proc.stderr}"


def _dockerignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.removeprefix("!").removeprefix("**/").rstrip("/")
        if fnmatch.fnmatch(path, body) or path.startswith(body + "/"):
            ignored = not negate
    return ignored


def test_the_dockerfile_copies_only_what_exists_and_is_not_ignored() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert _dockerignored(".env", patterns)  # secrets never reach the image
    assert _dockerignored(".git", patterns)
    sources = []
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            sources += [s for s in line.split()[1:-1] if not s.startswith("--")]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert not _dockerignored(source, patterns), source
    text = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["benchq"]' in text
    assert "\nUSER benchq" in text
