"""The four summary views, built from the loaders' DataFrames.

Each function takes data and returns Panel objects; none reads the store,
so each view is the same whatever backend the data came from. Figures on a
0-1 scale (precision, recall, F1) are shown with three decimals; a drop is
shown in the unit it is compared in (percent of the baseline value).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hvplot.pandas  # noqa: F401 - registers the .hvplot accessor on DataFrames
import pandas as pd
import panel as pn

from benchq.store.snapshots import fell_beyond

#: What a person who has never run benchq sees when the store holds nothing yet.
NO_DATA = (
    "**No benchmark results yet.** Results appear here once a run has been published: "
    "run `benchq run` in this folder (it writes to the same store this dashboard reads), "
    "or point the dashboard at your team's store with `BENCHQ_STORE_URL` or `SUPABASE_URL`."
)


def message(text: str, kind: str = "info") -> pn.pane.Alert:
    """An explanation on the page, in place of a view that has nothing to show."""
    return pn.pane.Alert(text, alert_type=kind, sizing_mode="stretch_width")


def table(frame: pd.DataFrame, **kwargs: Any) -> pn.widgets.Tabulator:
    """A read-only table with the dashboard's defaults."""
    options: dict[str, Any] = {
        "show_index": False,
        "disabled": True,
        "sizing_mode": "stretch_width",
        # Every column fits the width, headers and cells wrap: nothing is cut off
        # behind a horizontal scroll bar on a 1280-pixel screen.
        "layout": "fit_columns",
        "stylesheets": [_WRAP],
        "pagination": "local",
        "page_size": 15,
    }
    options.update(kwargs)
    shown = rounded(frame)
    if options["layout"] == "fit_columns" and "widths" not in options and len(shown.columns):
        options["widths"] = column_widths(shown)
    formatters = {
        str(c): f for c in shown.columns if (f := _dash_formatter(str(c), shown[c])) is not None
    }
    formatters.update(options.pop("formatters", {}))
    return pn.widgets.Tabulator(shown, formatters=formatters, **options)


#: What an empty value reads as: never `None` or `NaN`.
DASH = "—"


def _dash_formatter(name: str, column: pd.Series) -> Any:
    """A Bokeh formatter that shows a missing value as a dash, and numbers with their places."""
    from bokeh.models.widgets.tables import NumberFormatter, StringFormatter

    if pd.api.types.is_float_dtype(column):
        places = _places(name)
        pattern = "0,0" if places == 0 else "0,0." + "0" * places
        return NumberFormatter(format=pattern, nan_format=DASH, null_format=DASH)
    if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
        return StringFormatter(nan_format=DASH, null_format=DASH)
    return None  # integers and booleans are never missing


_WRAP = """
.tabulator .tabulator-col { font-size: 12px; }
.tabulator .tabulator-col .tabulator-col-title {
  white-space: normal !important; text-overflow: clip !important; overflow-wrap: break-word;
}
.tabulator-row .tabulator-cell {
  white-space: normal !important; text-overflow: clip !important; overflow-wrap: break-word;
  height: auto !important;
}
"""


def column_widths(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's share of the table's width (percent), by what it holds.

    The longest word of the header or the longest value (capped) decides, so
    a column of model names gets more room than a column of versions.
    """
    weights = {}
    for column in frame.columns:
        header = max((len(w) for w in str(column).split()), default=4)
        values = (
            frame[column]
            .head(200)
            .map(lambda v: len(f"{v:.3f}" if isinstance(v, float) else str(v)))
        )
        longest = int(values.max()) if len(values) else 4
        weights[str(column)] = 3 + max(header, min(22, longest))  # 3: room for the sort arrow
    total = sum(weights.values())
    return {c: f"{100 * w / total:.1f}%" for c, w in weights.items()}


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose float columns are text with their decimals and a dash for none."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            places = _places(str(column))
            out[column] = [DASH if pd.isna(v) else f"{v:,.{places}f}" for v in out[column]]
    return out


def static_table(frame: pd.DataFrame, name: str) -> pn.pane.DataFrame:
    """A small table as plain HTML: no sorting or paging, but far cheaper to render.

    Each Tabulator is a JavaScript grid of its own; the first view would need
    four, and building them is most of what opening the page costs.
    """
    return pn.pane.DataFrame(
        as_text(frame),
        index=False,
        na_rep=DASH,
        name=name,
        sizing_mode="stretch_width",
        classes=["benchq-static-table"],
    )


def _tile(name: str, value: float | None, fmt: str) -> pn.indicators.Number:
    return pn.indicators.Number(
        name=name,
        value=float("nan") if value is None or pd.isna(value) else float(value),
        format=fmt,
        font_size="36pt",
        title_size="14pt",
        nan_format="—",
        width=220,
    )


def _mean(frame: pd.DataFrame, column: str) -> float | None:
    values = pd.to_numeric(frame[column], errors="coerce").dropna()
    return float(values.mean()) if len(values) else None


_CONFIG_COLUMNS = {
    "model_version": "model",
    "environment": "environment",
    "dataset_version": "dataset",
    "prompt_version": "prompt",
}


#: Figures of a snapshot that mean nothing when its run failed (every case errored).
_SCORES = ("f1_score", "precision_score", "recall_score", "latency_ms", "cost_per_analysis")
_KEY = ["model_version", "dataset_version", "prompt_version", "environment"]


def mark_failed(current: pd.DataFrame, configs: pd.DataFrame | None) -> pd.DataFrame:
    """`current` with a `status` column; a failed run's scores blanked (shown as a dash).

    A run whose every case failed publishes F1 0 and latency 0 ms: figures
    that would rank it "fastest" and drag every mean down. It is shown as a
    failure and left out of averages and rankings.
    """
    out = current.copy()
    failed = pd.Series(False, index=out.index)
    if configs is not None and not configs.empty and "current_failed" in configs.columns:
        flags = configs[[*_KEY, "current_failed"]]
        merged = out[_KEY].merge(flags, on=_KEY, how="left")
        failed = pd.Series(
            merged["current_failed"].fillna(False).astype(bool).to_numpy(), out.index
        )
    out["status"] = ["run failed" if f else "ok" for f in failed]
    for column in _SCORES:
        if column in out.columns:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
            out.loc[failed, column] = float("nan")
    return out


def current_view(
    current: pd.DataFrame,
    usage: pd.DataFrame,
    configs: pd.DataFrame | None = None,
    top: int = 5,
    on_run: Callable[[str], None] | None = None,
) -> pn.Column:
    """Current Snapshot: tiles, top models by F1, fastest models with cost, configurations.

    Failed runs (see `mark_failed`) are listed with their status and left out
    of the tiles' averages, the top-F1 chart and the fastest list.
    """
    if current.empty:
        return pn.Column(message(NO_DATA))
    marked = mark_failed(current, configs)
    ok = marked[marked["status"] == "ok"]
    failures = int((marked["status"] != "ok").sum())
    tiles = pn.Row(
        _tile("Average F1", _mean(ok, "f1_score"), "{value:.3f}"),
        _tile("Average precision", _mean(ok, "precision_score"), "{value:.3f}"),
        _tile("Average recall", _mean(ok, "recall_score"), "{value:.3f}"),
        _tile("Average latency (ms)", _mean(ok, "latency_ms"), "{value:,.0f}"),
        name="tiles",
    )
    shown = marked.rename(columns=_CONFIG_COLUMNS)
    ranked = shown[shown["status"] == "ok"]
    several = shown["dataset"].nunique() > 1
    label = ranked["model"] + " · " + ranked["environment"]
    if several:
        label = label + " · " + ranked["dataset"]
    best = ranked.assign(configuration=label).sort_values("f1_score", ascending=False).head(top)
    parts: list[Any] = [tiles]
    if failures:
        parts.append(
            message(
                f"**{failures} configuration(s) whose current run failed** (no case succeeded): "
                "listed below as failures, left out of the averages and rankings.",
                "warning",
            )
        )
    charts: list[Any] = []
    if len(best):
        charts.append(
            pn.Column(
                best.iloc[::-1].hvplot.barh(
                    x="configuration",
                    y="f1_score",
                    color="#1f77b4",
                    title=f"Top {top} by F1 (current)",
                    xlabel="",
                    ylabel="F1",
                    height=280,
                    responsive=True,
                    ylim=(0, 1),
                ),
                sizing_mode="stretch_width",
            )
        )
    fastest = (
        ranked.sort_values("latency_ms")
        .head(top)[["model", "environment", "latency_ms", "cost_per_analysis", "f1_score"]]
        .rename(
            columns={
                "latency_ms": "latency (ms)",
                "cost_per_analysis": "cost per document (USD)",
                "f1_score": "F1",
            }
        )
    )
    charts.append(
        pn.Column(
            pn.pane.Markdown(f"#### Fastest {top} models, with their cost"),
            static_table(fastest, name="fastest"),
            sizing_mode="stretch_width",
        )
    )
    configs_table = shown[
        [
            "model",
            "status",
            "environment",
            "dataset",
            "snapshot_version",
            "f1_score",
            "precision_score",
            "recall_score",
            "latency_ms",
            "cost_per_analysis",
            "created_at",
            "benchq_run_id",
        ]
    ].rename(
        columns={
            "snapshot_version": "version",
            "f1_score": "F1",
            "precision_score": "prec.",
            "recall_score": "recall",
            "latency_ms": "latency (ms)",
            "cost_per_analysis": "cost/doc (USD)",
            "created_at": "published",
            "benchq_run_id": "run",
        }
    )
    configs_table["published"] = pd.to_datetime(configs_table["published"], utc=True).dt.strftime(
        "%Y-%m-%d %H:%M"
    )
    styled = table(configs_table, name="configurations")
    styled.style.apply(  # type: ignore[union-attr]
        lambda row: ["background-color: #c9ced6" if row["status"] != "ok" else "" for _ in row],
        axis=1,
    )
    if on_run is not None:
        runs = configs_table["run"].tolist()

        def open_run(event: Any) -> None:
            if event.row is not None and event.row < len(runs) and isinstance(runs[event.row], str):
                on_run(runs[event.row])

        styled.on_click(open_run, column="run")
    return pn.Column(
        *parts,
        pn.Row(*charts),
        pn.pane.Markdown(
            "#### Current configurations\nThe **run** column opens that run in the Run Explorer."
        ),
        styled,
        usage_view(usage),
        sizing_mode="stretch_width",
    )


def _places(column: str) -> int:
    """Decimals a column is shown with, by what its name says it holds."""
    name = column.lower()
    if "cost" in name or "usd" in name:
        return 5  # fractions of a cent per document
    if "latency" in name or "token" in name:
        return 0
    if "%" in name:
        return 1
    return 3  # precision, recall, F1: 0-1 scale


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with its float columns rounded for reading."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(_places(str(column)))
    return out


def usage_view(usage: pd.DataFrame) -> pn.Column:
    """Cost and tokens per model beside its quality, from the cases behind current snapshots."""
    if usage.empty:
        return pn.Column()
    shown = usage.rename(columns=_CONFIG_COLUMNS)[
        [
            "model",
            "environment",
            "snapshot_version",
            "cases",
            "failed_cases",
            "avg_input_tokens",
            "avg_output_tokens",
            "avg_total_tokens",
            "cost_per_case_usd",
            "total_cost_usd",
            "avg_latency_ms",
        ]
    ].rename(
        columns={
            "snapshot_version": "version",
            "failed_cases": "failed",
            "avg_input_tokens": "input tokens/case",
            "avg_output_tokens": "output tokens/case",
            "avg_total_tokens": "tokens/case",
            "cost_per_case_usd": "cost/case (USD)",
            "total_cost_usd": "run cost (USD)",
            "avg_latency_ms": "latency (ms)",
        }
    )
    return pn.Column(
        pn.pane.Markdown(
            "#### Cost and tokens per model\nFrom the case results behind each current "
            "snapshot (a snapshot pushed without a run has no cases)."
        ),
        static_table(shown, name="usage"),
        sizing_mode="stretch_width",
    )


#: Below this many distinct days, trends are drawn per run: a daily axis would show
#: one point (and Bokeh would label it in milliseconds).
SHORT_SPAN_DAYS = 3


def is_short(daily: pd.DataFrame) -> bool:
    """Whether the history covers too few days to draw per day."""
    return daily.empty or daily["day"].nunique() < SHORT_SPAN_DAYS


def by_run(points: pd.DataFrame) -> pd.DataFrame:
    """Snapshot points labelled by their run (publication time), oldest first, failures out."""
    frame = points[~points["failed"].astype(bool)].copy()
    when = pd.to_datetime(frame["created_at"], utc=True)
    frame["run"] = (
        when.dt.strftime("%m-%d %H:%M")
        + " · "
        + frame["benchq_run_id"].fillna("pushed").astype(str)
    )
    return frame.sort_values("created_at")


def _failed_note(points: pd.DataFrame) -> list[Any]:
    failed = points[points["failed"].astype(bool)]
    if failed.empty:
        return []
    names = ", ".join(
        f"{m} ({pd.Timestamp(t).strftime('%m-%d %H:%M')})"
        for m, t in zip(failed["model_version"], failed["created_at"], strict=True)
    )
    return [
        message(
            f"**{len(failed)} failed run(s)** (no case succeeded), not plotted and left out "
            f"of every mean: {names}.",
            "warning",
        )
    ]


def runs_view(points: pd.DataFrame, title: str) -> pn.Column:
    """F1 of each snapshot, by run (for a short history), failures named apart."""
    if points.empty:
        return pn.Column(message(NO_DATA + " (or none in the selected time range)."))
    frame = by_run(points)
    parts = _failed_note(points)
    if len(frame):
        chart = frame.hvplot.scatter(
            x="run",
            y="f1_score",
            by="model_version",
            size=60,
            title=title,
            xlabel="run (published, UTC)",
            ylabel="F1",
            height=340,
            responsive=True,
            rot=30,
            ylim=(0, 1.05),
            legend="bottom_right",
        )
        parts.insert(0, pn.pane.HoloViews(chart, name="f1-by-run", sizing_mode="stretch_width"))
    return pn.Column(*parts, sizing_mode="stretch_width")


def trends_view(daily: pd.DataFrame, points: pd.DataFrame | None = None) -> pn.Column:
    """Performance Trends: F1 per day with a one-standard-deviation band; runs per day.

    A history of fewer than `SHORT_SPAN_DAYS` days is drawn per run instead
    (`points`). Failed runs are counted apart and are in no mean.
    """
    if daily.empty:
        return pn.Column(message(NO_DATA + " (or none in the selected time range)."))
    if is_short(daily) and points is not None:
        return runs_view(points, "F1 of each snapshot, by run (a short history: per run)")
    frame = daily.copy()
    frame["f1_mean"] = pd.to_numeric(frame["f1_mean"], errors="coerce").astype(float)
    std = pd.to_numeric(frame["f1_std"], errors="coerce").astype(float).fillna(0.0)
    frame["lower"] = (frame["f1_mean"] - std).clip(lower=0.0)
    frame["upper"] = (frame["f1_mean"] + std).clip(upper=1.0)
    scored = frame.dropna(subset=["f1_mean"])
    band = scored.hvplot.area(
        x="day",
        y="lower",
        y2="upper",
        alpha=0.25,
        label="± 1 standard deviation",
        color="#1f77b4",
        line_alpha=0,
    )
    line = scored.hvplot.line(
        x="day", y="f1_mean", label="mean F1", color="#1f77b4", line_width=2
    ) * scored.hvplot.scatter(x="day", y="f1_mean", color="#1f77b4", size=30)
    f1_chart = (band * line).opts(
        title="F1 per day (mean ± 1 standard deviation across snapshots; failed runs left out)",
        ylabel="F1",
        xlabel="day (UTC)",
        height=320,
        responsive=True,
        legend_position="bottom_right",
        ylim=(0, 1.05),
    )
    failed = pd.to_numeric(frame["failed"], errors="coerce").fillna(0).astype(int)
    counts = pd.DataFrame(
        {"day": frame["day"], "completed": frame["runs"] - failed, "failed": failed}
    )
    runs = counts.hvplot.area(
        x="day",
        y=["completed", "failed"],
        stacked=True,
        title="Runs per day (snapshots published; failed runs apart)",
        xlabel="day (UTC)",
        ylabel="snapshots",
        height=260,
        responsive=True,
        color=["#ff7f0e", "#8a1c24"],
        legend="top_left",
    )
    return pn.Column(
        pn.pane.HoloViews(f1_chart, name="f1-trend", sizing_mode="stretch_width"),
        pn.pane.HoloViews(runs, name="runs-per-day", sizing_mode="stretch_width"),
        sizing_mode="stretch_width",
    )


def comparison_view(
    per_model: pd.DataFrame, stats: pd.DataFrame, points: pd.DataFrame | None = None
) -> pn.Column:
    """Model Comparison: F1 over time per model; mean, std, min, max, count, failed per model.

    Failed runs are counted in their own column and left out of every mean;
    a short history is drawn per run (`points`).
    """
    if stats.empty:
        return pn.Column(message(NO_DATA + " (or none in the selected time range)."))
    if is_short(per_model) and points is not None:
        chart_part: Any = runs_view(points, "F1 of each snapshot, per model, by run")
    else:
        scored = per_model.dropna(subset=["f1_mean"])
        chart = scored.hvplot.line(
            x="day",
            y="f1_mean",
            by="model_version",
            title="F1 per day, per model (failed runs left out)",
            xlabel="day (UTC)",
            ylabel="F1 (daily mean)",
            height=340,
            responsive=True,
            legend="bottom_right",
            ylim=(0, 1.05),
        ) * scored.hvplot.scatter(x="day", y="f1_mean", by="model_version", size=25)
        chart_part = pn.pane.HoloViews(chart, name="f1-per-model", sizing_mode="stretch_width")
    shown = stats[
        [
            "model_version",
            "f1_mean",
            "f1_std",
            "f1_min",
            "f1_max",
            "runs",
            "failed",
            "precision_mean",
            "recall_mean",
            "latency_mean",
            "cost_mean",
        ]
    ].rename(
        columns={
            "model_version": "model",
            "f1_mean": "F1 mean",
            "f1_std": "F1 std",
            "f1_min": "F1 min",
            "f1_max": "F1 max",
            "runs": "count",
            "failed": "failed runs",
            "precision_mean": "precision",
            "recall_mean": "recall",
            "latency_mean": "latency (ms)",
            "cost_mean": "cost/doc (USD)",
        }
    )
    shown = shown.sort_values("F1 mean", ascending=False, na_position="last")
    # min and max in one column: a table that fits 1280 pixels without wrapping words
    shown.insert(
        list(shown.columns).index("F1 min"),
        "F1 range",
        [
            None if _num(lo) is None else f"{lo:.3f} to {hi:.3f}"
            for lo, hi in zip(shown["F1 min"], shown["F1 max"], strict=True)
        ],
    )
    shown = shown.drop(columns=["F1 min", "F1 max"])
    return pn.Column(
        chart_part,
        pn.pane.Markdown(
            "#### F1 per model over the time range\nBest first; **count** includes the "
            "**failed runs**, which are in no mean (a model whose every run failed has none)."
        ),
        table(shown, name="model-stats", pagination=None),
        sizing_mode="stretch_width",
    )


def regression_frame(configs: pd.DataFrame, threshold_pct: float) -> pd.DataFrame:
    """Per configuration: the verdict first, baseline and current F1, the drop in % of baseline.

    The rule is the store's (`fell_beyond`): an alert when F1 fell by more
    than `threshold_pct` percent of its baseline value. A failed run (no case
    succeeded) has no F1 to compare: its status says so instead.
    """
    rows = []
    for r in configs.itertuples(index=False):
        base, cur = _num(r.baseline_f1), _num(r.current_f1)
        current_failed = bool(getattr(r, "current_failed", False))
        baseline_failed = bool(getattr(r, "baseline_failed", False))
        drop = 100.0 * (base - cur) / base if base and cur is not None else None
        if _num(r.baseline_version) is None:
            status = "no baseline"
        elif current_failed:
            status = "current run failed"
        elif baseline_failed:
            status = "baseline run failed"
        elif fell_beyond(base, cur, threshold_pct / 100.0):
            status = "ALERT"
        else:
            status = "ok"
        if current_failed or baseline_failed:
            drop = None
        rows.append(
            {
                "status": status,
                "model": r.model_version,
                "environment": r.environment,
                "dataset": r.dataset_version,
                "prompt": r.prompt_version,
                "baseline": _version_f1(r.baseline_version, None if baseline_failed else base),
                "current": _version_f1(r.current_version, None if current_failed else cur),
                "F1 drop (%)": drop,
            }
        )
    frame = pd.DataFrame(rows)
    frame["F1 drop (%)"] = pd.to_numeric(frame["F1 drop (%)"], errors="coerce").astype(float)
    return frame


def _version_f1(version: Any, f1: float | None) -> str | None:
    """`v3 · F1 0.857`, `v3 · no F1` for a failed run, None (a dash) without a version."""
    if _num(version) is None:
        return None
    return f"v{int(version)} · " + ("no F1" if f1 is None else f"F1 {f1:.3f}")


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


_STATUS_COLOURS = {
    "ALERT": "background-color: #f8d7da",
    "current run failed": "background-color: #c9ced6",
    "baseline run failed": "background-color: #c9ced6",
}


def regression_view(configs: pd.DataFrame, threshold_pct: float) -> pn.Column:
    """Regression Detection: the table, and an alert naming what fell too far."""
    if configs.empty:
        return pn.Column(message(NO_DATA))
    frame = regression_frame(configs, threshold_pct)
    alerts = frame[frame["status"] == "ALERT"]
    if len(alerts):
        names = ", ".join(
            f"{m} ({e})" for m, e in zip(alerts["model"], alerts["environment"], strict=True)
        )
        banner = message(
            f"**{len(alerts)} regression alert(s):** F1 fell by more than "
            f"{threshold_pct:g}% of its baseline for {names}.",
            "danger",
        )
    else:
        banner = message(
            f"No configuration's F1 fell by more than {threshold_pct:g}% of its baseline.",
            "success",
        )
    missing = int((frame["status"] == "no baseline").sum())
    failed = int(frame["status"].str.endswith("run failed").sum())
    notes = []
    if missing:
        notes.append(
            f"{missing} configuration(s) have no baseline yet: set one in Snapshot History."
        )
    if failed:
        notes.append(
            f"{failed} configuration(s) cannot be judged: their current or baseline run failed "
            "(no case succeeded), so there is no F1 to compare."
        )
    note = " ".join(notes)
    styled = table(frame, name="regressions", pagination=None)
    styled.style.apply(  # type: ignore[union-attr]
        lambda row: [_STATUS_COLOURS.get(str(row["status"]), "") for _ in row],
        axis=1,
    )
    return pn.Column(banner, styled, pn.pane.Markdown(note), sizing_mode="stretch_width")
