"""The per-case table of a run, one row per (case, model), as CSV or JSON Lines.

CSV for spreadsheets (lists joined with `;`, missing values empty), JSONL for
notebooks (`pandas.read_json(path, lines=True)`; lists stay lists, missing
values are null). The columns are `outcomes.CASE_ROW_FIELDS`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from benchq.report.outcomes import CASE_ROW_FIELDS, case_rows
from benchq.store.explorer import CaseCell

FORMATS = ("csv", "jsonl")


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def to_csv(run_id: str, cells: Iterable[CaseCell]) -> str:
    """The table as CSV text, with a header row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CASE_ROW_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in case_rows(run_id, cells):
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
    return out.getvalue()


def to_jsonl(run_id: str, cells: Iterable[CaseCell]) -> str:
    """The table as JSON Lines: one object per (case, model)."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in case_rows(run_id, cells))


def table_text(run_id: str, cells: Iterable[CaseCell], fmt: str) -> str:
    """The table in `fmt` (one of `FORMATS`)."""
    if fmt == "csv":
        return to_csv(run_id, cells)
    if fmt == "jsonl":
        return to_jsonl(run_id, cells)
    raise ValueError(f"unknown table format {fmt!r}; expected one of {', '.join(FORMATS)}")
