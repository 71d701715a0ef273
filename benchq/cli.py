"""The `benchq` command.

Every command reads the settings once, turns `BenchqError`s into a one-line
message on stderr and their exit code (2 for bad input), and never prints a
traceback for a user's mistake.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from benchq.config.settings import Settings, load_settings
from benchq.errors import BenchqError

F = TypeVar("F", bound=Callable[..., Any])

err_console = Console(stderr=True)


def _handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BenchqError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err_console.print("interrupted; everything this command started was stopped")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _settings(**overrides: object) -> Settings:
    from pydantic import ValidationError

    from benchq.errors import ConfigError

    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"setting {field} (BENCHQ_{field.upper()}): {first['msg']}") from exc


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.version_option(package_name="benchq")
def main(verbose: bool) -> None:
    """benchq: benchmark language models on billing documents, continuously."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option(
    "--suite",
    type=click.Path(path_type=Path),
    default=None,
    help="Suite folder (inputs/ + expected_outputs/) or .jsonl file. Default: the bundled sample.",
)
@click.option("--models", default="baseline", show_default=True, help="Comma-separated models.")
@click.option("--run-id", default=None, help="Run id (default: time + random suffix).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=None)
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=None, help="Give up after seconds."
)
@_handle_errors
def run(
    suite: Path | None,
    models: str,
    run_id: str | None,
    workers: int | None,
    results_dir: Path | None,
    timeout: float | None,
) -> None:
    """Run a benchmark and wait for it: enqueue, process, aggregate, summarise.

    With no broker configured, starts a private Redis and worker processes
    for the run and stops them afterwards.
    """
    from benchq.producers.runner import run_benchmark

    settings = _settings(results_dir=results_dir)
    run_benchmark(
        settings,
        suite_path=suite,
        models=models,
        run_id=run_id,
        workers=workers,
        timeout=timeout,
        console=Console(),
    )


@main.command()
@click.option("--suite", type=click.Path(path_type=Path), default=None, help="Suite to enqueue.")
@click.option("--models", default="baseline", show_default=True, help="Comma-separated models.")
@click.option("--run-id", default=None, help="Run id (default: time + random suffix).")
@_handle_errors
def enqueue(suite: Path | None, models: str, run_id: str | None) -> None:
    """Enqueue a run on the configured broker and print its run id; returns at once."""
    from benchq.producers.runner import enqueue_only

    settings = _settings()
    click.echo(enqueue_only(settings, suite_path=suite, models=models, run_id=run_id))


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--concurrency", type=click.IntRange(min=1), default=None)
@click.option("--pool", type=click.Choice(["threads", "prefork", "solo"]), default=None)
@click.option("--name", default=None, help="Node name (default: benchq@<host>).")
@click.option("--queues", default=None, help="Comma-separated queues (default: all).")
@click.option("--loglevel", default="INFO", show_default=True)
@_handle_errors
def worker(
    concurrency: int | None, pool: str | None, name: str | None, queues: str | None, loglevel: str
) -> None:
    """Start a Celery worker on the configured broker (BENCHQ_BROKER_URL)."""
    import os

    from benchq.errors import ConfigError
    from benchq.local.worker_pool import worker_argv
    from benchq.producers.models import all_queues

    settings = _settings()
    if not settings.broker_url:
        raise ConfigError("BENCHQ_BROKER_URL is not set: a worker needs a broker to listen to")
    argv = worker_argv(
        name=name or "benchq@%h",
        queues=queues.split(",") if queues else all_queues(settings),
        pool=pool or settings.worker_pool,
        concurrency=concurrency or settings.worker_concurrency,
        loglevel=loglevel,
    )
    os.execv(argv[0], argv)


@main.group()
def cases() -> None:
    """Suites of cases: generate synthetic ones, check existing ones."""


@cases.command("generate")
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Number of documents.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
@_handle_errors
def cases_generate(n: int, seed: int, out: Path) -> None:
    """Write N synthetic documents with exact ground truth (same seed, same bytes)."""
    from benchq.cases.generate import generate_suite

    names = generate_suite(n, seed, out)
    click.echo(f"wrote {len(names)} cases to {out}")


@cases.command("check")
@click.argument("suite", type=click.Path(path_type=Path))
@_handle_errors
def cases_check(suite: Path) -> None:
    """Validate a suite without running it."""
    from benchq.cases.suite import load_suite

    loaded = load_suite(suite)
    click.echo(f"{suite}: {len(loaded.cases)} cases, {len(loaded.skipped)} skipped")


if __name__ == "__main__":
    main()
