"""`benchq convert`, `push`, `snapshots` and `db`: the original scripts' jobs, as commands.

They publish through the same store code as the workers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from benchq.cli_support import err_console, handle_errors, read_settings
from benchq.cli_tables import Column, print_table
from benchq.regression.original import RULES
from benchq.store.base import ResultsStore
from benchq.store.schema import Snapshot, SnapshotConfig

ENVIRONMENTS = ["github-actions", "local", "staging", "production"]


F = TypeVar("F", bound=Callable[..., Any])


def _config_options(func: F) -> F:
    func = click.option("--environment", type=click.Choice(ENVIRONMENTS), default="local",
                        show_default=True)(func)  # fmt: skip
    func = click.option("--prompt-version", default="v1", show_default=True)(func)
    func = click.option(
        "--dataset-version",
        default=None,
        help="Default: the one dataset the model version has snapshots of (several: name one).",
    )(func)
    func = click.option(
        "--model-version", required=True, help="e.g. openai-gpt-4o-mini (see `benchq snapshots`)"
    )(func)
    return func


@click.command()
@click.option("--input", "input_path", type=click.Path(path_type=Path), required=True)
@click.option("--output", "output_path", type=click.Path(path_type=Path), required=True)
@click.option("--model", default=None, help="Model name (default: the file's model_name).")
@click.option("--model-version", default=None, help="Default: <model>-v1.0.")
@click.option(
    "--model-provider", default=None, help="Default: the model name, as the original wrote it."
)
@click.option("--dataset-version", default="benchmark-set-v1", show_default=True)
@click.option("--prompt-version", default=None, help="Default: the file's prompt_version, else v1.")
@handle_errors
def convert(
    input_path: Path,
    output_path: Path,
    model: str | None,
    model_version: str | None,
    model_provider: str | None,
    dataset_version: str,
    prompt_version: str | None,
) -> None:
    """Convert an aggregated_metrics file into a monitoring record (the unit pushed)."""
    from benchq.store import commands

    record = commands.convert(
        input_path,
        output_path,
        model=model,
        model_version=model_version,
        model_provider=model_provider,
        dataset_version=dataset_version,
        prompt_version=prompt_version,
    )
    click.echo(f"wrote {output_path} ({record.model_version}, f1={_num(record.metrics.f1)})")


@click.command()
@click.option("--input", "input_path", type=click.Path(path_type=Path), required=True)
@click.option("--environment", type=click.Choice(ENVIRONMENTS), required=True)
@click.option("--commit-sha", required=True)
@click.option("--branch-name", default=None)
@click.option("--run-id", default=None, help="The CI run that pushes (e.g. GitHub run id).")
@click.option("--triggered-by", default=None)
@click.option("--tags", multiple=True, help="Repeat or comma-separate.")
@click.option("--notes", default=None)
@click.option(
    "--duration",
    type=float,
    default=None,
    help="The benchmark's execution time in seconds (default: the record's duration_seconds).",
)
@click.option("--verify", is_flag=True, help="Read the snapshot back and compare.")
@handle_errors
def push(
    input_path: Path,
    environment: str,
    commit_sha: str,
    branch_name: str | None,
    run_id: str | None,
    triggered_by: str | None,
    tags: tuple[str, ...],
    notes: str | None,
    duration: float | None,
    verify: bool,
) -> None:
    """Publish a monitoring record: a transaction and a new current snapshot.

    Takes the original's records and flags as they are (`--tags a b` as
    `--tags a --tags b`); a hostile or malformed record or flag is refused
    with the field named (exit 2), and nothing is written.
    """
    from benchq.store import commands

    meta = commands.push_metadata(
        environment=environment,
        commit_sha=commit_sha,
        branch_name=branch_name,
        run_id=run_id,
        triggered_by=triggered_by,
        tags=[t.strip() for tag in tags for t in tag.split(",") if t.strip()],
        notes=notes,
    )
    # Validate the file before opening the store: a bad file touches nothing.
    commands.load_push_record(input_path, duration)
    with _open_store() as store:
        result = commands.push(store, input_path, meta, verify=verify, duration_seconds=duration)
    snap = result.snapshot
    click.echo(
        f"published {snap.model_version} snapshot v{snap.snapshot_version} "
        f"({snap.environment}){' - verified' if result.verified else ''}"
    )


@contextmanager
def _open_store() -> Iterator[ResultsStore]:
    """The configured store, closed when the command is done with it."""
    from benchq.store.factory import open_store

    store = open_store(read_settings())
    try:
        yield store
    finally:
        store.close()


def _print_snapshots(rows: list[Snapshot], title: str, as_json: bool) -> None:
    """Snapshots as a table (names whole at any width, greppable piped) or as JSON."""
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    columns = [
        Column("model"), Column("model id"), Column("dataset"), Column("prompt"),
        Column("prompt digest"), Column("env"), Column("v", "right"), Column("F1", "right"),
        Column("precision", "right"), Column("recall", "right"),
        Column("latency ms", "right"), Column("flags"), Column("created"),
    ]  # fmt: skip
    table = []
    for s in rows:
        flags = " ".join(
            f for f, on in (("current", s.is_current), ("baseline", s.is_baseline)) if on
        )
        table.append([
            s.model_version, s.model_id or "-", s.dataset_version, s.prompt_version,
            s.prompt_digest or "-", s.environment, str(s.snapshot_version), _num(s.f1_score),
            _num(s.precision_score), _num(s.recall_score), _num(s.latency_ms, 1), flags or "-",
            s.created_at.strftime("%Y-%m-%d %H:%M"),
        ])  # fmt: skip
    print_table(title, columns, table)


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@click.group(invoke_without_command=True)
@click.option("--model-version", default=None)
@click.option("--environment", type=click.Choice(ENVIRONMENTS), default=None)
@click.option("--current", is_flag=True, help="Only the current snapshot of each configuration.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@handle_errors
def snapshots(
    ctx: click.Context,
    model_version: str | None,
    environment: str | None,
    current: bool,
    limit: int,
    as_json: bool,
) -> None:
    """List snapshots (what check_snapshots did); subcommands act on one configuration."""
    if ctx.invoked_subcommand is not None:
        return
    from benchq.store import commands

    with _open_store() as store:
        rows = commands.snapshots(
            store,
            model_version=model_version,
            environment=environment,
            current_only=current,
            limit=limit,
        )
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
    elif not rows:
        click.echo("no snapshots yet: run `benchq run` or `benchq push` first")
    else:
        _print_snapshots(rows, "snapshots, newest first", as_json=False)


def _config(
    store: ResultsStore,
    model_version: str,
    dataset_version: str | None,
    prompt_version: str,
    environment: str,
) -> SnapshotConfig:
    from benchq.store.commands import resolve_config

    return resolve_config(store, model_version, dataset_version, prompt_version, environment)


_json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@snapshots.command("history")
@_config_options
@_json_option
@handle_errors
def snapshots_history(
    model_version: str,
    dataset_version: str | None,
    prompt_version: str,
    environment: str,
    as_json: bool,
) -> None:
    """Every version of one configuration, newest first."""
    from benchq.store import commands

    with _open_store() as store:
        rows = commands.history(
            store, _config(store, model_version, dataset_version, prompt_version, environment)
        )
    if not rows and not as_json:
        click.echo(f"no snapshots of {model_version} ({environment})")
        return
    _print_snapshots(rows, f"history of {model_version}", as_json)


@snapshots.command("checkout")
@_config_options
@click.argument("version", type=click.IntRange(min=1))
@handle_errors
def snapshots_checkout(
    model_version: str,
    dataset_version: str | None,
    prompt_version: str,
    environment: str,
    version: int,
) -> None:
    """Make an older version the current one."""
    from benchq.store import commands

    with _open_store() as store:
        snap = commands.checkout(
            store,
            _config(store, model_version, dataset_version, prompt_version, environment),
            version,
        )
    click.echo(f"{snap.model_version} v{snap.snapshot_version} is now current")


@snapshots.command("baseline")
@_config_options
@click.argument("version", type=click.IntRange(min=1))
@handle_errors
def snapshots_baseline(
    model_version: str,
    dataset_version: str | None,
    prompt_version: str,
    environment: str,
    version: int,
) -> None:
    """Make a version the baseline that regression checks compare against."""
    from benchq.store import commands

    with _open_store() as store:
        snap = commands.baseline(
            store,
            _config(store, model_version, dataset_version, prompt_version, environment),
            version,
        )
    click.echo(f"{snap.model_version} v{snap.snapshot_version} is now the baseline")


@snapshots.command("compare")
@_config_options
@click.argument("a", type=click.IntRange(min=1))
@click.argument("b", type=click.IntRange(min=1))
@click.option("--cases", "with_cases", is_flag=True, help="Also list the cases that changed.")
@_json_option
@handle_errors
def snapshots_compare(
    model_version: str,
    dataset_version: str | None,
    prompt_version: str,
    environment: str,
    a: int,
    b: int,
    with_cases: bool,
    as_json: bool,
) -> None:
    """Compare two versions metric by metric (b minus a), and case by case with --cases.

    When the two versions scored different cases or ground truth, or came
    from another model id or prompt, that is said first: it, not the model,
    may be what changed the figures.
    """
    from benchq.store import commands
    from benchq.store.compare import what_differs

    with _open_store() as store:
        config = _config(store, model_version, dataset_version, prompt_version, environment)
        rows = commands.compare(store, config, a, b)
        differs = what_differs(store, config, a, b)
        changes = store.case_diff(config, a, b) if with_cases else []
    if as_json:
        payload = {
            "differences": differs,
            "metrics": [r.model_dump(mode="json") for r in rows],
            "cases": [c.model_dump(mode="json", exclude={"a", "b"}) for c in changes],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    for line in differs:
        err_console.print(f"note: {line}", markup=False, highlight=False)
    print_table(
        f"{model_version}: v{a} -> v{b}",
        [
            Column("metric"),
            Column(f"v{a}", "right"),
            Column(f"v{b}", "right"),
            Column("delta", "right"),
            Column("change", "right"),
        ],
        [
            [
                r.metric,
                _num(r.a, 4),
                _num(r.b, 4),
                _num(r.delta, 4),
                "-" if r.pct_change is None else f"{r.pct_change:+.1f}%",
            ]
            for r in rows
        ],
    )
    if with_cases:
        print_table(
            f"cases that changed from v{a} to v{b}",
            [
                Column("case"),
                Column("change"),
                Column("newly missed"),
                Column("newly found"),
                Column("new false alarms"),
                Column("cleared false alarms"),
            ],
            [
                [
                    c.case_id,
                    c.change,
                    ", ".join(c.newly_missed) or "-",
                    ", ".join(c.newly_found) or "-",
                    ", ".join(c.new_false_alarms) or "-",
                    ", ".join(c.cleared_false_alarms) or "-",
                ]
                for c in changes
            ],
        )


_SERIES = {
    "f1": ("f1_score", "F1"),
    "latency": ("latency_ms", "latency ms"),
    "cost": ("cost_per_analysis", "cost per document"),
}


@snapshots.command("changes")
@_config_options
@click.option(
    "--metric",
    "metrics",
    type=click.Choice(sorted(_SERIES)),
    multiple=True,
    help="Series to look at (repeatable; default: f1, latency and cost).",
)
@click.option(
    "--max-p",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.01,
    show_default=True,
    help="Largest permutation p-value of an accepted change point.",
)
@_json_option
@handle_errors
def snapshots_changes(
    model_version: str,
    dataset_version: str | None,
    prompt_version: str,
    environment: str,
    metrics: tuple[str, ...],
    max_p: float,
    as_json: bool,
) -> None:
    """Where the level of F1, latency or cost shifted over a configuration's history.

    E-divisive means with a permutation test over the active snapshots, oldest
    first (docs/verdicts.md): a change point is the first version of a new
    level, with the levels before and after it.
    """
    from benchq.regression.changepoints import detect_changes
    from benchq.store import commands

    with _open_store() as store:
        config = _config(store, model_version, dataset_version, prompt_version, environment)
        history = [s for s in commands.history(store, config) if s.is_active]
    found = {}
    for name in metrics or ("f1", "latency", "cost"):
        field, _ = _SERIES[name]
        points = [(s.snapshot_version, getattr(s, field)) for s in history]
        found[name] = detect_changes(points, max_p_value=max_p)
    if as_json:
        payload = {k: [c.model_dump(mode="json") for c in v] for k, v in found.items()}
        click.echo(json.dumps({"snapshots": len(history), "changes": payload}, indent=2))
        return
    rows = [
        [
            label,
            f"v{c.previous_version} -> v{c.version}",
            _num(c.before, 4),
            _num(c.after, 4),
            _num(c.change, 4),
            f"{c.p_value:.3g}",
        ]
        for name, changes in found.items()
        for label in [_SERIES[name][1]]
        for c in changes
    ]
    if not rows:
        click.echo(f"no change point in {len(history)} snapshots of {model_version}")
        return
    print_table(
        f"change points of {model_version} over {len(history)} snapshots",
        [
            Column("series"),
            Column("between"),
            Column("before", "right"),
            Column("after", "right"),
            Column("change", "right"),
            Column("p", "right"),
        ],
        rows,
    )


@snapshots.command("check")
@_config_options
@click.option(
    "--threshold",
    type=click.FloatRange(min=0, max=1),
    default=0.05,
    show_default=True,
    help="Largest tolerated drop (absolute; a fraction of the baseline with --rule relative).",
)
@click.option(
    "--rule",
    type=click.Choice(["paired", *RULES]),
    default="paired",
    show_default=True,
    help="paired: an F1 drop > threshold that the cases show is not chance (docs/verdicts.md), "
    "the original rule where cases cannot be paired; original: F1 drop > threshold; "
    "absolute: the same on precision, recall or F1; relative: a drop > threshold x baseline.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.01,
    show_default=True,
    help="Significance level of the paired rule's test.",
)
@_json_option
@handle_errors
def snapshots_check(
    model_version: str,
    dataset_version: str | None,
    prompt_version: str,
    environment: str,
    threshold: float,
    rule: str,
    alpha: float,
    as_json: bool,
) -> None:
    """Check the current version against the baseline; exit 3 when it regressed."""
    from benchq.store import commands

    with _open_store() as store:
        config = _config(store, model_version, dataset_version, prompt_version, environment)
        if not commands.history(store, config):
            raise commands.missing_versions(store, config, [])
        if rule == "paired":
            from benchq.regression.verdict import VerdictRule
            from benchq.store.verdicts import snapshot_verdict

            paired = snapshot_verdict(
                store, config, rule=VerdictRule(threshold=threshold, alpha=alpha)
            )
            if as_json:
                click.echo(json.dumps(paired.model_dump(mode="json"), indent=2))
            else:
                click.echo(f"{paired.status}: {paired.text}")
                if paired.verdict and paired.verdict.worse:
                    click.echo(f"worse: {', '.join(paired.verdict.worse)}")
                if paired.verdict and paired.verdict.better:
                    click.echo(f"better: {', '.join(paired.verdict.better)}")
            if paired.regressed:
                sys.exit(3)
            return
        verdict = commands.regression(
            store,
            config,
            threshold,
            rule,  # type: ignore[arg-type]  # click.Choice(RULES) admits only the rules
        )
    if as_json:
        click.echo(json.dumps(verdict.model_dump(mode="json"), indent=2))
    else:
        if verdict.checks:
            print_table(
                f"{model_version}: v{verdict.current_version} against the baseline "
                f"v{verdict.baseline_version} ({verdict.rule_text()})",
                [
                    Column("metric"),
                    Column("baseline", "right"),
                    Column("current", "right"),
                    Column("delta", "right"),
                    Column("regressed"),
                ],
                [
                    [
                        c.metric,
                        _num(c.baseline, 4),
                        _num(c.current, 4),
                        _num(c.delta, 4),
                        "yes" if c.regressed else "no",
                    ]
                    for c in verdict.checks
                ],
            )
        click.echo(f"{verdict.status} ({verdict.rule_text()})")
    if verdict.regressed:
        sys.exit(3)


@click.group()
def db() -> None:
    """The results database schema."""


@db.command("upgrade")
@click.option("--url", default=None, help="Postgres URL (default: BENCHQ_STORE_URL).")
@click.option("--dry-run", is_flag=True, help="Say what would change, change nothing.")
@handle_errors
def db_upgrade(url: str | None, dry_run: bool) -> None:
    """Bring a Postgres database to benchq's schema; running it again is harmless.

    Applies supabase/migrations, and takes over a database created by the
    original system's schema file, keeping every row. It says what it will
    do before it changes anything.
    """
    from benchq.errors import ConfigError
    from benchq.store.migrate import UpgradePlan, upgrade

    target = url or read_settings().store_url
    if not target or not target.startswith(("postgres://", "postgresql://")):
        raise ConfigError(
            "db upgrade needs a Postgres URL: pass --url or set BENCHQ_STORE_URL "
            "(for Supabase, its direct connection string); SQLite needs no upgrade"
        )

    def announce(plan: UpgradePlan) -> None:
        for line in plan.lines():
            click.echo(line)
        if dry_run and not plan.empty:
            click.echo("dry run: nothing was changed")

    applied = upgrade(target, dry_run=dry_run, on_plan=announce)
    if applied:
        click.echo(f"applied {len(applied)} migration(s): " + ", ".join(applied))
