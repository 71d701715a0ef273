"""Change points over a configuration's history, on the Performance Trends view.

For the configurations a person picks (within the sidebar's filters), the
active snapshots of the selected time range, oldest first, go through
`benchq.regression.changepoints.detect_changes` (E-divisive means with a
permutation test, docs/verdicts.md) for F1, latency and cost. The chart
shows the chosen metric by snapshot version (F1 with each snapshot's 95 %
interval), a dashed line where its level shifted and the level of each
segment; the table lists every change point of every metric: version,
level before and after, p-value. The same detector as
`benchq snapshots changes`.

This module is pure (DataFrames in, a chart out); `changes_view.ChangePoints`
is the view, reading through the cached loaders of `data`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from benchq.dashboard.intervals import add_bounds, error_bars
from benchq.regression.changepoints import detect_changes

#: The metrics searched for change points: label -> (snapshot column, decimals shown).
METRICS: dict[str, tuple[str, int]] = {
    "F1": ("f1_score", 3),
    "latency (ms)": ("latency_ms", 0),
    "cost per document (USD)": ("cost_per_analysis", 5),
}

#: Newest snapshots of a configuration searched (the detector's cost grows with the
#: square of the series: 0.1 s for 200 points, 0.5 s for 500, per metric).
SERIES_LIMIT = 250

#: Configurations drawn at once.
MAX_CONFIGS = 4


ConfigKey = tuple[str, str, str, str]
"""(model_version, dataset_version, prompt_version, environment)."""


def label_of(key: ConfigKey, several_datasets: bool) -> str:
    """How a configuration reads in the picker and the chart's legend."""
    model, dataset, prompt, environment = key
    label = f"{model} · {environment} · prompt {prompt}"
    return f"{label} · {dataset}" if several_datasets else label


def series(
    history: pd.DataFrame,
    days: int | None,
    *,
    limit: int = SERIES_LIMIT,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The active snapshots of one configuration within `days` (None: all), oldest first.

    At most the newest `limit`; with F1 interval bounds (`add_bounds`).
    """
    if history.empty:
        return history.assign(f1_score_low=[], f1_score_high=[])
    frame = history[history["is_active"].astype(bool)].copy()
    if days is not None:
        today = (now or datetime.now(UTC)).date()
        since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), UTC)
        frame = frame[pd.to_datetime(frame["created_at"], utc=True) >= since]
    frame = frame.sort_values("snapshot_version").tail(limit)
    for column, _ in METRICS.values():
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return add_bounds(frame).reset_index(drop=True)


def find_changes(points: pd.DataFrame) -> pd.DataFrame:
    """Every change point of every metric of one configuration's series.

    Columns: metric, version (the first after the shift), previous version,
    before, after (each segment's mean), change, p-value.
    """
    rows = []
    for label, (column, _) in METRICS.items():
        if points.empty:
            continue
        pairs = [
            (int(v), None if pd.isna(x) else float(x))
            for v, x in zip(points["snapshot_version"], points[column], strict=True)
        ]
        for change in detect_changes(pairs):
            rows.append(
                {
                    "metric": label,
                    "version": change.version,
                    "previous version": change.previous_version,
                    "before": change.before,
                    "after": change.after,
                    "change": change.change,
                    "p-value": change.p_value,
                }
            )
    columns = ["metric", "version", "previous version", "before", "after", "change", "p-value"]
    return pd.DataFrame(rows, columns=columns)


def levels(points: pd.DataFrame, column: str, cuts: list[int]) -> pd.DataFrame:
    """The mean of `column` over each segment between change points, as a step line.

    One row per snapshot: its version and its segment's mean; a segment
    starts at each version in `cuts`.
    """
    out = points[["snapshot_version", column]].dropna().copy()
    segment = out["snapshot_version"].map(lambda v: sum(v >= c for c in cuts))
    out["level"] = out.groupby(segment)[column].transform("mean")
    return out


def changes_chart(lines: dict[str, tuple[pd.DataFrame, pd.DataFrame]], metric: str) -> Any:
    """`metric` by snapshot version for each configuration, its shifts and levels marked.

    `lines` maps a configuration's label to (its series, its change points).
    F1 points carry their 95 % interval; each change point is a dashed line
    halfway between the last version before it and the first after.
    """
    import holoviews as hv

    column, _ = METRICS[metric]
    layers: list[Any] = []
    for name, (points, changes) in lines.items():
        shown = points.dropna(subset=[column]).assign(configuration=name)
        if shown.empty:
            continue
        layers.append(
            shown.hvplot.scatter(
                x="snapshot_version", y=column, label=name, size=40, hover_cols=["created_at"]
            )
        )
        if column == "f1_score":
            whiskers = error_bars(shown, "snapshot_version")
            if whiskers is not None:
                layers.append(whiskers)
        mine = changes[changes["metric"] == metric] if len(changes) else changes
        cuts = [int(v) for v in mine["version"]] if len(mine) else []
        step = levels(shown, column, cuts)
        layers.append(
            hv.Curve(step, "snapshot_version", "level").opts(
                color="#444444", line_width=1, alpha=0.6
            )
        )
        for r in mine.itertuples(index=False):
            middle = (float(r[1]) + float(r[2])) / 2  # version, previous version
            layers.append(hv.VLine(middle).opts(color="#c0392b", line_dash="dashed", line_width=2))
    if not layers:
        return None
    overlay = hv.Overlay(layers)
    return overlay.opts(
        title=f"{metric} by snapshot version (dashed: change points; grey: each segment's level)",
        xlabel="snapshot version",
        ylabel=metric,
        height=320,
        responsive=True,
        legend_position="bottom_left",
        show_legend=True,
    )
