"""Tables the commands print: whole names at any width, greppable when piped.

rich squeezes a table into the terminal by cutting cells (`openai-gpt-4…`)
and, when output is piped, into 80 columns, so `benchq snapshots | grep
openai-gpt-4o-mini` found nothing. Here:

- piped (not a terminal): plain aligned columns, every value whole, one row
  a line, no borders, no wrapping;
- a terminal wide enough: a rich table;
- a terminal too narrow: one block a row, `column: value` pairs, nothing cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Column:
    """One column: its header and how its values align."""

    header: str
    justify: Literal["left", "right"] = "left"


def stdout_console() -> Console:
    """The console for a command's results (stdout), never wrapping lines."""
    return Console(soft_wrap=True)


def print_table(
    title: str,
    columns: list[Column],
    rows: list[list[str]],
    *,
    console: Console | None = None,
) -> None:
    """Print rows under a title as the output's destination reads best (module docstring)."""
    console = console or stdout_console()
    widths = [max([len(c.header), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    if not console.is_terminal:
        _plain(title, columns, rows, widths, console)
    elif sum(widths) + 3 * len(columns) + 1 <= console.width:
        table = Table(title=title)
        for c in columns:
            table.add_column(c.header, justify=c.justify, no_wrap=True)
        for r in rows:
            table.add_row(*r)
        console.print(table)
    else:
        _records(title, columns, rows, console)


def _plain(
    title: str, columns: list[Column], rows: list[list[str]], widths: list[int], console: Console
) -> None:
    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(w) if c.justify == "right" else cell.ljust(w)
            for cell, c, w in zip(cells, columns, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [f"# {title}", line([c.header for c in columns]), *(line(r) for r in rows)]
    # Written around rich: a pipe gets the bytes as they are, at any length.
    console.file.write("\n".join(out) + "\n")
    console.file.flush()


def _records(title: str, columns: list[Column], rows: list[list[str]], console: Console) -> None:
    console.print(title, markup=False, style="bold")
    for r in rows:
        head, *rest = zip((c.header for c in columns), r, strict=True)
        console.print(f"{head[0]}: {head[1]}", markup=False, highlight=False, soft_wrap=True)
        for name, value in rest:
            console.print(f"    {name}: {value}", markup=False, highlight=False, soft_wrap=True)
