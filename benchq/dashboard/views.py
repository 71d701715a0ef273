"""The summary views (Current Snapshot, Performance Trends, Model Comparison), built
from the loaders' DataFrames, and the table helpers every view shares.

Each function takes data and returns Panel objects; none reads the store,
so each view is the same whatever backend the data came from. Figures on a
0-1 scale (precision, recall, F1) are shown with three decimals, F1 with its
95 % interval where the snapshot has one (`intervals`). Regression Detection
is `verdicts_view`; the change points of Performance Trends are `changes`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import hvplot.pandas  # noqa: F401 - registers the .hvplot accessor on DataFrames
import pandas as pd
import panel as pn

from benchq.dashboard.intervals import (
    CI_SUFFIX,
    INTERVAL_BREAK,
    add_bounds,
    error_bars,
    score_texts,
)

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
.tabulator-row .tabulator-cell { font-size: 12px; }
.tabulator .tabulator-col .tabulator-col-title {
  white-space: normal !important; text-overflow: clip !important; overflow-wrap: break-word;
}
.tabulator-row .tabulator-cell {
  white-space: normal !important; text-overflow: clip !important; overflow-wrap: break-word;
  height: auto !important;
}
"""


#: Characters a table row holds at 1280 pixels (the main area beside the sidebar, at the
#: tables' 12-pixel font): what the column widths are planned for.
ROW_CHARACTERS = 120


def column_widths(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's share of the table's width (percent), by what it holds.

    The longest word of the header or the longest value (capped) decides, so
    a column of model names gets more room than a column of versions. A
    score with its interval (`0.812 [0.781, 0.840]`) counts as its longer
    line: it wraps before the bracket. When the columns want more than a row
    holds (`ROW_CHARACTERS`), the room above each column's longest word
    (header or value) is what shrinks: words stay whole, lines wrap instead.
    """
    floors: dict[str, float] = {}
    wants: dict[str, float] = {}
    for column in frame.columns:
        header = max((len(w) for w in str(column).split()), default=4)
        values = frame[column].head(200)
        longest = int(values.map(_shown_length).max()) if len(values) else 4
        word = int(values.map(_longest_word).max()) if len(values) else 4
        # 5: room for the sort arrow; no column narrower than its longest word
        floors[str(column)] = 5 + max(header, min(22, word))
        wants[str(column)] = 5 + max(header, min(22, longest))
    floor, want = sum(floors.values()), sum(wants.values())
    if want > ROW_CHARACTERS and want > floor:
        scale = max(0.0, ROW_CHARACTERS - floor) / (want - floor)
        wants = {c: floors[c] + (w - floors[c]) * scale for c, w in wants.items()}
    total = sum(wants.values())
    return {c: f"{100 * w / total:.1f}%" for c, w in wants.items()}


def _shown_length(value: Any) -> int:
    """Characters of the longest line a cell shows (an interval wraps before its bracket)."""
    if isinstance(value, float):
        return len(f"{value:.3f}")
    text = str(value)
    if INTERVAL_BREAK in text:
        return max(len(part) for part in text.split(INTERVAL_BREAK))
    return len(text)


#: Where a browser may wrap a cell: at a space, or after a hyphen before a letter
#: (`gpt-4o-` / `mini`; never inside `2026-12-01` or `-0.675`).
_WRAP_POINT = re.compile(r" |(?<=-)(?=[^\d\s])")


def _longest_word(value: Any) -> int:
    """Characters of the longest piece of a cell that cannot wrap (an interval is one)."""
    if isinstance(value, float):
        return len(f"{value:.3f}")
    return max((len(w) for w in _WRAP_POINT.split(str(value))), default=0)


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


def num(value: Any) -> float | None:
    """`value` as a float; None for a missing value (None, NaN)."""
    return None if value is None or pd.isna(value) else float(value)


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


def provenance(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with `model id` and `prompt digest` columns: what produced each snapshot.

    A record pushed from elsewhere knows neither: None, shown as a dash.
    """
    out = frame.copy()
    for source, column in (("model_id", "model id"), ("prompt_digest", "prompt digest")):
        values = out[source] if source in out.columns else [None] * len(out)
        out[column] = pd.Series(
            [v if isinstance(v, str) and v else None for v in values], index=out.index, dtype=object
        )
    return out


def top_chart(best: pd.DataFrame, top: int) -> Any:
    """The best configurations by F1 as bars, each with its 95 % interval when it has one."""
    bars = best.iloc[::-1].hvplot.barh(
        x="configuration",
        y="f1_score",
        color="#1f77b4",
        fill_alpha=0.4,  # light, so the whisker inside the bar shows
        line_color="#1f77b4",
        title=f"Top {top} F1, 95 % CI",
        xlabel="",
        ylabel="F1",
        height=280,
        responsive=True,
        ylim=(0, 1),
    )
    whiskers = error_bars(best.iloc[::-1], "configuration")
    if whiskers is None:
        return bars.opts(shared_axes=False)
    # the overlay takes its own size: without it, it falls back to a fixed width
    return (bars * whiskers.opts(invert_axes=True)).opts(
        height=280, responsive=True, shared_axes=False
    )


def current_view(
    current: pd.DataFrame,
    usage: pd.DataFrame,
    configs: pd.DataFrame | None = None,
    top: int = 5,
    on_run: Callable[[str], None] | None = None,
) -> pn.Column:
    """Current Snapshot: tiles, top models by F1, fastest models with cost, configurations.

    Failed runs (see `mark_failed`) are listed with their status and left out
    of the tiles' averages, the top-F1 chart and the fastest list. Scores
    carry their 95 % intervals where the snapshot has them (a run's, not a
    pushed record's): whiskers on the chart, `0.812 [0.781, 0.840]` in the tables.
    """
    if current.empty:
        return pn.Column(message(NO_DATA))
    marked = add_bounds(mark_failed(current, configs))
    ok = marked[marked["status"] == "ok"]
    failures = int((marked["status"] != "ok").sum())
    tiles = pn.Row(
        _tile("Average F1", _mean(ok, "f1_score"), "{value:.3f}"),
        _tile("Average precision", _mean(ok, "precision_score"), "{value:.3f}"),
        _tile("Average recall", _mean(ok, "recall_score"), "{value:.3f}"),
        _tile("Average latency (ms)", _mean(ok, "latency_ms"), "{value:,.0f}"),
        name="tiles",
    )
    shown = provenance(marked).rename(columns=_CONFIG_COLUMNS)
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
                pn.pane.HoloViews(top_chart(best, top), name="top-f1"),
                sizing_mode="stretch_width",
            )
        )
    # F1 with its interval; precision and recall as figures (wide tables stay readable).
    texts = score_texts(shown, scores=("f1_score",))
    fastest = texts.loc[ranked.sort_values("latency_ms").head(top).index][
        ["model", "environment", "latency_ms", "cost_per_analysis", "f1_score"]
    ].rename(
        columns={
            "latency_ms": "latency (ms)",
            "cost_per_analysis": "cost per document (USD)",
            "f1_score": "F1" + CI_SUFFIX,
        }
    )
    charts.append(
        pn.Column(
            pn.pane.Markdown(f"#### Fastest {top} models, with their cost"),
            static_table(fastest, name="fastest"),
            sizing_mode="stretch_width",
        )
    )
    # One dataset shown: said in the sidebar, not in a column of its own.
    configs_table = texts[
        [
            "model",
            "model id",
            "status",
            "environment",
            *(["dataset"] if several else []),
            "prompt digest",
            "snapshot_version",
            "f1_score",
            "precision_score",
            "recall_score",
            "benchq_run_id",
        ]
    ].rename(
        columns={
            "snapshot_version": "version",
            "f1_score": "F1" + CI_SUFFIX,
            "precision_score": "precision",
            "recall_score": "recall",
            "benchq_run_id": "run",
        }
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
            "#### Current configurations\nF1 with its 95 % interval (a bootstrap over the "
            "run's cases; none for a record pushed without a run); "
            "the **model id** the provider ran and the **prompt digest** (a dash: not "
            "recorded); latency and cost are in the tables above and below, when each "
            "was published in Snapshot History. The **run** column opens that run in the "
            "Run Explorer."
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
    """F1 of each snapshot, by run (for a short history), failures named apart.

    With `f1_score_low` and `f1_score_high` columns, each point carries its
    95 % interval as a whisker.
    """
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
        whiskers = error_bars(frame, "run") if "f1_score_low" in frame.columns else None
        if whiskers is not None:
            chart = (chart * whiskers).opts(height=340, responsive=True)
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


def current_intervals_chart(current: pd.DataFrame, configs: pd.DataFrame | None) -> Any:
    """Each configuration's current F1 as a point with its 95 % interval, best first.

    None when no current snapshot has an F1 (all failed, or none at all).
    Overlapping whiskers say two models cannot be told apart on this suite.
    """
    if current.empty:
        return None
    marked = add_bounds(mark_failed(current, configs))
    ok = marked[marked["status"] == "ok"].dropna(subset=["f1_score"])
    if ok.empty:
        return None
    label = ok["model_version"] + " · " + ok["environment"]
    if ok["dataset_version"].nunique() > 1:
        label = label + " · " + ok["dataset_version"]
    # best at the top: the first category of an inverted axis is drawn at the bottom
    frame = ok.assign(configuration=label).sort_values("f1_score", ascending=True)
    height = 90 + 28 * len(frame)
    points = frame.hvplot.scatter(
        x="configuration",
        y="f1_score",
        size=70,
        color="#1f77b4",
        title="Current F1 of each configuration (whiskers: 95 % interval over its cases)",
        xlabel="",
        ylabel="F1",
        ylim=(0, 1.05),
    ).opts(invert_axes=True)
    whiskers = error_bars(frame, "configuration")
    chart = points if whiskers is None else points * whiskers.opts(invert_axes=True)
    # not linked to Current Snapshot's top chart, whose axis has the same name and
    # would impose its order on this one in the same page
    return chart.opts(height=height, responsive=True, shared_axes=False)


def comparison_view(
    per_model: pd.DataFrame,
    stats: pd.DataFrame,
    points: pd.DataFrame | None = None,
    current: pd.DataFrame | None = None,
    configs: pd.DataFrame | None = None,
) -> pn.Column:
    """Model Comparison: F1 over time per model; each current F1 with its interval; stats.

    Per model over the time range: mean, std, min, max, count, failed. Failed
    runs are counted in their own column and left out of every mean; a short
    history is drawn per run (`points`). `current` (the current snapshots,
    with `configs` to tell failed runs) adds the current F1 of each
    configuration with its 95 % interval.
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
            None if num(lo) is None else f"{lo:.3f} to {hi:.3f}"
            for lo, hi in zip(shown["F1 min"], shown["F1 max"], strict=True)
        ],
    )
    shown = shown.drop(columns=["F1 min", "F1 max"])
    intervals = None if current is None else current_intervals_chart(current, configs)
    return pn.Column(
        chart_part,
        *(
            []
            if intervals is None
            else [pn.pane.HoloViews(intervals, name="f1-intervals", sizing_mode="stretch_width")]
        ),
        pn.pane.Markdown(
            "#### F1 per model over the time range\nBest first; **count** includes the "
            "**failed runs**, which are in no mean (a model whose every run failed has none)."
        ),
        table(shown, name="model-stats", pagination=None),
        sizing_mode="stretch_width",
    )
