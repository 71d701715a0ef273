"""docker-compose.yml and the Dockerfile, checked as far as this machine allows.

No Docker engine runs here (nor in CI), so no image is built and no container
started. What is checked: the compose file validates and resolves as intended
(`docker-compose config`, Debian's package), with each secret group's env file
reaching exactly the services that need it and every service naming a
non-root user; the Redis service's exact command runs on the local
redis-server, as an unprivileged user, with a password and append-only
persistence; every benchq command the services run exists; and the
Dockerfile copies nothing that .dockerignore leaves out.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from benchq.config.settings import Settings
from benchq.local.process import spawn, stop
from benchq.ops.env_example import GROUPS, env_names
from tests.conftest import REPO

PASSWORD = "0123456789abcdefComposeTest"
PYTHON_SERVICES = {"worker", "publisher", "flower", "dashboard", "scheduler", "enqueue"}
#: Which secret groups (env/<group>.env) each service gets, and no other.
NEEDS: dict[str, set[str]] = {
    "worker": {"models"},
    "publisher": {"store", "notify"},
    "flower": {"flower"},
    "dashboard": {"reader", "dashboard"},
    "scheduler": {"store", "models"},
    "enqueue": {"store", "models"},
}
#: The store's write credentials and the model keys: never together, but in a producer.
STORE_WRITE = {"BENCHQ_STORE_URL", "SUPABASE_SERVICE_ROLE_KEY"}
MODEL_KEYS = {"BENCHQ_OPENAI_API_KEY", "BENCHQ_GEMINI_API_KEY", "BENCHQ_MEDGEMMA_API_KEY"}


def group_vars(group: str) -> set[str]:
    """The variables (preferred names) of one secret group."""
    (found,) = [g for g in GROUPS if g.name == group]
    return {env_names(f, Settings.model_fields[f])[0] for f in found.fields}


def _filled(example: str) -> str:
    """An env file as a user fills it in: every commented-out variable given a value."""
    out = []
    for line in example.splitlines():
        name, eq, value = line.removeprefix("# ").partition("=")
        if line.startswith("# ") and eq and name.isupper() and " " not in name and not value:
            line = f"{name}=set-{name.lower()}"
        out.append(line)
    return "\n".join(out) + "\n"


def _compose_config(
    tmp: Path, env: dict[str, str], *, skip: str | None = None
) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed (scripts/setup.sh --dev installs it)")
    project = tmp / "project"
    project.mkdir(exist_ok=True)
    shutil.copy(REPO / "docker-compose.yml", project / "docker-compose.yml")
    # As a user would: .env copied from the example, the required values filled
    # in; each env/ file copied and every variable in it set (to see where it goes).
    shutil.copy(REPO / ".env.example", project / ".env")
    (project / "env").mkdir(exist_ok=True)
    for group in GROUPS:
        if group.name != skip:
            text = (REPO / f"{group.path}.example").read_text(encoding="utf-8")
            (project / group.path).write_text(_filled(text), encoding="utf-8")
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


def test_each_secret_group_reaches_exactly_the_services_that_need_it(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    every = {g.name for g in GROUPS}
    assert set(NEEDS) == PYTHON_SERVICES and set().union(*NEEDS.values()) == every
    for name, needs in NEEDS.items():
        env = services[name]["environment"]
        allowed = set().union(*(group_vars(g) for g in needs))
        for group in every - needs:
            leaked = (group_vars(group) - allowed) & set(env)
            assert not leaked, f"{name} holds {sorted(leaked)} of env/{group}.env"
        for variable in allowed:
            assert variable in env, f"{name} lacks {variable}"
    # The split the issue asks for, said plainly.
    assert set(services["worker"]["environment"]) >= MODEL_KEYS
    assert not STORE_WRITE & set(services["worker"]["environment"])
    assert set(services["publisher"]["environment"]) >= STORE_WRITE
    assert not MODEL_KEYS & set(services["publisher"]["environment"])
    assert "SUPABASE_READER_KEY" in services["dashboard"]["environment"]
    assert not (STORE_WRITE | MODEL_KEYS) & set(services["dashboard"]["environment"])
    assert "redis" not in NEEDS and "environment" in services["redis"]
    assert set(services["redis"]["environment"]) == {"REDIS_PASSWORD"}


def test_every_service_runs_as_a_non_root_user(config: dict[str, Any]) -> None:
    for name, svc in config["services"].items():
        user = str(svc.get("user", ""))
        uid = user.split(":")[0]
        assert uid and uid not in ("0", "root"), (name, user)
        assert ":" in user and user.split(":")[1] not in ("0", "root"), (name, user)
    assert config["services"]["redis"]["user"] == "999:999"  # the redis image's user
    for name in PYTHON_SERVICES:
        assert config["services"][name]["user"] == "10001:10001", name  # the Dockerfile's


def test_python_services_share_one_image_broker_and_store(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in PYTHON_SERVICES:
        svc = services[name]
        assert svc["image"] == "benchq:latest", name
        assert svc["build"]["context"].endswith("project"), name
        env = svc["environment"]
        assert env["BENCHQ_BROKER_URL"] == f"redis://:{PASSWORD}@redis:6379/0", name
        volumes = " ".join(map(str, svc.get("volumes", [])))
        # The store's file is on the volume: only the services that open the store mount it.
        assert ("benchq-data:/data" in volumes) == bool(NEEDS[name] & {"store", "reader"}), name
        if "store" in NEEDS[name]:
            assert env["BENCHQ_STORE_URL"] == "sqlite:////data/benchq.db", name
    assert services["dashboard"]["environment"]["BENCHQ_READER_STORE_URL"] == (
        "sqlite:////data/benchq.db"
    )
    assert services["scheduler"]["environment"]["BENCHQ_TRIGGERED_BY"] == "schedule"


def test_services_run_the_intended_commands(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["worker"]["command"][:3] == ["worker", "--role", "models"]
    assert services["publisher"]["command"][:3] == ["worker", "--role", "publish"]
    assert services["flower"]["command"] == ["flower", "--address", "0.0.0.0", "--port", "5555"]
    assert "/healthcheck" in " ".join(services["flower"]["healthcheck"]["test"])
    assert services["dashboard"]["command"] == ["dashboard", "--host", "0.0.0.0", "--port", "5006"]
    assert services["scheduler"]["command"] == ["schedule"]
    assert services["enqueue"]["entrypoint"] == ["benchq", "enqueue"]
    for name in ("worker", "publisher", "flower", "scheduler", "enqueue"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_workers_can_be_scaled(config: dict[str, Any]) -> None:
    # `--scale worker=N` fails on a fixed container name or a published host port.
    for name in ("worker", "publisher"):
        assert "container_name" not in config["services"][name], name
        assert "ports" not in config["services"][name], name


def test_compose_refuses_to_start_without_an_env_file_it_names(tmp_path: Path) -> None:
    proc = _compose_config(tmp_path, {"REDIS_PASSWORD": PASSWORD}, skip="notify")
    assert proc.returncode != 0
    assert "notify.env" in proc.stderr


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
    # As an unprivileged user, as the container runs it (user 999 there; the
    # local package's `redis` user here): the command needs no root. Its folder
    # is one that user can reach (pytest's own are private to root).
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="benchq-redis-", dir="/tmp")) if as_root else tmp_path
    data = base / "data"
    data.mkdir()
    sock = base / "redis.sock"
    # The container's /data becomes a temporary folder (redis changes into its
    # --dir at once, so it cannot be overridden later); appended options win
    # over earlier ones: no TCP port here, a private socket instead.
    assert command[command.index("--dir") + 1] == "/data"
    command[command.index("--dir") + 1] = str(data)
    argv = [*command, "--port", "0", "--unixsocket", str(sock)]
    if as_root:
        shutil.chown(base, "redis", "redis")
        shutil.chown(data, "redis", "redis")
        argv = ["setpriv", "--reuid=redis", "--regid=redis", "--clear-groups", *argv]
    proc = spawn(argv, env={**os.environ, **service["environment"]}, log_path=str(tmp_path / "log"))
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert proc.poll() is None, (tmp_path / "log").read_text(errors="replace")
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
        uids = Path(f"/proc/{proc.pid}/status").read_text().split("Uid:")[1].split()[:4]
        assert "0" not in uids, uids  # real, effective, saved and filesystem uid
    finally:
        stop(proc)
        log = (tmp_path / "log").read_text(errors="replace")
    try:
        assert any(data.rglob("*.aof")), f"no append-only file written; log:\n{log[-2000:]}"
    finally:
        if as_root:
            shutil.rmtree(base, ignore_errors=True)


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
    # the non-root user compose names (10001:10001), created with those very ids
    assert "\nUSER 10001:10001" in text
    assert "--uid 10001 --gid 10001" in text and "--gid 10001 benchq" in text
