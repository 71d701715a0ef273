"""`benchq flower`: Celery's Flower on the configured broker, always behind basic auth.

Flower lists every job with its arguments (whole billing documents) and can
revoke jobs and shut workers down, so it never starts open: without
`BENCHQ_FLOWER_USER` and `BENCHQ_FLOWER_PASSWORD` the command exits with 2.

The credentials reach Flower through its `FLOWER_BASIC_AUTH` environment
variable, which Flower reads exactly like `--basic-auth`: a command line is
readable by every user of the machine (`ps`), a process's environment only by
its owner and root. Flower itself leaves `/metrics`, `/static/` and unknown
paths open whatever its auth says; it runs through `benchq.ops.flower_server`,
which closes every path but a `/healthcheck` that answers `OK` and nothing else.
"""

from __future__ import annotations

import os
import sys

import click

from benchq.cli_support import handle_errors, read_settings
from benchq.config.settings import Settings
from benchq.errors import ConfigError

#: The Celery app Flower inspects: the one the workers run.
CELERY_APP = "benchq.workers.app:app"


def basic_auth(settings: Settings) -> str:
    """Flower's `user:password` for these settings; refuses missing or unusable values."""
    user = settings.flower_user.get_secret_value() if settings.flower_user else ""
    password = settings.flower_password.get_secret_value() if settings.flower_password else ""
    missing = [
        name
        for name, value in (("BENCHQ_FLOWER_USER", user), ("BENCHQ_FLOWER_PASSWORD", password))
        if not value
    ]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not set: Flower shows every job and can revoke them, "
            "so benchq starts it only behind basic auth"
        )
    # Flower splits the option at commas (several user:password pairs) and each
    # pair at its first colon, so these characters would silently change the
    # credentials it checks.
    if ":" in user or "," in user:
        raise ConfigError("BENCHQ_FLOWER_USER must not contain ':' or ','")
    if "," in password:
        raise ConfigError("BENCHQ_FLOWER_PASSWORD must not contain ','")
    return f"{user}:{password}"


def flower_argv(*, address: str, port: int, url_prefix: str | None = None) -> list[str]:
    """The command line of Flower for benchq's Celery app (no credentials in it)."""
    argv = [
        sys.executable,
        "-m",
        "benchq.ops.flower_server",
        "-A",
        CELERY_APP,
        "flower",
        f"--address={address}",
        f"--port={port}",
    ]
    if url_prefix:
        argv.append(f"--url_prefix={url_prefix}")
    return argv


def flower_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Flower runs with: the broker, the credentials, nothing open."""
    if not settings.broker_url:
        raise ConfigError("BENCHQ_BROKER_URL is not set: Flower watches the workers' broker")
    env = dict(os.environ if base is None else base)
    env["BENCHQ_BROKER_URL"] = settings.broker_url
    if settings.result_backend:
        env["BENCHQ_RESULT_BACKEND"] = settings.result_backend
    env["FLOWER_BASIC_AUTH"] = basic_auth(settings)
    # An inherited FLOWER_UNAUTHENTICATED_API would open the API if auth were
    # ever lost; it has no business in this process.
    env.pop("FLOWER_UNAUTHENTICATED_API", None)
    return env


@click.command("flower")
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 in a container behind a published port).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=5555, show_default=True)
@click.option("--url-prefix", default=None, help="Serve under this path (behind a proxy).")
def flower(address: str, port: int, url_prefix: str | None) -> None:
    """Start Flower on the configured broker, behind basic auth (BENCHQ_FLOWER_*)."""

    def start() -> None:
        env = flower_env(read_settings())
        argv = flower_argv(address=address, port=port, url_prefix=url_prefix)
        # exec, as `benchq worker` does: signals from docker or systemd reach Flower itself.
        os.execve(argv[0], argv, env)

    handle_errors(start)()


if __name__ == "__main__":
    flower()
