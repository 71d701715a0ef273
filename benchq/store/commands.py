"""The original scripts' jobs as plain functions, for `benchq` subcommands to call.

    convert_benchmark_to_monitoring.py  -> convert()
    push_to_supabase.py                 -> push()        (+ verify=True read-back)
    check_snapshots.py                  -> snapshots()
    snapshot history / checkout / compare / baseline -> history(), checkout(),
                                           compare(), baseline(), regression()

They return data and raise `BenchqError` subclasses; printing and exit codes
are the CLI's. Bad input never reaches the store: a push file is loaded and
checked field by field first (`InputFileError`, exit 2, naming the field),
and publishing itself is one atomic transaction, so nothing is half-written.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from benchq.errors import ConfigError, InputFileError, StoreError
from benchq.scoring.schema import MonitoringRecord
from benchq.store.base import ResultsStore
from benchq.store.schema import (
    ComparisonRow,
    PushMetadata,
    RegressionVerdict,
    Snapshot,
    SnapshotConfig,
    SnapshotFilter,
)

#: Metrics on a 0-1 scale (the original's rule for precision, recall, F1).
_UNIT_METRICS = ("precision", "recall", "f1")
#: Quantities that cannot be negative.
_NON_NEGATIVE = (
    "latency_ms",
    "analysis_cost",
    "total_documents",
    "total_issues_detected",
    "total_issues_expected",
)


class PushResult(BaseModel):
    """What `push` stored."""

    snapshot: Snapshot
    verified: bool = False
    """True when the snapshot was read back from the store and matched."""


def _flag_error(exc: ValidationError, what: str) -> ConfigError:
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or what}: {e['msg']}"
        for e in exc.errors(include_url=False)
    ]
    return ConfigError(f"invalid {what}: " + "; ".join(parts))


def push_metadata(**fields: Any) -> PushMetadata:
    """Build push metadata from CLI flags; `ConfigError` names the bad flag.

    Unset (None) flags are left out, so defaults apply.
    """
    try:
        return PushMetadata(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise _flag_error(exc, "push metadata") from None


def snapshot_config(
    model_version: str,
    dataset_version: str = "benchmark-set-v1",
    prompt_version: str = "v1",
    environment: str = "local",
) -> SnapshotConfig:
    """The configuration a history/checkout/compare/baseline flag set names."""
    try:
        return SnapshotConfig(
            model_version=model_version,
            dataset_version=dataset_version,
            prompt_version=prompt_version,
            environment=environment,
        )
    except ValidationError as exc:
        raise _flag_error(exc, "configuration") from None


def resolve_config(
    store: ResultsStore,
    model_version: str,
    dataset_version: str | None,
    prompt_version: str = "v1",
    environment: str = "local",
) -> SnapshotConfig:
    """The configuration the flags name; an omitted dataset is the model's only one.

    Dataset labels carry a digest of the suite (`sample-3f2a9c1b7d4e`), which
    nobody types; when the model version has snapshots of one dataset only
    (in that prompt and environment), that is the one meant. None, or
    several: `ConfigError` (exit 2) listing what exists.
    """
    if dataset_version is not None:
        return snapshot_config(model_version, dataset_version, prompt_version, environment)
    configs = store.configurations(environment)
    mine = [
        c
        for c in configs
        if c.model_version == model_version and c.prompt_version == prompt_version
    ]
    if len(mine) == 1:
        return snapshot_config(model_version, mine[0].dataset_version, prompt_version, environment)
    if mine:
        datasets = ", ".join(sorted(c.dataset_version for c in mine))
        raise ConfigError(
            f"{model_version} has snapshots of several datasets ({environment}, prompt "
            f"{prompt_version}): {datasets}; name one with --dataset-version"
        )
    models = sorted({f"{c.model_version} (prompt {c.prompt_version})" for c in configs})
    raise ConfigError(
        f"no snapshots of {model_version} with prompt {prompt_version} in {environment}; "
        + (f"model versions there: {', '.join(models)}" if models else "none there yet")
    )


def convert(
    input_path: Path,
    output_path: Path,
    *,
    model: str | None = None,
    model_version: str | None = None,
    model_provider: str | None = None,
    dataset_version: str = "benchmark-set-v1",
    prompt_version: str = "v1",
) -> MonitoringRecord:
    """Aggregated-metrics file -> monitoring file; returns the record written.

    `model` defaults to the file's `model_name`. A malformed input raises
    `InputFileError` and writes nothing.
    """
    from benchq.scoring.files import load_aggregated, write_monitoring
    from benchq.scoring.monitoring import to_monitoring

    agg = load_aggregated(input_path)
    record = to_monitoring(
        agg,
        model=model or agg.model_name,
        model_version=model_version,
        model_provider=model_provider,
        dataset_version=dataset_version,
        prompt_version=prompt_version,
    )
    write_monitoring(record, output_path)
    return record


def load_push_file(path: Path) -> MonitoringRecord:
    """Load a monitoring file and check what the schema alone does not.

    Raises `InputFileError` naming the field: missing or mistyped fields
    (from the loader), metrics outside their range, counts below zero, an
    empty version label, or a timestamp that is not ISO 8601.
    """
    from benchq.scoring.files import load_monitoring

    record = load_monitoring(path)
    problems: list[str] = []
    for name in ("model_version", "model_provider", "dataset_version", "prompt_version"):
        if not getattr(record, name).strip():
            problems.append(f"{name}: must not be empty")
    metrics = record.metrics.model_dump()
    for name, value in metrics.items():
        if not math.isfinite(float(value)):
            problems.append(f"metrics.{name}: must be a finite number, got {value}")
        elif name in _UNIT_METRICS and not 0.0 <= value <= 1.0:
            problems.append(f"metrics.{name}: must be between 0 and 1, got {value}")
        elif name in _NON_NEGATIVE and value < 0:
            problems.append(f"metrics.{name}: must not be negative, got {value}")
    for name in ("dataset_size", "error_count", "success_count", "duration_seconds"):
        value = getattr(record, name)
        if not math.isfinite(float(value)) or value < 0:
            problems.append(f"{name}: must not be negative, got {value}")
    try:
        datetime.fromisoformat(record.timestamp.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"timestamp: not an ISO 8601 time: {record.timestamp!r}")
    if problems:
        raise InputFileError(str(path), "; ".join(problems))
    return record


def push(
    store: ResultsStore,
    input_path: Path,
    meta: PushMetadata,
    *,
    verify: bool = False,
    run_id: str | None = None,
) -> PushResult:
    """Publish a monitoring file: a transaction and a new current snapshot.

    The file is validated before anything is written. With `verify`, the
    snapshot is read back from the store and compared; a mismatch raises
    `StoreError`.
    """
    record = load_push_file(input_path)
    snapshot = store.publish(record, meta, run_id=run_id)
    if not verify:
        return PushResult(snapshot=snapshot)
    stored = store.get_snapshot(snapshot.config, snapshot.snapshot_version)
    expected = record.metrics.model_dump(mode="json")
    if stored.id != snapshot.id or stored.metrics != expected or not stored.is_current:
        raise StoreError(
            f"verification failed: snapshot {snapshot.snapshot_version} of "
            f"{record.model_version} reads back differently from what was pushed"
        )
    return PushResult(snapshot=stored, verified=True)


def snapshots(
    store: ResultsStore,
    *,
    model_version: str | None = None,
    environment: str | None = None,
    current_only: bool = False,
    limit: int = 50,
) -> list[Snapshot]:
    """What check_snapshots printed: recent snapshots, newest first, optionally filtered."""
    try:
        filters = SnapshotFilter(
            model_version=model_version,
            environment=environment,
            current_only=current_only,
            limit=limit,
        )
    except ValidationError as exc:
        raise _flag_error(exc, "snapshot filter") from None
    return store.list_snapshots(filters)


def history(store: ResultsStore, config: SnapshotConfig) -> list[Snapshot]:
    """Every version of a configuration, newest first (empty when it has none)."""
    return store.snapshot_history(
        config.model_version, config.dataset_version, config.prompt_version, config.environment
    )


def checkout(store: ResultsStore, config: SnapshotConfig, version: int) -> Snapshot:
    """Make an older version current; `NotFound` (nothing changes) when it does not exist."""
    return store.checkout(config, version)


def compare(store: ResultsStore, config: SnapshotConfig, a: int, b: int) -> list[ComparisonRow]:
    """Metric, a, b, delta and percent change of two versions; `NotFound` for a missing one."""
    return store.compare(config, a, b)


def baseline(store: ResultsStore, config: SnapshotConfig, version: int) -> Snapshot:
    """Make a version the configuration's baseline for regression checks."""
    return store.set_baseline(config, version)


def regression(
    store: ResultsStore, config: SnapshotConfig, threshold: float = 0.05
) -> RegressionVerdict:
    """The current version against the baseline (see `ResultsStore.regression_check`)."""
    return store.regression_check(config, threshold)
