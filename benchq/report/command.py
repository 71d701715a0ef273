"""`benchq report RUN_ID --out FILE`: one run as a file anyone can open.

`--format html` (the default) writes one self-contained HTML page; `csv` and
`jsonl` write the per-case table, one row per (case, model). The file is
written whole or not at all (a temporary file beside it, then a rename).
The report holds what the store holds about the run and nothing of the
settings: no key, no password, no connection string.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from benchq.cli_support import handle_errors, read_settings
from benchq.errors import ConfigError, NotFound

if TYPE_CHECKING:
    from benchq.store.base import ResultsStore


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, then rename."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--out {path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        # mkstemp makes the file private; a report gets the usual mode (umask applies).
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report_text(store: ResultsStore, run_id: str, fmt: str) -> str:
    """The report of `run_id` in `fmt`; a missing run is bad input (exit 2)."""
    from benchq.report.collect import collect_run
    from benchq.report.export import table_text
    from benchq.report.html import render_report

    try:
        data = collect_run(store, run_id, with_cases=fmt == "html")
    except NotFound as exc:
        raise ConfigError(f"RUN_ID: no run {run_id!r} in the results store") from exc
    if fmt == "html":
        return render_report(data)
    return table_text(run_id, data.cells, fmt)


@click.command("report")
@click.argument("run_id")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write (`-`: standard output).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "csv", "jsonl"]),
    default="html",
    show_default=True,
    help="html: the whole run on one offline page; csv/jsonl: one row per (case, model).",
)
@handle_errors
def report(run_id: str, out: Path, fmt: str) -> None:
    """Write one run's report: summary, verdicts, the grid of cases by models, every answer."""
    from benchq.store.factory import open_reader_store

    # A report holds cases: read them with the reader's credentials where given.
    store = open_reader_store(read_settings())
    try:
        text = report_text(store, run_id, fmt)
    finally:
        store.close()
    if str(out) == "-":
        sys.stdout.write(text)
        return
    write_atomically(out, text)
    click.echo(f"wrote {out} ({fmt}, run {run_id})", err=True)
