"""Read and write the original's JSON files: aggregated metrics and monitoring records.

Writes are atomic (a temporary file in the target directory, flushed, then
`os.replace`d over the target), so a crash or a concurrent reader never sees
a half-written file. Reads turn every defect into an `InputFileError` that
names the file and the line (bad JSON) or the field (bad value), e.g.
`individual_results[3].true_positives: Input should be a valid integer`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from benchq.errors import InputFileError
from benchq.scoring.schema import AggregatedMetrics, MonitoringRecord

__all__ = [
    "aggregated_filename",
    "load_aggregated",
    "load_monitoring",
    "write_aggregated",
    "write_monitoring",
]

#: The original's name for the file of the latest run, whatever the model.
LATEST_AGGREGATED = "aggregated_metrics.json"

_M = TypeVar("_M", bound=BaseModel)
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
#: At most this many validation errors are spelled out in one message.
_MAX_REPORTED_ERRORS = 3


def aggregated_filename(model_name: str) -> str:
    """`aggregated_metrics_<model>.json`, with characters unsafe in a file name as `_`.

    Registry names such as `openai/gpt-4o` would otherwise write into a
    subdirectory (or fail); plain names like `openai` are unchanged.
    """
    return f"aggregated_metrics_{_UNSAFE_FILENAME_CHARS.sub('_', model_name)}.json"


def write_aggregated(
    agg: AggregatedMetrics, results_dir: Path, *, latest: bool = True
) -> list[Path]:
    """Write the original-format metrics file(s) of one model; return the paths written.

    Always `aggregated_metrics_<model>.json`; with `latest`, also
    `aggregated_metrics.json` (the original's "last run" file). Only the
    original's fields are written (`agg.original()`), indented as it did.
    Creates `results_dir` if needed.
    """
    results_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(agg.original(), indent=2) + "\n"
    paths = [results_dir / aggregated_filename(agg.model_name)]
    if latest:
        paths.append(results_dir / LATEST_AGGREGATED)
    for path in paths:
        _atomic_write(path, text)
    return paths


def load_aggregated(path: Path) -> AggregatedMetrics:
    """Read an aggregated-metrics file (original or benchq-written).

    benchq's additions that the file lacks (the original wrote none of them)
    are derived from `individual_results`: error count, issue totals, token
    totals and cost. Occurrence-aware metrics and facts accuracy cannot be
    derived from the original's fields and stay at 0.

    Raises `InputFileError` naming the line of a JSON syntax error or the
    field of an invalid value.
    """
    data = _read_json_object(path)
    agg = _validate(AggregatedMetrics, data, path)
    results = agg.individual_results
    derived: dict[str, Any] = {
        "error_count": (
            sum(1 for r in results if not r.extraction_success)
            if results
            else agg.total_documents - agg.successful_extractions
        ),
        "total_issues_detected": sum(r.issues_detected for r in results),
        "total_issues_expected": sum(r.issues_expected for r in results),
        "total_input_tokens": sum(r.input_tokens or 0 for r in results),
        "total_output_tokens": sum(r.output_tokens or 0 for r in results),
        "total_cost_usd": sum(r.cost_usd for r in results),
        "cached_count": sum(1 for r in results if r.cached),
    }
    # Values the file does hold win: a benchq-written file keeps its own figures.
    missing = {k: v for k, v in derived.items() if k not in agg.model_fields_set}
    return agg.model_copy(update=missing) if missing else agg


def write_monitoring(record: MonitoringRecord, path: Path) -> None:
    """Write a monitoring record as JSON (indent 2), atomically; creates the directory.

    benchq's provenance fields follow the original's only when they are known,
    so a converted file has exactly the original's shape.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    unknown = {k for k in ("model_id", "prompt_digest") if getattr(record, k) is None}
    data = record.model_dump(mode="json", exclude=unknown)
    _atomic_write(path, json.dumps(data, indent=2) + "\n")


def load_monitoring(path: Path) -> MonitoringRecord:
    """Read a monitoring record; raises `InputFileError` naming the bad line or field."""
    return _validate(MonitoringRecord, _read_json_object(path), path)


# --- helpers -----------------------------------------------------------------


def _atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` so readers see the old file or the new, never a part."""
    # The temporary file must be in the same directory: os.replace is atomic
    # only within one file system.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            # Data on disk before the rename, so a power cut cannot leave an empty file.
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _read_json_object(path: Path) -> dict[str, Any]:
    """Parse a JSON file whose top level must be an object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(str(path), "file not found") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(str(path), f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            str(path), f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise InputFileError(
            str(path), f"expected a JSON object at the top level, got {type(data).__name__}"
        )
    return data


def _validate(model: type[_M], data: dict[str, Any], path: Path) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputFileError(str(path), _describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """`field.path[3].name: message`, for the first few errors."""
    errors = exc.errors(include_url=False)
    parts = [f"{_loc(e['loc'])}: {e['msg']}" for e in errors[:_MAX_REPORTED_ERRORS]]
    if len(errors) > _MAX_REPORTED_ERRORS:
        parts.append(f"and {len(errors) - _MAX_REPORTED_ERRORS} more errors")
    return "; ".join(parts)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"
