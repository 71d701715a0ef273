"""What the ops commands share with `benchq.cli`: settings errors and exit codes.

Kept here rather than imported from `benchq.cli` so that the CLI can import
these commands at module level without an import cycle.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import click

from benchq.config.settings import Settings, load_settings
from benchq.errors import BenchqError, ConfigError


def read_settings() -> Settings:
    """Settings from the environment and `.env`; a bad value is a `ConfigError` naming it."""
    from pydantic import ValidationError

    try:
        return load_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"setting {field} (BENCHQ_{field.upper()}): {first['msg']}") from exc


def fail(exc: BenchqError) -> NoReturn:
    """One line on stderr and the error's exit code, as every benchq command does."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


def run_command(body: Callable[[], None]) -> None:
    """Run a command body, turning benchq errors and Ctrl-C into exit codes."""
    try:
        body()
    except BenchqError as exc:
        fail(exc)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
