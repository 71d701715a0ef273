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

from benchq.dashboard.changes import find_changes, series
from benchq.dashboard.explorer_grid import grid_frame
from benchq.dashboard.intervals import interval
from benchq.regression.verdict import VerdictRule
from benchq.scoring.schema import CaseResult
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
from benchq.store.explorer import RUN_LIST_LIMIT, CaseCell, SnapshotPoint, base_case_id
from benchq.store.schema import (
    ComparisonRow,
    LatestBenchmark,
    RunModelSummary,
    RunRecord,
    Snapshot,
    SnapshotConfig,
    SnapshotFilter,
)
from benchq.store.verdicts import SnapshotVerdict, snapshot_verdict

#: Seconds a loaded result is reused before the store is asked again.
CACHE_TTL_S = 30

#: What the sidebar's time-range choices mean, in days (None: all time).
TIME_RANGES: dict[str, int | None] = {
    "Last 7 days": 7,
    "Last 30 days": 30,
    "Last 90 days": 90,
    "All time": None,
}

#: Snapshots a short-span trend shows at most, one point each.
POINTS_LIMIT = 2000

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


def _filter(
    environment: str | None,
    models: tuple[str, ...],
    days: int | None,
    dataset: str | None = None,
) -> DashboardFilter:
    return DashboardFilter(environment=environment, models=models, days=days, dataset=dataset)


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
    store: ResultsStore,
    environment: str | None,
    models: tuple[str, ...],
    dataset: str | None = None,
) -> pd.DataFrame:
    """The current snapshot of every configuration the sidebar selects."""

    rows = [
        r
        for r in store.latest_benchmarks()
        if (environment is None or r.environment == environment)
        and (not models or r.model_version in models)
        and (dataset is None or r.dataset_version == dataset)
    ]
    return _frame(rows, list(LatestBenchmark.model_fields))


@pn.cache(ttl=CACHE_TTL_S)
def load_daily(
    store: ResultsStore,
    environment: str | None,
    models: tuple[str, ...],
    days: int | None,
    per_model: bool = False,
    dataset: str | None = None,
) -> pd.DataFrame:
    """F1 per day (and per model): mean, standard deviation, min, max, runs and failed runs."""

    rows = store.daily_metrics(_filter(environment, models, days, dataset), per_model=per_model)
    frame = _frame(rows, list(DailyMetrics.model_fields))
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


@pn.cache(ttl=CACHE_TTL_S)
def load_model_stats(
    store: ResultsStore,
    environment: str | None,
    models: tuple[str, ...],
    days: int | None,
    dataset: str | None = None,
) -> pd.DataFrame:
    """Per model over the time range: F1 mean, standard deviation, min, max, count, failed."""

    return _frame(
        store.model_stats(_filter(environment, models, days, dataset)),
        list(ModelStats.model_fields),
    )


@pn.cache(ttl=CACHE_TTL_S)
def load_usage(
    store: ResultsStore,
    environment: str | None,
    models: tuple[str, ...],
    dataset: str | None = None,
) -> pd.DataFrame:
    """Tokens and cost behind each current snapshot the sidebar selects."""

    frame = _frame(
        store.model_usage(_filter(environment, models, None)), list(ModelUsage.model_fields)
    )
    # The usage query has no dataset argument on every backend: narrow it here.
    return frame if dataset is None else frame[frame["dataset_version"] == dataset]


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


# --- the run explorer: runs, and one run's cases (case data: store's named case reads) ------


@pn.cache(ttl=CACHE_TTL_S)
def load_runs(store: ResultsStore, dataset: str | None = None) -> list[RunRecord]:
    """The newest runs (of one dataset), for the explorer's run picker."""
    return store.recent_runs(RUN_LIST_LIMIT, dataset)


@pn.cache(ttl=CACHE_TTL_S)
def load_run(store: ResultsStore, run_id: str) -> RunRecord:
    """One run's record (`NotFound` when there is none)."""
    return store.get_run(run_id)


@pn.cache(ttl=CACHE_TTL_S)
def load_run_summaries(store: ResultsStore, run_id: str) -> list[RunModelSummary]:
    """The per-model summaries of a run (where its confidence intervals are)."""
    return store.run_summaries(run_id)


@pn.cache(ttl=CACHE_TTL_S, max_items=8)
def load_run_cells(store: ResultsStore, run_id: str) -> list[CaseCell]:
    """Every (case, model) of a run, without raw answers (`run_case_cells`)."""
    return store.run_case_cells(run_id)


@pn.cache(ttl=CACHE_TTL_S, max_items=8)
def load_run_grid(store: ResultsStore, run_id: str) -> pd.DataFrame:
    """The explorer's grid of a run: one row per case, one outcome column per model."""
    return grid_frame(load_run_cells(store, run_id))


@pn.cache(ttl=CACHE_TTL_S, max_items=64)
def load_case(
    store: ResultsStore, run_id: str, case_id: str
) -> tuple[CaseDocument | None, list[CaseResult]]:
    """One case (or repeat, `id~N`) of a run: its document, and every model's full answer."""
    return store.case_document(run_id, base_case_id(case_id)), store.case_answers(run_id, case_id)


@pn.cache(ttl=CACHE_TTL_S, max_items=64)
def load_search(store: ResultsStore, run_id: str, text: str) -> frozenset[str]:
    """The run's cases whose document contains `text` (searched in the database)."""
    return frozenset(store.search_case_documents(run_id, text))


@pn.cache(ttl=CACHE_TTL_S)
def load_points(
    store: ResultsStore,
    environment: str | None,
    models: tuple[str, ...],
    days: int | None,
    dataset: str | None,
) -> pd.DataFrame:
    """Each snapshot of the filter as a point, for trends over a span too short for days."""
    rows = store.snapshot_points(
        DashboardFilter(environment=environment, models=models, days=days, dataset=dataset),
        limit=POINTS_LIMIT,
    )
    frame = _frame(rows, list(SnapshotPoint.model_fields))
    return _with_f1_bounds(store, frame, environment, models, dataset)


def _with_f1_bounds(
    store: ResultsStore,
    points: pd.DataFrame,
    environment: str | None,
    models: tuple[str, ...],
    dataset: str | None,
) -> pd.DataFrame:
    """`points` with `f1_score_low` and `f1_score_high` from each snapshot's `metrics.f1_ci`.

    The points come from an aggregate query without the metrics; the same
    filter's newest snapshots (one query, or one per chosen model) hold them.
    Those are a superset of the points: both are the newest first, and the
    points' time range only cuts older ones.
    """
    out = points.copy()
    out["f1_score_low"] = pd.Series(float("nan"), index=out.index, dtype=float)
    out["f1_score_high"] = pd.Series(float("nan"), index=out.index, dtype=float)
    if out.empty:
        return out
    bounds: dict[tuple[str, str, str, str, int], tuple[float, float]] = {}
    for model in models or (None,):
        for s in store.list_snapshots(
            SnapshotFilter(
                model_version=model,
                environment=environment,
                dataset_version=dataset,
                limit=POINTS_LIMIT,
            )
        ):
            ci = interval(s.metrics, "f1_ci")
            if ci is not None:
                key = (s.model_version, s.dataset_version, s.prompt_version, s.environment)
                bounds[(*key, s.snapshot_version)] = ci
    found = [
        bounds.get((m, d, p, e, int(v)))
        for m, d, p, e, v in zip(
            out["model_version"],
            out["dataset_version"],
            out["prompt_version"],
            out["environment"],
            out["snapshot_version"],
            strict=True,
        )
    ]
    out["f1_score_low"] = [float("nan") if ci is None else ci[0] for ci in found]
    out["f1_score_high"] = [float("nan") if ci is None else ci[1] for ci in found]
    return out


@pn.cache(ttl=CACHE_TTL_S, max_items=256)
def load_verdict(
    store: ResultsStore,
    key: ConfigKey,
    current_version: int,
    baseline_version: int,
    threshold: float,
    alpha: float,
) -> SnapshotVerdict:
    """The paired verdict of a configuration's current snapshot against its baseline.

    `baseline_version` is part of the cache key only, so a new baseline is a
    new entry even within the time-to-live (the verdict reads the baseline
    from the store).
    """
    del baseline_version
    return snapshot_verdict(
        store,
        config_of(key),
        version=current_version,
        rule=VerdictRule(threshold=threshold, alpha=alpha),
    )


@pn.cache(ttl=CACHE_TTL_S, max_items=64)
def load_changes(
    store: ResultsStore, key: ConfigKey, days: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One configuration's active snapshots of the time range, and their change points."""
    points = series(load_history(store, key), days)
    return points, find_changes(points)


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
    load_runs,
    load_run,
    load_run_summaries,
    load_run_cells,
    load_run_grid,
    load_case,
    load_search,
    load_points,
    load_verdict,
    load_changes,
)


def clear_cache() -> None:
    """Forget every cached result, so the next read asks the store."""
    for loader in _LOADERS:
        loader.clear()


def first_view(
    store: ResultsStore,
    environment: str | None = None,
    models: tuple[str, ...] = (),
    dataset: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Everything the first view (Current Snapshot) and the sidebar need, as the app loads it.

    The benchmark (bench/dashboard.py) times this, so it must stay the same
    set of loaders the app calls when a page opens.
    """
    return {
        "configurations": load_configurations(store, None),
        "current": load_current(store, environment, models, dataset),
        "usage": load_usage(store, environment, models, dataset),
    }
