"""The `benchq` command.

Every command reads the settings once, turns `BenchqError`s into a one-line
message on stderr and their exit code (2 for bad input), and never prints a
traceback for a user's mistake.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.text import Text

from benchq.cli_support import err_console, handle_errors, read_settings
from benchq.collector import tune_process

if TYPE_CHECKING:
    from benchq.producers.runner import RunOutcome


def _console(as_json: bool) -> Console:
    """Where a run's progress and summary go: stdout, or stderr when stdout carries JSON."""
    return Console(stderr=as_json, soft_wrap=True)


def _finish(outcome: RunOutcome, as_json: bool) -> None:
    """Print the outcome's JSON if asked, then exit with its code."""
    if as_json:
        from benchq.cli_summary import outcome_json

        click.echo(outcome_json(outcome))
    unsure = sorted(m for m, v in outcome.verdicts.items() if v.status == "inconclusive")
    if unsure:
        # Not a failure of the gate, but a reader must not take it for "ok".
        err_console.print(
            f"inconclusive: {', '.join(unsure)} dropped by more than the threshold, but these "
            "cases cannot tell it from chance; more cases or --repeat would (docs/verdicts.md)",
            markup=False,
            highlight=False,
        )
    _exit_for(outcome.exit_code)


_json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the outcome as one JSON object on stdout (progress and summary go to stderr).",
)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.version_option(package_name="benchq")
def main(verbose: bool) -> None:
    """benchq: benchmark language models on billing documents, continuously."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


_suite_option = click.option(
    "--suite",
    type=click.Path(path_type=Path),
    default=None,
    help="Suite folder (inputs/ + expected_outputs/) or .jsonl file. Default: the bundled sample.",
)
_models_option = click.option(
    "--models", default="baseline", show_default=True, help="Comma-separated registry names."
)
_cache_option = click.option(
    "--no-cache", is_flag=True, help="Call the models even where a cached answer exists."
)
_dataset_option = click.option(
    "--dataset-version",
    default=None,
    help="Dataset label to store results under (also BENCHQ_DATASET_VERSION). "
    "Default: the suite's name and a digest of its contents, so an edited suite "
    "starts a history of its own.",
)
_repeat_option = click.option(
    "--repeat",
    "repeats",
    type=click.IntRange(min=1, max=100),
    default=1,
    show_default=True,
    help="Run each (model, case) this many times (the cache is skipped after the first): "
    "each case's outcome becomes a rate, intervals and verdicts use it, unstable cases "
    "are named.",
)
_threshold_option = click.option(
    "--regression-threshold",
    type=click.FloatRange(min=0, max=1),
    default=0.05,
    show_default=True,
    help="Largest tolerated drop of F1 below the baseline's (absolute, the original's rule).",
)


@main.command()
@_suite_option
@_models_option
@click.option("--run-id", default=None, help="Run id (default: time + random suffix).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=None)
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=None, help="Give up after seconds."
)
@_cache_option
@_dataset_option
@_repeat_option
@_threshold_option
@_json_option
@handle_errors
def run(
    suite: Path | None,
    models: str,
    run_id: str | None,
    workers: int | None,
    results_dir: Path | None,
    timeout: float | None,
    no_cache: bool,
    dataset_version: str | None,
    repeats: int,
    regression_threshold: float,
    as_json: bool,
) -> None:
    """Run a benchmark and wait for it: enqueue, process, aggregate, publish, summarise.

    With no broker configured, starts a private Redis and worker processes
    for the run and stops them afterwards.

    Exit codes: 0 every model published and none regressed; 1 the run or a
    model failed, or the broker or store could not be reached; 2 bad input
    (suite, flags, settings); 3 a model regressed against its baseline.
    """
    settings = read_settings(results_dir=results_dir, dataset_version=dataset_version)
    from benchq.cli_run import run_benchmark

    # This process loads a suite, sends its jobs and reads back its results:
    # collector passes spaced out as in a worker (benchq.collector).
    tune_process()
    outcome = run_benchmark(
        settings,
        suite_path=suite,
        models=models,
        run_id=run_id,
        workers=workers,
        timeout=timeout,
        console=_console(as_json),
        use_cache=not no_cache,
        regression_threshold=regression_threshold,
        repeats=repeats,
    )
    _finish(outcome, as_json)


def _exit_for(code: int) -> None:
    """Exit with a run's code, saying why on stderr when it is not 0."""
    if code == 1:
        err_console.print(
            "[bold red]failed:[/] at least one model failed; nothing published for it"
        )
    elif code == 3:
        err_console.print("[bold red]regression:[/] at least one model fell below its baseline")
    if code:
        sys.exit(code)


@main.command()
@_suite_option
@_models_option
@click.option("--run-id", default=None, help="Run id (default: time + random suffix).")
@click.option(
    "--wait",
    is_flag=True,
    help="Block until the run is published; exit 1 if it failed, 3 if a model regressed.",
)
@click.option("--timeout", type=click.FloatRange(min=1), default=None, help="With --wait.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=None)
@_cache_option
@_dataset_option
@_repeat_option
@_threshold_option
@_json_option
@handle_errors
def enqueue(
    suite: Path | None,
    models: str,
    run_id: str | None,
    wait: bool,
    timeout: float | None,
    results_dir: Path | None,
    no_cache: bool,
    dataset_version: str | None,
    repeats: int,
    regression_threshold: float,
    as_json: bool,
) -> None:
    """Enqueue a run for the workers on the configured broker and print its run id.

    Without --wait it returns at once: all a cron line or CI job needs. With
    --wait, exit codes are those of `benchq run`: 0 clean, 1 failed, 2 bad
    input, 3 regression.
    """
    settings = read_settings(results_dir=results_dir, dataset_version=dataset_version)
    from benchq.cli_summary import print_summary
    from benchq.producers.runner import enqueue_only, wait_and_collect

    plan = enqueue_only(
        settings,
        suite_path=suite,
        models=models,
        run_id=run_id,
        use_cache=not no_cache,
        regression_threshold=regression_threshold,
        repeats=repeats,
    )
    if not wait:
        click.echo(json.dumps({"run_id": plan.run_id}) if as_json else plan.run_id)
        return
    if not as_json:
        click.echo(plan.run_id)
    # The summary goes to stderr: stdout is the run id (or the JSON) for scripts.
    console = Console(stderr=True, soft_wrap=True)
    outcome = wait_and_collect(settings, plan, timeout=timeout, console=console)
    print_summary(outcome, 0.0, console)
    _finish(outcome, as_json)


@main.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Model calls in flight per model (default: BENCHQ_WORKER_CONCURRENCY).",
)
@click.option("--pool", type=click.Choice(["threads", "prefork", "solo"]), default=None)
@click.option("--name", default=None, help="Node name (default: benchq@<host>).")
@click.option(
    "--role",
    type=click.Choice(["all", "models", "publish"]),
    default="all",
    show_default=True,
    help="models: call models (provider queues; needs model keys, not the store's); "
    "publish: write results, snapshots and verdicts (needs the store's credentials, "
    "no model key); all: both.",
)
@click.option("--queues", default=None, help="Comma-separated queues (overrides --role).")
@click.option("--loglevel", default="INFO", show_default=True)
@handle_errors
def worker(
    concurrency: int | None,
    pool: str | None,
    name: str | None,
    role: str,
    queues: str | None,
    loglevel: str,
) -> None:
    """Start a Celery worker on the configured broker (BENCHQ_BROKER_URL)."""
    import os

    from benchq.config.settings import MIN_AUTO_BATCH
    from benchq.errors import ConfigError
    from benchq.jobs.names import PUBLISH_QUEUE
    from benchq.local.worker_pool import celery_worker_args, worker_argv, worker_env
    from benchq.producers.models import all_queues

    settings = read_settings()
    if not settings.broker_url:
        raise ConfigError("BENCHQ_BROKER_URL is not set: a worker needs a broker to listen to")
    known = all_queues(settings)
    by_role = {
        "all": known,
        "models": [q for q in known if q != PUBLISH_QUEUE],
        "publish": [PUBLISH_QUEUE],
    }
    chosen = [q.strip() for q in queues.split(",")] if queues else by_role[role]
    unknown = [q for q in chosen if q not in known]
    if unknown or not chosen:
        # A worker on a queue nobody sends to would wait for ever, silently.
        raise ConfigError(
            f"--queues: {', '.join(unknown) or '(none)'} is not a queue any model uses; "
            f"known queues: {', '.join(known)}"
        )
    calls = concurrency or settings.worker_concurrency
    # Unless a batch size is set, producers cut 20 cases a job or more (by
    # *their* BENCHQ_WORKER_CONCURRENCY, `auto_batch_size`): a pool sized for
    # 20 keeps every call slot busy with whichever they send.
    explicit = "batch_size" in settings.model_fields_set
    batch = settings.batch_size if explicit else MIN_AUTO_BATCH
    argv = worker_argv(
        celery_worker_args(
            name=name or "benchq@%h",
            queues=chosen,
            pool=pool or settings.worker_pool,
            concurrency=calls,
            batch_size=batch,
            loglevel=loglevel,
        )
    )
    os.environ.update(worker_env(calls, batch))
    os.execv(argv[0], argv)


@main.command()
@click.argument("run_id")
@click.option(
    "--suite",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the run's suite is now (default: where the run read it). Must be the same bills.",
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes.")
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=None, help="Give up after seconds."
)
@click.option("--results-dir", type=click.Path(path_type=Path), default=None)
@_json_option
@handle_errors
def resume(
    run_id: str,
    suite: Path | None,
    workers: int | None,
    timeout: float | None,
    results_dir: Path | None,
    as_json: bool,
) -> None:
    """Finish a failed, interrupted or lost run: run exactly the cases it lacks.

    Every result the run stored is kept. The (model, case) pairs without a
    result are enqueued again, each model's chain (aggregate, publish,
    verdict) runs to its end, and the run gets its files, verdicts and
    notification. Exit codes are those of `benchq run`.
    """
    settings = read_settings(results_dir=results_dir)
    from benchq.cli_run import resume_benchmark

    # This process loads a suite, sends its jobs and reads back its results:
    # collector passes spaced out as in a worker (benchq.collector).
    tune_process()
    outcome = resume_benchmark(
        settings,
        run_id=run_id,
        suite_path=suite,
        workers=workers,
        timeout=timeout,
        console=_console(as_json),
    )
    _finish(outcome, as_json)


@main.command()
@click.argument("run_id")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder to write to (default: BENCHQ_RESULTS_DIR, benchmarks/results).",
)
@handle_errors
def results(run_id: str, out: Path | None) -> None:
    """Write a run's result files in the original formats, from the store.

    For each published model: aggregated_metrics_<model>.json and the
    monitoring record <model>_benchmark_results.json; the run's last
    published model is also aggregated_metrics.json. Works for any run,
    from any machine that reaches the store, whether or not a producer
    waited for it. Exit 1 when the run has a failed model or is not over.
    """
    from benchq.errors import NotFound
    from benchq.store.factory import open_store
    from benchq.store.run_files import run_results, write_run_files

    settings = read_settings(results_dir=out)
    store = open_store(settings)
    try:
        try:
            found = run_results(store, run_id)
        except NotFound:
            from benchq.errors import ConfigError

            raise ConfigError(f"no run {run_id!r} in the store") from None
    finally:
        store.close()
    for path in write_run_files(found, settings.results_dir):
        click.echo(f"wrote {path}")
    for model, error in found.failures.items():
        err_console.print(f"{model}: failed, no files: {error}", markup=False, highlight=False)
    if found.pending:
        err_console.print(
            f"not over yet (status {found.run.status.value}): {', '.join(found.pending)}",
            markup=False,
        )
    if found.failures or found.pending:
        sys.exit(1)


@main.group()
def cases() -> None:
    """Suites of cases: generate synthetic ones, check existing ones."""


@cases.command("generate")
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Number of documents.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
@handle_errors
def cases_generate(n: int, seed: int, out: Path) -> None:
    """Write N synthetic documents with exact ground truth (same seed, same bytes)."""
    from benchq.cases.generate import generate_suite

    names = generate_suite(n, seed, out)
    click.echo(f"wrote {len(names)} cases to {out}")


@cases.command("check")
@click.argument("suite", type=click.Path(path_type=Path))
@handle_errors
def cases_check(suite: Path) -> None:
    """Check a suite without running it: every problem of every file, one line each.

    Prints `file[:line]: error|warning: field: what is wrong` per problem, then
    a one-line count of cases, skipped inputs and warnings. Exits 2 when any
    problem stops the suite from loading.
    """
    from benchq.cases.suite import check_suite

    settings = read_settings()
    report = check_suite(suite, max_input_bytes=settings.max_input_bytes)
    for problem in report.problems:
        click.echo(str(problem))
    if report.errors:
        err_console.print(
            Text.assemble(("error: ", "bold red"), report.summary(), ": the suite cannot be used"),
            highlight=False,
        )
        sys.exit(2)
    click.echo(report.summary())


def _register_subcommands() -> None:
    from benchq.cli_store import convert, db, push, snapshots
    from benchq.dashboard.command import dashboard
    from benchq.ops.flower import flower
    from benchq.ops.schedule import schedule
    from benchq.report.command import report

    for command in (convert, push, snapshots, db, dashboard, flower, schedule, report):
        main.add_command(command)


_register_subcommands()

if __name__ == "__main__":
    main()
