"""What every `benchq` command shares (main, store and ops commands): errors and settings."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from rich.console import Console
from rich.text import Text

from benchq.config.settings import Settings, load_settings
from benchq.errors import BenchqError

F = TypeVar("F", bound=Callable[..., Any])

# soft_wrap: an error line is never broken, so logs and greps see it whole.
err_console = Console(stderr=True, soft_wrap=True)


def handle_errors(func: F) -> F:
    """Turn BenchqError into a one-line message and its exit code; Ctrl-C into 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BenchqError as exc:
            # A Text, not markup: messages quote field paths like `items[2]`,
            # which rich would otherwise take for style tags and drop.
            err_console.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err_console.print("interrupted; everything this command started was stopped")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def read_settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad value is a ConfigError naming the variable."""
    from pydantic import ValidationError

    from benchq.errors import ConfigError

    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"setting {field} (BENCHQ_{field.upper()}): {first['msg']}") from exc
