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

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from benchq.errors import ConfigError, InputFileError, NotFound, StoreError
from benchq.regression.original import DEFAULT_RULE, DEFAULT_THRESHOLD, RegressionRule
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
from benchq.store.snapshots import record_json


class PushResult(BaseModel):
    """What `push` stored."""

    snapshot: Snapshot
    verified: bool = False
    """True when the snapshot was read back from the store and matched."""


def _describe(exc: ValidationError) -> str:
    """`field: message` for each error (pydantic's `Value error, ` prefix dropped)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(value)'}: "
        f"{e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors(include_url=False)
    )


def _flag_error(exc: ValidationError, what: str) -> ConfigError:
    return ConfigError(f"invalid {what}: {_describe(exc)}")


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
    where = f"{model_version} (prompt {prompt_version}, environment {environment})"
    raise _nothing_of(store, model_version, where)


def convert(
    input_path: Path,
    output_path: Path,
    *,
    model: str | None = None,
    model_version: str | None = None,
    model_provider: str | None = None,
    dataset_version: str = "benchmark-set-v1",
    prompt_version: str | None = None,
) -> MonitoringRecord:
    """Aggregated-metrics file -> monitoring file; returns the record written.

    `model` defaults to the file's `model_name`; `prompt_version` to the
    file's own `prompt_version` key, else `v1` (the original's converter read
    it from the file too). A malformed or hostile input raises
    `InputFileError` naming the field, and writes nothing.
    """
    from benchq.scoring.files import load_aggregated_file, write_monitoring
    from benchq.scoring.monitoring import to_monitoring

    agg, raw = load_aggregated_file(input_path)
    if prompt_version is None:
        from_file = raw.get("prompt_version")
        prompt_version = from_file if isinstance(from_file, str) else "v1"
    try:
        record = to_monitoring(
            agg,
            model=model or agg.model_name,
            model_version=model_version,
            model_provider=model_provider,
            dataset_version=dataset_version,
            prompt_version=prompt_version,
        )
    except ValidationError as exc:
        # Labels made from the file or flags (model name, versions) out of bounds.
        raise InputFileError(str(input_path), _describe(exc)) from None
    write_monitoring(record, output_path)
    return record


#: What the original's push script refused a record without.
_REQUIRED = ("model_version", "dataset_version", "prompt_version", "metrics")


def load_push_file(path: Path) -> MonitoringRecord:
    """Load a monitoring file and check what the schema alone does not.

    Accepts every record the original wrote (its converter's and its sample
    record): only the fields its push script required must be there, and
    `metrics` must not be empty. Raises `InputFileError` naming the field:
    a missing required field, a mistyped, non-finite or out-of-range value
    (from the loader), an over-long or control-character text, or a
    timestamp that is not ISO 8601.
    """
    from benchq.scoring.files import load_monitoring

    record = load_monitoring(path)
    problems = [
        f"{name}: Field required" for name in _REQUIRED if name not in record.model_fields_set
    ]
    if not record_json(record)["metrics"]:
        problems.append("metrics: must hold at least one metric")
    if record.timestamp is not None:
        try:
            datetime.fromisoformat(record.timestamp.replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"timestamp: not an ISO 8601 time: {record.timestamp!r}")
    if problems:
        raise InputFileError(str(path), "; ".join(problems))
    return record


def load_push_record(path: Path, duration_seconds: float | None = None) -> MonitoringRecord:
    """`load_push_file`, with the push's `--duration` (if given) in place of the record's.

    A bad duration is a `ConfigError` naming the flag.
    """
    record = load_push_file(path)
    if duration_seconds is None:
        return record
    try:
        return MonitoringRecord.model_validate(
            {**record_json(record), "duration_seconds": duration_seconds}
        )
    except ValidationError as exc:
        raise ConfigError(f"--duration: {_describe(exc)}") from None


def push(
    store: ResultsStore,
    input_path: Path,
    meta: PushMetadata,
    *,
    verify: bool = False,
    run_id: str | None = None,
    duration_seconds: float | None = None,
) -> PushResult:
    """Publish a monitoring file: a transaction and a new current snapshot.

    The file is validated before anything is written. `duration_seconds`
    (the original's `--duration`: the benchmark's execution time) replaces
    the record's own. With `verify`, the snapshot is read back from the store
    and compared; a mismatch raises `StoreError`.
    """
    record = load_push_record(input_path, duration_seconds)
    snapshot = store.publish(record, meta, run_id=run_id)
    if not verify:
        return PushResult(snapshot=snapshot)
    stored = store.get_snapshot(snapshot.config, snapshot.snapshot_version)
    expected = record_json(record)["metrics"]
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
    """Make an older version current; a missing one is a `ConfigError` naming those that
    exist (exit 2), and nothing changes."""
    try:
        return store.checkout(config, version)
    except NotFound:
        raise missing_versions(store, config, [version]) from None


def compare(store: ResultsStore, config: SnapshotConfig, a: int, b: int) -> list[ComparisonRow]:
    """Metric, a, b, delta and percent change of two versions; a missing one is a
    `ConfigError` naming those that exist."""
    try:
        return store.compare(config, a, b)
    except NotFound:
        raise missing_versions(store, config, [a, b]) from None


def baseline(store: ResultsStore, config: SnapshotConfig, version: int) -> Snapshot:
    """Make a version the configuration's baseline for regression checks (a missing one:
    `ConfigError` naming those that exist)."""
    try:
        return store.set_baseline(config, version)
    except NotFound:
        raise missing_versions(store, config, [version]) from None


def regression(
    store: ResultsStore,
    config: SnapshotConfig,
    threshold: float = DEFAULT_THRESHOLD,
    rule: RegressionRule = DEFAULT_RULE,
) -> RegressionVerdict:
    """The current version against the baseline (see `ResultsStore.regression_check`)."""
    return store.regression_check(config, threshold, rule)


def missing_versions(
    store: ResultsStore, config: SnapshotConfig, asked: Iterable[int]
) -> ConfigError:
    """The error for versions (or a model version) a command named that do not exist.

    It names what does exist, so the next try can be right: the configuration's
    versions; else, when the model version has snapshots under another dataset,
    prompt or environment, those; else the model versions that have snapshots.
    """
    where = (
        f"{config.model_version} (dataset {config.dataset_version}, prompt "
        f"{config.prompt_version}, environment {config.environment})"
    )
    have = sorted(s.snapshot_version for s in history(store, config))
    if have:
        missing = [str(v) for v in dict.fromkeys(asked) if v not in have]
        return ConfigError(
            f"no snapshot version {', '.join(missing)} of {where}; "
            f"versions that exist: {_ranges(have)}"
        )
    return _nothing_of(store, config.model_version, where)


def _nothing_of(store: ResultsStore, model_version: str, where: str) -> ConfigError:
    """No snapshot of `where`: name the configurations the model version does have,
    else the model versions that have snapshots."""
    configs = store.configurations()
    elsewhere = [c for c in configs if c.model_version == model_version]
    if elsewhere:
        options = "; ".join(
            f"--dataset-version {c.dataset_version} --prompt-version {c.prompt_version} "
            f"--environment {c.environment}"
            for c in elsewhere
        )
        return ConfigError(f"no snapshots of {where}; it has snapshots with: {options}")
    models = sorted({c.model_version for c in configs})
    return ConfigError(
        f"no snapshots of model version {model_version!r}; model versions that exist: "
        + (", ".join(models) if models else "none yet")
    )


def _ranges(versions: list[int]) -> str:
    """`1-4, 7, 9-10` for [1, 2, 3, 4, 7, 9, 10] (sorted, distinct)."""
    spans: list[list[int]] = []
    for v in versions:
        if spans and v == spans[-1][1] + 1:
            spans[-1][1] = v
        else:
            spans.append([v, v])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
