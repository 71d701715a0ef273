"""Data access of the dashboard: one cached loader per query, returning DataFrames.

Every loader asks the store for an aggregate the database computed (see
`benchq.store.aggregates`), never for raw rows to average here, so a filter
change costs a few small queries whatever the size of the history.

Loaders are wrapped in `pn.cache` with a short time-to-live: sessions share
results for `CACHE_TTL_S` seconds (a dashboard left open by ten people costs
the store one query per filter change, not ten), and anything published
since shows up by itself soon after. `clear_cache()` drops every entry: the
Refresh button, and every write the dashboard makes (checkout, baseline),
call it so the page never shows a state it just changed.

Arguments are plain values (strings, tuples, ints) so `pn.cache` can hash
them; the store is hashed by identity, one store object per server process.
Store errors are not caught here: the views turn them into messages.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

from benchq.store.aggregates import (
    CaseChange,
    CaseDocument,
    ConfigSummary,
    DailyMetrics,
    DashboardFilter,
    ModelStats,
    ModelUsage,
)
from benchq.store.base import ResultsStore
from benchq.store.schema import ComparisonRow, LatestBenchmark, Snapshot, SnapshotConfig

#: Seconds a loaded result is reused before the store is asked again.
CACHE_TTL_S = 30

#: What the sidebar's time-range choices mean, in days (None: all time).
TIME_RANGES: dict[str, int | None] = {
    "Last 7 days": 7,
    "Last 30 days": 30,
    "Last 90 days": 90,
    "All time": None,
}

ConfigKey = tuple[str, str, str, str]
"""(model_version, dataset_version, prompt_version, environment): hashable for the cache."""


def config_of(key: ConfigKey) -> SnapshotConfig:
    """The store's configuration for a cache key."""
    model, dataset, prompt, environment = key
    return SnapshotConfig.model_validate(
        {
            "model_version": model,
            "dataset_version": dataset,
            "prompt_version": prompt,
            "environment": environment,
        }
    )


def _filter(environment: str | None, models: tuple[str, ...], days: int | None) -> DashboardFilter:
    return DashboardFilter(environment=environment, models=models, days=days)


def _frame(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    """A DataFrame of pydantic rows; with no rows, still the expected columns."""
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame([r.model_dump() for r in rows])


@pn.cache(ttl=CACHE_TTL_S)
def load_configurations(store: ResultsStore, environment: str | None = None) -> pd.DataFrame:
    """Every configuration with active snapshots (`ResultsStore.configurations`)."""

    return _frame(store.configurations(environment), list(ConfigSummary.model_fields))


@pn.cache(ttl=CACHE_TTL_S)
def load_current(
    store: ResultsStore, environment: str | None, models: tuple[str, ...]
) -> pd.DataFrame:
    """The current snapshot of every configuration the sidebar selects."""

    rows = [
        r
        for r in store.latest_benchmarks()
        if (environment is None or r.environment == environment)
        and (not models or r.model_version in models)
    ]
    return _frame(rows, list(LatestBenchmark.model_fields))


@pn.cache(ttl=CACHE_TTL_S)
def load_daily(
    store: ResultsStore,
    environment: str | None,
    models: tuple[str, ...],
    days: int | None,
    per_model: bool = False,
) -> pd.DataFrame:
    """F1 per day (and per model): mean, standard deviation, min, max, and runs."""

    rows = store.daily_metrics(_filter(environment, models, days), per_model=per_model)
    frame = _frame(rows, list(DailyMetrics.model_fields))
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


@pn.cache(ttl=CACHE_TTL_S)
def load_model_stats(
    store: ResultsStore, environment: str | None, models: tuple[str, ...], days: int | None
) -> pd.DataFrame:
    """Per model over the time range: F1 mean, standard deviation, min, max, count."""

    return _frame(
        store.model_stats(_filter(environment, models, days)), list(ModelStats.model_fields)
    )


@pn.cache(ttl=CACHE_TTL_S)
def load_usage(
    store: ResultsStore, environment: str | None, models: tuple[str, ...]
) -> pd.DataFrame:
    """Tokens and cost behind each current snapshot the sidebar selects."""

    return _frame(
        store.model_usage(_filter(environment, models, None)), list(ModelUsage.model_fields)
    )


@pn.cache(ttl=CACHE_TTL_S)
def load_history(store: ResultsStore, key: ConfigKey) -> pd.DataFrame:
    """Every snapshot of one configuration, newest version first."""

    rows = store.snapshot_history(*key)
    return _frame(rows, list(Snapshot.model_fields))


@pn.cache(ttl=CACHE_TTL_S)
def load_comparison(store: ResultsStore, key: ConfigKey, a: int, b: int) -> pd.DataFrame:
    """Every numeric metric of versions `a` and `b`: a, b, delta, percent change."""

    return _frame(store.compare(config_of(key), a, b), list(ComparisonRow.model_fields))


@pn.cache(ttl=CACHE_TTL_S)
def load_case_diff(store: ResultsStore, key: ConfigKey, a: int, b: int) -> list[CaseChange]:
    """The cases whose outcome changed from version `a` to `b`."""
    return store.case_diff(config_of(key), a, b)


@pn.cache(ttl=CACHE_TTL_S)
def load_documents(store: ResultsStore, run_id: str) -> dict[str, CaseDocument]:
    """The documents of one run, by case id (empty when the run stored none)."""
    return store.case_documents(run_id)


_LOADERS: tuple[Any, ...] = (
    load_configurations,
    load_current,
    load_daily,
    load_model_stats,
    load_usage,
    load_history,
    load_comparison,
    load_case_diff,
    load_documents,
)


def clear_cache() -> None:
    """Forget every cached result, so the next read asks the store."""
    for loader in _LOADERS:
        loader.clear()


def first_view(
    store: ResultsStore, environment: str | None = None, models: tuple[str, ...] = ()
) -> dict[str, pd.DataFrame]:
    """Everything the first view (Current Snapshot) and the sidebar need, as the app loads it.

    The benchmark (bench/dashboard.py) times this, so it must stay the same
    set of loaders the app calls when a page opens.
    """
    return {
        "configurations": load_configurations(store, None),
        "current": load_current(store, environment, models),
        "usage": load_usage(store, environment, models),
    }
