"""Read and write the original's JSON files: aggregated metrics and monitoring records.

Writes are atomic (a temporary file in the target directory, flushed, then
`os.replace`d over the target), so a crash or a concurrent reader never sees
a half-written file. Reads turn every defect into an `InputFileError` that
names the file and the line (bad JSON) or the field (bad value), e.g.
`individual_results[3].true_positives: Input should be a valid integer`.

Reads are hostile-input safe (`benchq push` and `convert` take files from
anywhere): only a regular file, at most `MAX_MONITORING_BYTES` /
`MAX_AGGREGATED_BYTES`, nested at most `limits.MAX_DEPTH` deep, every number
finite and bounded, every text bounded (`limits.scan_json`), and types
strict (`true` is not a number, `"3"` is not a count).
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from benchq.errors import InputFileError
from benchq.scoring.limits import MAX_COUNT, check_text, scan_json
from benchq.scoring.schema import AggregatedMetrics, MonitoringRecord

__all__ = [
    "aggregated_filename",
    "load_aggregated",
    "load_aggregated_file",
    "load_monitoring",
    "original_file_content",
    "write_aggregated",
    "write_monitoring",
]

#: The original's name for the file of the latest run, whatever the model.
LATEST_AGGREGATED = "aggregated_metrics.json"

_M = TypeVar("_M", bound=BaseModel)
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
#: At most this many validation errors are spelled out in one message.
_MAX_REPORTED_ERRORS = 3
#: A monitoring record is about 1 KB; anything near this is not one.
MAX_MONITORING_BYTES = 1 << 20
#: An aggregated-metrics file holds one entry per case (about 500 bytes each).
MAX_AGGREGATED_BYTES = 32 << 20
#: The original wrote token averages as numbers; 0.0 where nothing was counted.
_TOKEN_AVERAGES = ("avg_input_tokens", "avg_output_tokens", "avg_total_tokens")


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
    text = json.dumps(original_file_content(agg), indent=2) + "\n"
    paths = [results_dir / aggregated_filename(agg.model_name)]
    if latest:
        paths.append(results_dir / LATEST_AGGREGATED)
    for path in paths:
        _atomic_write(path, text)
    return paths


def original_file_content(agg: AggregatedMetrics) -> dict[str, Any]:
    """What the original's tools read: its fields, in its order, numbers as numbers.

    benchq keeps "no token was counted" as None (`AggregatedMetrics`), but
    the original wrote its averages as numbers, 0.0 when nothing was counted,
    and its readers do arithmetic on them; so the file says 0.0.
    """
    data = agg.original()
    for name in _TOKEN_AVERAGES:
        if data[name] is None:
            data[name] = 0.0
    # benchq's intervals go beside the original's fields, never instead of them.
    for name in ("issue_precision_ci", "issue_recall_ci", "issue_f1_ci"):
        value = getattr(agg, name)
        if value is not None:
            data[name] = [value[0], value[1]]
    return data


def load_aggregated(path: Path) -> AggregatedMetrics:
    """Read an aggregated-metrics file (original or benchq-written).

    benchq's additions that the file lacks (the original wrote none of them)
    are derived from `individual_results`: error count, issue totals, token
    totals and cost. Occurrence-aware metrics and facts accuracy cannot be
    derived from the original's fields and stay at 0.

    Raises `InputFileError` naming the line of a JSON syntax error or the
    field of an invalid value.
    """
    return load_aggregated_file(path)[0]


def load_aggregated_file(path: Path) -> tuple[AggregatedMetrics, dict[str, Any]]:
    """`load_aggregated`, and the file's parsed JSON (for keys the model does not keep).

    The original's converter read `prompt_version` from the file when it was
    there; `benchq convert` does too, through the raw object.
    """
    data = _read_json_object(path, MAX_AGGREGATED_BYTES)
    agg = _validate(AggregatedMetrics, data, path, strict=True)
    _check_aggregate_ranges(agg, path)
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
    return (agg.model_copy(update=missing) if missing else agg), data


def _check_aggregate_ranges(agg: AggregatedMetrics, path: Path) -> None:
    """What the schema's types allow but an aggregate cannot be (first problem only)."""
    problems: list[str] = []
    try:
        check_text(agg.model_name, 128, blank=False)
    except ValueError as exc:
        problems.append(f"model_name: {exc}")
    for name in ("issue_precision", "issue_recall", "issue_f1_score"):
        value = getattr(agg, name)
        if not 0.0 <= value <= 1.0:
            problems.append(f"{name}: must be between 0 and 1, got {value:g}")
    for name in ("extraction_accuracy", "json_validity_rate"):
        value = getattr(agg, name)
        if not 0.0 <= value <= 100.0:
            problems.append(f"{name}: must be between 0 and 100, got {value:g}")
    for name in ("total_documents", "successful_extractions"):
        value = getattr(agg, name)
        if not 0 <= value <= MAX_COUNT:
            problems.append(f"{name}: must be between 0 and {MAX_COUNT}, got {value}")
    for name in ("avg_extraction_latency_ms", "avg_pipeline_latency_ms"):
        if getattr(agg, name) < 0:
            problems.append(f"{name}: must not be negative")
    for i, r in enumerate(agg.individual_results):
        for name in ("issues_detected", "issues_expected", "true_positives",
                     "false_positives", "false_negatives"):  # fmt: skip
            value = getattr(r, name)
            if not 0 <= value <= MAX_COUNT:
                problems.append(f"individual_results[{i}].{name}: must be in [0, {MAX_COUNT}]")
    if problems:
        raise InputFileError(str(path), problems[0])


def write_monitoring(record: MonitoringRecord, path: Path) -> None:
    """Write a monitoring record as JSON (indent 2), atomically; creates the directory.

    benchq's provenance fields follow the original's only when they are known,
    so a converted file has exactly the original's shape.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    unknown: dict[str, Any] = {
        k: True for k in ("model_id", "prompt_digest") if getattr(record, k) is None
    }
    no_ci = {
        k for k in ("precision_ci", "recall_ci", "f1_ci") if getattr(record.metrics, k) is None
    }
    if no_ci:
        unknown["metrics"] = no_ci
    data = record.model_dump(mode="json", exclude=unknown)
    _atomic_write(path, json.dumps(data, indent=2) + "\n")


def load_monitoring(path: Path) -> MonitoringRecord:
    """Read a monitoring record; raises `InputFileError` naming the bad line or field."""
    return _validate(MonitoringRecord, _read_json_object(path, MAX_MONITORING_BYTES), path)


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


def _read_json_object(path: Path, max_bytes: int) -> dict[str, Any]:
    """Parse a JSON file whose top level must be an object, within the input bounds."""
    text = _read_text(path, max_bytes)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            str(path), f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise InputFileError(str(path), "JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputFileError(str(path), f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputFileError(
            str(path), f"expected a JSON object at the top level, got {type(data).__name__}"
        )
    problem = scan_json(data)
    if problem is not None:
        raise InputFileError(str(path), problem)
    return data


def _read_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of a regular file of at most `max_bytes` bytes."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise InputFileError(str(path), "file not found") from None
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(str(path), "not a regular file")
        if info.st_size > max_bytes:
            raise InputFileError(
                str(path), f"{info.st_size} bytes is more than the {max_bytes} an input may have"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:  # grew while being read
        raise InputFileError(str(path), f"more than the {max_bytes} bytes an input may have")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(str(path), f"not UTF-8 text ({exc.reason})") from None


def _validate(model: type[_M], data: dict[str, Any], path: Path, *, strict: bool = False) -> _M:
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise InputFileError(str(path), _describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """`field.path[3].name: message`, for the first few errors."""
    errors = exc.errors(include_url=False)
    parts = [
        f"{_loc(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
        for e in errors[:_MAX_REPORTED_ERRORS]
    ]
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
