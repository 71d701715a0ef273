"""The change-point section of Performance Trends (see `benchq.dashboard.changes`).

Pick up to four configurations (among those the sidebar's filters leave)
and a metric; the section draws that metric by snapshot version with its
change points and lists every change point of F1, latency and cost. Reads
through the cached loaders of `data`, and nothing until its tab is shown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param

from benchq.dashboard import data
from benchq.dashboard.changes import MAX_CONFIGS, METRICS, SERIES_LIMIT, changes_chart, label_of
from benchq.dashboard.views import message, table
from benchq.errors import BenchqError
from benchq.store.base import ResultsStore


class ChangePoints(pn.viewable.Viewer):
    """The change-point section of Performance Trends: pick configurations and a metric."""

    revision = param.Integer(default=0, doc="Bumped when the scope changes: re-render.")

    def __init__(self, store: ResultsStore, **params: Any) -> None:
        super().__init__(**params)
        self.store = store
        self._keys: dict[str, data.ConfigKey] = {}
        self._days: int | None = 30
        self.configs = pn.widgets.MultiChoice(
            name="Configurations (history searched for change points)",
            options=[],
            max_items=MAX_CONFIGS,
            sizing_mode="stretch_width",
        )
        self.metric = pn.widgets.RadioButtonGroup(
            name="Metric", options=list(METRICS), value="F1", button_type="default"
        )

    def set_scope(
        self,
        environment: str | None,
        models: tuple[str, ...],
        dataset: str | None,
        days: int | None,
    ) -> None:
        """The sidebar's filters: which configurations to offer, and the time range."""
        self._days = days
        try:
            configs = data.load_configurations(self.store, environment)
        except BenchqError:
            configs = pd.DataFrame()
        keys: list[data.ConfigKey] = []
        if not configs.empty:
            for r in configs.itertuples(index=False):
                if models and r.model_version not in models:
                    continue
                if dataset is not None and r.dataset_version != dataset:
                    continue
                keys.append(
                    (
                        str(r.model_version),
                        str(r.dataset_version),
                        str(r.prompt_version),
                        str(r.environment),
                    )
                )
        several = len({k[1] for k in keys}) > 1
        self._keys = {label_of(k, several): k for k in sorted(keys)}
        options = list(self._keys)
        kept = [v for v in self.configs.value if v in self._keys]
        self.configs.param.update(options=options, value=kept or options[:1])
        self.revision += 1

    def _render(self, chosen: list[str], metric: str, _: int) -> pn.viewable.Viewable:
        if not self._keys:
            return message("No configuration matches the filters.")
        if not chosen:
            return message("Pick a configuration to search its history for change points.")
        lines: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
        rows = []
        try:
            for name in chosen:
                key = self._keys.get(name)
                if key is None:
                    continue
                points, changes = data.load_changes(self.store, key, self._days)
                lines[name] = (points, changes)
                if len(changes):
                    rows.append(changes.assign(configuration=name))
        except BenchqError as exc:
            return message(f"**The history could not be read.** {exc}", "danger")
        chart = changes_chart(lines, str(metric))
        counted = sum(len(p) for p, _ in lines.values())
        parts: list[Any] = []
        if chart is not None:
            parts.append(
                pn.pane.HoloViews(chart, name="change-points", sizing_mode="stretch_width")
            )
        if rows:
            found = pd.concat(rows, ignore_index=True)[
                [
                    "configuration",
                    "metric",
                    "previous version",
                    "version",
                    "before",
                    "after",
                    "change",
                    "p-value",
                ]
            ]
            parts.append(_changes_table(found))
        else:
            parts.append(
                message(
                    f"No change point in the {counted} snapshot(s) searched: no level of F1, "
                    "latency or cost shifted more than run-to-run noise explains (p ≤ 0.01)."
                )
            )
        return pn.Column(*parts, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        view = pn.param.ParamFunction(
            pn.bind(
                self._render, self.configs.param.value, self.metric.param.value, self.param.revision
            ),
            lazy=True,
            sizing_mode="stretch_width",
        )
        return pn.Column(
            pn.pane.Markdown(
                "#### Change points in a configuration's history\n"
                "Where the level of F1, latency or cost shifted, over the active snapshots "
                f"of the time range (the newest {SERIES_LIMIT} at most), oldest first: "
                "E-divisive means with a permutation test, as `benchq snapshots changes`."
            ),
            pn.Row(self.configs, self.metric, sizing_mode="stretch_width"),
            view,
            sizing_mode="stretch_width",
        )


def _changes_table(found: pd.DataFrame) -> pn.widgets.Tabulator:
    """The change points as text: each level in its metric's unit."""
    shown = found.copy()
    for column in ("before", "after", "change"):
        shown[column] = [
            f"{value:+,.{METRICS[m][1]}f}" if column == "change" else f"{value:,.{METRICS[m][1]}f}"
            for value, m in zip(shown[column], shown["metric"], strict=True)
        ]
    shown["p-value"] = [f"{p:.3f}" for p in shown["p-value"]]
    shown["previous version"] = shown["previous version"].astype(str)
    shown["version"] = shown["version"].astype(str)
    return table(shown, name="change-points-table", pagination=None)
