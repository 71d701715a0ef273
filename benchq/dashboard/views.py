"""The four summary views, built from the loaders' DataFrames.

Each function takes data and returns Panel objects; none reads the store,
so each view is the same whatever backend the data came from. Figures on a
0-1 scale (precision, recall, F1) are shown with three decimals; a drop is
shown in the unit it is compared in (percent of the baseline value).
"""

from __future__ import annotations

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
        "layout": "fit_data_stretch",
        "pagination": "local",
        "page_size": 15,
    }
    options.update(kwargs)
    return pn.widgets.Tabulator(rounded(frame), **options)


def static_table(frame: pd.DataFrame, name: str) -> pn.pane.DataFrame:
    """A small table as plain HTML: no sorting or paging, but far cheaper to render.

    Each Tabulator is a JavaScript grid of its own; the first view would need
    four, and building them is most of what opening the page costs.
    """
    return pn.pane.DataFrame(
        rounded(frame),
        index=False,
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


def current_view(current: pd.DataFrame, usage: pd.DataFrame, top: int = 5) -> pn.Column:
    """Current Snapshot: tiles, top models by F1, fastest models with cost, configurations."""
    if current.empty:
        return pn.Column(message(NO_DATA))
    tiles = pn.Row(
        _tile("Average F1", _mean(current, "f1_score"), "{value:.3f}"),
        _tile("Average precision", _mean(current, "precision_score"), "{value:.3f}"),
        _tile("Average recall", _mean(current, "recall_score"), "{value:.3f}"),
        _tile("Average latency (ms)", _mean(current, "latency_ms"), "{value:,.0f}"),
        name="tiles",
    )
    shown = current.rename(columns=_CONFIG_COLUMNS)
    best = shown.sort_values("f1_score", ascending=False).head(top)
    best = best.assign(configuration=best["model"] + " · " + best["environment"])
    best_chart = best.iloc[::-1].hvplot.barh(
        x="configuration",
        y="f1_score",
        color="#1f77b4",
        title=f"Top {top} by F1 (current)",
        xlabel="",
        ylabel="F1",
        height=280,
        responsive=True,
        ylim=(0, 1),
    )
    fastest = (
        shown.sort_values("latency_ms")
        .head(top)[["model", "environment", "latency_ms", "cost_per_analysis", "f1_score"]]
        .rename(
            columns={
                "latency_ms": "latency (ms)",
                "cost_per_analysis": "cost per document (USD)",
                "f1_score": "F1",
            }
        )
    )
    configs = shown[
        [
            "model",
            "environment",
            "dataset",
            "prompt",
            "snapshot_version",
            "f1_score",
            "precision_score",
            "recall_score",
            "latency_ms",
            "cost_per_analysis",
            "is_baseline",
            "commit_sha",
            "created_at",
        ]
    ].rename(
        columns={
            "snapshot_version": "version",
            "f1_score": "F1",
            "precision_score": "precision",
            "recall_score": "recall",
            "latency_ms": "latency (ms)",
            "cost_per_analysis": "cost/doc (USD)",
            "is_baseline": "is baseline",
            "commit_sha": "commit",
            "created_at": "published",
        }
    )
    return pn.Column(
        tiles,
        pn.Row(
            pn.Column(best_chart, sizing_mode="stretch_width"),
            pn.Column(
                pn.pane.Markdown(f"#### Fastest {top} models, with their cost"),
                static_table(fastest, name="fastest"),
                sizing_mode="stretch_width",
            ),
        ),
        pn.pane.Markdown("#### Current configurations"),
        table(configs, name="configurations"),
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


def trends_view(daily: pd.DataFrame) -> pn.Column:
    """Performance Trends: F1 per day with a one-standard-deviation band; runs per day."""
    if daily.empty:
        return pn.Column(message(NO_DATA + " (or none in the selected time range)."))
    frame = daily.copy()
    std = frame["f1_std"].fillna(0.0)
    frame["lower"] = (frame["f1_mean"] - std).clip(lower=0.0)
    frame["upper"] = (frame["f1_mean"] + std).clip(upper=1.0)
    band = frame.hvplot.area(
        x="day",
        y="lower",
        y2="upper",
        alpha=0.25,
        label="± 1 standard deviation",
        color="#1f77b4",
        line_alpha=0,
    )
    line = frame.hvplot.line(
        x="day", y="f1_mean", label="mean F1", color="#1f77b4", line_width=2
    ) * frame.hvplot.scatter(x="day", y="f1_mean", color="#1f77b4", size=30)
    f1_chart = (band * line).opts(
        title="F1 per day (mean ± 1 standard deviation across snapshots)",
        ylabel="F1",
        xlabel="day (UTC)",
        height=320,
        responsive=True,
        legend_position="bottom_right",
        ylim=(0, 1.05),
    )
    runs = frame.hvplot.bar(
        x="day",
        y="runs",
        title="Runs per day (snapshots published)",
        xlabel="day (UTC)",
        ylabel="snapshots",
        height=260,
        responsive=True,
        rot=45,
        color="#ff7f0e",
    )
    return pn.Column(
        pn.pane.HoloViews(f1_chart, name="f1-trend", sizing_mode="stretch_width"),
        pn.pane.HoloViews(runs, name="runs-per-day", sizing_mode="stretch_width"),
        sizing_mode="stretch_width",
    )


def comparison_view(per_model: pd.DataFrame, stats: pd.DataFrame) -> pn.Column:
    """Model Comparison: F1 over time per model; mean, std, min, max, count per model."""
    if stats.empty:
        return pn.Column(message(NO_DATA + " (or none in the selected time range)."))
    chart = per_model.hvplot.line(
        x="day",
        y="f1_mean",
        by="model_version",
        title="F1 per day, per model",
        xlabel="day (UTC)",
        ylabel="F1 (daily mean)",
        height=340,
        responsive=True,
        legend="bottom_right",
        ylim=(0, 1.05),
    ) * per_model.hvplot.scatter(x="day", y="f1_mean", by="model_version", size=25)
    shown = stats[
        [
            "model_version",
            "f1_mean",
            "f1_std",
            "f1_min",
            "f1_max",
            "runs",
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
            "precision_mean": "precision mean",
            "recall_mean": "recall mean",
            "latency_mean": "latency mean (ms)",
            "cost_mean": "cost/doc mean (USD)",
        }
    )
    return pn.Column(
        pn.pane.HoloViews(chart, name="f1-per-model", sizing_mode="stretch_width"),
        pn.pane.Markdown("#### F1 per model over the time range"),
        table(shown, name="model-stats", pagination=None),
        sizing_mode="stretch_width",
    )


def regression_frame(configs: pd.DataFrame, threshold_pct: float) -> pd.DataFrame:
    """Per configuration: baseline and current F1, the drop in % of baseline, the verdict.

    The rule is the store's (`fell_beyond`): an alert when F1 fell by more
    than `threshold_pct` percent of its baseline value.
    """
    rows = []
    for r in configs.itertuples(index=False):
        base, cur = _num(r.baseline_f1), _num(r.current_f1)
        drop = 100.0 * (base - cur) / base if base and cur is not None else None
        if base is None:
            status = "no baseline"
        elif fell_beyond(base, cur, threshold_pct / 100.0):
            status = "ALERT"
        else:
            status = "ok"
        rows.append(
            {
                "model": r.model_version,
                "environment": r.environment,
                "dataset": r.dataset_version,
                "prompt": r.prompt_version,
                "baseline version": r.baseline_version,
                "baseline F1": base,
                "current version": r.current_version,
                "current F1": cur,
                "F1 drop (% of baseline)": drop,
                "status": status,
            }
        )
    return pd.DataFrame(rows)


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


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
    note = (
        f"{missing} configuration(s) have no baseline yet: set one in Snapshot History."
        if missing
        else ""
    )
    styled = table(frame, name="regressions", pagination=None)
    styled.style.apply(  # type: ignore[union-attr]
        lambda row: ["background-color: #f8d7da" if row["status"] == "ALERT" else "" for _ in row],
        axis=1,
    )
    return pn.Column(banner, styled, pn.pane.Markdown(note), sizing_mode="stretch_width")
