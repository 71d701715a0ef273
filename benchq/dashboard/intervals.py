"""The 95 % intervals of a snapshot's scores, as the dashboard shows them.

A snapshot published by a run carries `metrics.f1_ci`, `precision_ci` and
`recall_ci` (`[low, high]`, a bootstrap over cases: docs/verdicts.md); a
record pushed from elsewhere has none. These helpers read them off a
snapshot's `metrics`, write a score with its interval as text
(`0.812 [0.781, 0.840]`) and draw scores as points with error bars. Pure
functions on DataFrames, so every view shows intervals the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

#: The scores that carry an interval, and the metric key of each interval.
SCORES: dict[str, str] = {
    "f1_score": "f1_ci",
    "precision_score": "precision_ci",
    "recall_score": "recall_ci",
}

#: The column headers of a score shown with its interval.
CI_SUFFIX = " [95 % CI]"

#: Where a score shown with its interval may wrap: before the bracket, never inside it
#: (the bounds are joined by a no-break space).
INTERVAL_BREAK = " ["


def interval(metrics: Any, name: str) -> tuple[float, float] | None:
    """The `[low, high]` stored under `name` in a snapshot's metrics; None when absent."""
    if not isinstance(metrics, Mapping):
        return None
    value = metrics.get(name)
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    try:
        low, high = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        return None
    if pd.isna(low) or pd.isna(high):
        return None
    return low, high


def with_interval(value: Any, ci: tuple[float, float] | None, places: int = 3) -> str | None:
    """`0.812 [0.781, 0.840]`; the value alone without an interval; None (a dash) without one.

    The bounds are joined by a no-break space, so a narrow cell wraps the
    interval onto a line of its own, whole.
    """
    if value is None or pd.isna(value):
        return None
    text = f"{float(value):.{places}f}"
    if ci is None:
        return text
    return f"{text}{INTERVAL_BREAK}{ci[0]:.{places}f},\u00a0{ci[1]:.{places}f}]"


def add_bounds(frame: pd.DataFrame, metrics: str = "metrics") -> pd.DataFrame:
    """A copy with `<score>_low` and `<score>_high` columns from each row's metrics.

    A row without an interval (a pushed record), or whose score is missing
    (a failed run), gets NaN in both.
    """
    out = frame.copy()
    for score, key in SCORES.items():
        lows, highs = [], []
        present = score in out.columns
        for row_metrics, value in zip(
            out[metrics] if metrics in out.columns else [None] * len(out),
            out[score] if present else [None] * len(out),
            strict=True,
        ):
            ci = interval(row_metrics, key) if value is not None and not pd.isna(value) else None
            lows.append(float("nan") if ci is None else ci[0])
            highs.append(float("nan") if ci is None else ci[1])
        out[f"{score}_low"] = pd.Series(lows, index=out.index, dtype=float)
        out[f"{score}_high"] = pd.Series(highs, index=out.index, dtype=float)
    return out


def score_texts(
    frame: pd.DataFrame, metrics: str = "metrics", scores: tuple[str, ...] = tuple(SCORES)
) -> pd.DataFrame:
    """A copy whose `scores` columns (default: precision, recall, F1) are text with intervals."""
    out = frame.copy()
    for score in scores:
        if score not in out.columns:
            continue
        rows = out[metrics] if metrics in out.columns else [None] * len(out)
        out[score] = pd.Series(
            [
                with_interval(value, interval(m, SCORES[score]))
                for value, m in zip(out[score], rows, strict=True)
            ],
            index=out.index,
            dtype=object,
        )
    return out


def error_bars(
    frame: pd.DataFrame, x: str, y: str = "f1_score", *, horizontal: bool = False
) -> Any:
    """HoloViews error bars for the rows of `frame` that have an interval (else None).

    `frame` needs `<y>_low` and `<y>_high` (`add_bounds`). Drawn in one dark
    colour over the points or bars of the same `x` (categorical or numeric),
    whatever colour those have.
    """
    import holoviews as hv

    has = frame.dropna(subset=[y, f"{y}_low", f"{y}_high"])
    if has.empty:
        return None
    data = pd.DataFrame(
        {
            x: has[x].to_numpy(),
            y: has[y].astype(float).to_numpy(),
            "below": (has[y] - has[f"{y}_low"]).clip(lower=0).astype(float).to_numpy(),
            "above": (has[f"{y}_high"] - has[y]).clip(lower=0).astype(float).to_numpy(),
        }
    )
    bars = hv.ErrorBars(data, kdims=[x], vdims=[y, "below", "above"], horizontal=horizontal)
    return bars.opts(color="#2b2b2b", line_width=1.5)
