"""The dashboard: a sidebar of filters and five views of the results store.

`Dashboard` is a `pn.viewable.Viewer` (Panel's best-practice shape): the
sidebar widgets are its state, each view is a function bound to the widgets'
`param.value`, and the data comes from the cached loaders of `data`. Tabs
are dynamic, so opening the page loads only the first view's data; the other
views load when their tab is opened.

Any store failure (`BenchqError`: unreachable server, missing schema, ...)
is shown on the page as a message saying what to check; a traceback never
reaches the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn
import param
from panel.theme import Fast

from benchq.dashboard import data
from benchq.dashboard.changes_view import ChangePoints
from benchq.dashboard.explorer import RunExplorer
from benchq.dashboard.history import SnapshotHistory
from benchq.dashboard.verdicts_view import EXPLAINED, fallback, key_of, regression_view
from benchq.dashboard.views import (
    NO_DATA,
    comparison_view,
    current_view,
    is_short,
    message,
    num,
    trends_view,
)
from benchq.errors import BenchqError, StoreUnavailable
from benchq.regression.verdict import VerdictRule
from benchq.store.base import ResultsStore
from benchq.store.verdicts import SnapshotVerdict

ALL_ENVIRONMENTS = "All environments"
ALL_DATASETS = "All datasets"

#: The significance levels Regression Detection offers (the setting's is added if missing).
ALPHAS = (0.001, 0.005, 0.01, 0.05, 0.1)


def _without_web_font() -> None:
    """Stop Panel's Fast design from importing its Google web font.

    The stock design links Open Sans from fonts.googleapis.com: a dashboard on
    a private network must not depend on that, and the browser logs an error
    on every page view where it cannot be reached. The page uses system fonts
    instead. (A subclass of the design is not picked up by the template's
    resource machinery, hence this edit of the design's resource table.)
    """
    resources: Any = dict(Fast._resources)
    resources.pop("font", None)
    Fast._resources = resources


INTRO = """\
Benchmark results of language models on billing documents: how well each
model finds billing errors (precision, recall, F1 on a 0-1 scale), how fast
it is and what it costs. Every published result is a **snapshot** of a
configuration (model, dataset, prompt, environment).
"""


def store_failure(exc: BenchqError, where: str) -> pn.pane.Alert:
    """The message shown instead of a view whose data could not be read."""
    if isinstance(exc, StoreUnavailable):
        text = (
            f"**The results store is unreachable**, so {where} cannot be shown. {exc}\n\n"
            "Check that the database is running and that `BENCHQ_STORE_URL` (or "
            "`SUPABASE_URL` and its key) points at it, then press **Refresh**."
        )
    else:
        text = f"**The results store could not be read**, so {where} cannot be shown. {exc}"
    return message(text, "danger")


def guarded(where: str, build: Callable[..., pn.viewable.Viewable]) -> Callable[..., Any]:
    """`build`, with store errors turned into a message on the page."""

    def view(*args: Any, **kwargs: Any) -> pn.viewable.Viewable:
        try:
            return build(*args, **kwargs)
        except BenchqError as exc:
            return store_failure(exc, where)

    return view


class Dashboard(pn.viewable.Viewer):
    """The whole page: sidebar filters, five tabs, and a refresh button."""

    refreshed = param.Integer(default=0, doc="Bumped by Refresh: bound views re-read the store.")

    def __init__(
        self,
        store: ResultsStore,
        *,
        user: str | None = None,
        login: bool = False,
        alpha: float = 0.01,
        **params: Any,
    ) -> None:
        """`user`: who signed in (None: nobody); `login`: whether the server asks for one.

        Checkout and set baseline are enabled only for a signed-in user.
        `alpha` is Regression Detection's first significance level
        (`BENCHQ_VERDICT_ALPHA`).
        """
        super().__init__(**params)
        self.store = store
        self.user = user
        self.login = login
        self.environment = pn.widgets.Select(
            name="Environment", options=[ALL_ENVIRONMENTS], sizing_mode="stretch_width"
        )
        self.dataset = pn.widgets.Select(
            name="Dataset (suite)", options=[ALL_DATASETS], sizing_mode="stretch_width"
        )
        self.time_range = pn.widgets.RadioButtonGroup(
            name="Time range",
            options=list(data.TIME_RANGES),
            value="Last 30 days",
            button_type="default",
            orientation="vertical",
            sizing_mode="stretch_width",
        )
        self.models = pn.widgets.MultiChoice(
            name="Models (none chosen: all)",
            options=[],
            placeholder="All models",
            sizing_mode="stretch_width",
        )
        self.refresh_button = pn.widgets.Button(name="↻ Refresh", button_type="primary")
        self.threshold = pn.widgets.FloatSlider(
            name="Threshold (F1 drop, absolute)",
            start=0.0,
            end=0.3,
            step=0.005,
            value=0.05,
            format="0.000",
            width=340,
        )
        alphas = sorted({*ALPHAS, alpha})
        self.alpha = pn.widgets.Select(
            name="Significance level (alpha)",
            options={f"{a:g}": a for a in alphas},
            value=alpha,
            width=200,
        )
        # Reads nothing until its tab is shown (it renders lazily) or a run is opened in it.
        self.explorer = RunExplorer(store, autoload=False)
        self.history = SnapshotHistory(
            store,
            on_write=self._after_write,
            on_explore=self.open_run,
            can_write=user is not None,
        )
        self.changes = ChangePoints(store)
        self._tabs: pn.Tabs | None = None
        self.refresh_button.on_click(lambda _: self.refresh())
        self._load_choices()

    # --- sidebar -------------------------------------------------------------------

    def _load_choices(self) -> None:
        """Environment and model choices, from what the store holds (nothing hard-coded)."""
        try:
            configs = data.load_configurations(self.store, None)
        except BenchqError:
            return  # each view explains the failure
        if configs.empty:
            return
        environments = sorted(configs["environment"].unique())
        self.environment.options = [ALL_ENVIRONMENTS, *environments]
        self.dataset.options = [ALL_DATASETS, *sorted(configs["dataset_version"].unique())]
        self.models.options = sorted(configs["model_version"].unique())

    def refresh(self) -> None:
        """Forget cached data and re-read the store in every view."""
        data.clear_cache()
        self._load_choices()
        self.history.load_options()
        self.refreshed += 1
        self.history.revision += 1
        self.explorer.revision += 1
        self.changes.revision += 1

    def open_run(self, run_id: str, case_id: str | None = None) -> None:
        """Show one run (and one of its cases) in the Run Explorer and bring its tab forward."""
        if self._tabs is None or not self.explorer.started:
            # never shown yet: load the run, then the tab renders with it
            self.explorer.open_run(run_id, case_id)
            if self._tabs is not None:
                self._tabs.active = len(self._tabs) - 1
            return
        # Shown before: tab first, then the run, so the explorer changes on screen
        # (changed while hidden, a re-shown explorer linked stylesheets from the CDN).
        self._tabs.active = len(self._tabs) - 1
        self.explorer.open_run(run_id, case_id)

    def _after_write(self) -> None:
        data.clear_cache()
        self.refreshed += 1

    def _filters(self, environment: str, models: list[str]) -> tuple[str | None, tuple[str, ...]]:
        return (None if environment == ALL_ENVIRONMENTS else environment), tuple(sorted(models))

    @staticmethod
    def _dataset(dataset: str) -> str | None:
        return None if dataset in (ALL_DATASETS, None) else dataset

    # --- views ---------------------------------------------------------------------

    def _current(
        self, environment: str, models: list[str], dataset: str, _: int
    ) -> pn.viewable.Viewable:
        env, chosen = self._filters(environment, models)
        loaded = data.first_view(self.store, env, chosen, self._dataset(dataset))
        return current_view(
            loaded["current"], loaded["usage"], loaded["configurations"], on_run=self.open_run
        )

    def _points(
        self,
        daily: pd.DataFrame,
        env: str | None,
        chosen: tuple[str, ...],
        days: int | None,
        dataset: str | None,
    ) -> pd.DataFrame | None:
        """Each snapshot as a point, only when the history is too short to draw per day."""
        if not is_short(daily):
            return None
        return data.load_points(self.store, env, chosen, days, dataset)

    def _trends(
        self, environment: str, models: list[str], dataset: str, time_range: str, _: int
    ) -> pn.viewable.Viewable:
        env, chosen = self._filters(environment, models)
        days, ds = data.TIME_RANGES[time_range], self._dataset(dataset)
        daily = data.load_daily(self.store, env, chosen, days, False, ds)
        return trends_view(daily, self._points(daily, env, chosen, days, ds))

    def _comparison(
        self, environment: str, models: list[str], dataset: str, time_range: str, _: int
    ) -> pn.viewable.Viewable:
        env, chosen = self._filters(environment, models)
        days, ds = data.TIME_RANGES[time_range], self._dataset(dataset)
        per_model = data.load_daily(self.store, env, chosen, days, True, ds)
        return comparison_view(
            per_model,
            data.load_model_stats(self.store, env, chosen, days, ds),
            self._points(per_model, env, chosen, days, ds),
            # the current snapshots: the same cached loads as the first view's
            current=data.load_current(self.store, env, chosen, ds),
            configs=data.load_configurations(self.store, None),
        )

    def _regressions(
        self,
        environment: str,
        models: list[str],
        dataset: str,
        threshold: float,
        alpha: float,
        _: int,
    ) -> pn.viewable.Viewable:
        env, chosen = self._filters(environment, models)
        configs = data.load_configurations(self.store, env)
        if chosen and not configs.empty:
            configs = configs[configs["model_version"].isin(chosen)]
        ds = self._dataset(dataset)
        if ds is not None and not configs.empty:
            configs = configs[configs["dataset_version"] == ds]
        if configs.empty:
            return message(NO_DATA)
        rule = VerdictRule(threshold=float(threshold), alpha=float(alpha))
        verdicts = self._verdicts(pd.DataFrame(configs), rule)
        current = data.load_current(self.store, env, chosen, ds)
        runs = {
            key_of(r): str(r.benchq_run_id)
            for r in current.itertuples(index=False)
            if isinstance(r.benchq_run_id, str) and r.benchq_run_id
        }
        return pn.Column(
            regression_view(pd.DataFrame(configs), verdicts, runs, rule),
            sizing_mode="stretch_width",
        )

    def _verdicts(self, configs: pd.DataFrame, rule: VerdictRule) -> dict[Any, SnapshotVerdict]:
        """The paired verdict of every configuration with a baseline and no failed run.

        A store that holds the snapshots but refuses their cases (the anon
        key alone) still gets a verdict: the original's rule on the two F1
        values, saying why.
        """
        verdicts: dict[Any, SnapshotVerdict] = {}
        for r in configs.itertuples(index=False):
            current, baseline = num(r.current_version), num(r.baseline_version)
            if current is None or baseline is None:
                continue
            if bool(r.current_failed) or bool(r.baseline_failed):
                continue
            key = key_of(r)
            try:
                verdicts[key] = data.load_verdict(
                    self.store,
                    key,
                    int(current),
                    int(baseline),
                    rule.threshold,
                    rule.alpha,
                )
            except StoreUnavailable:
                raise
            except BenchqError as exc:
                verdicts[key] = fallback(r, rule, f"the case results could not be read: {exc}")
        return verdicts

    def views(self) -> pn.Tabs:
        """The five views as tabs, each bound to the sidebar's widgets."""
        env, models = self.environment.param.value, self.models.param.value
        dataset = self.dataset.param.value
        time_range, tick = self.time_range.param.value, self.param.refreshed

        def bound(
            where: str, fn: Callable[..., pn.viewable.Viewable], *deps: Any
        ) -> pn.viewable.Viewable:
            # lazy: a view on a hidden tab is not recomputed on every filter change,
            # only when its tab is shown; a filter change then costs one view, not four.
            view = pn.param.ParamFunction(
                pn.bind(guarded(where, fn), *deps), lazy=True, sizing_mode="stretch_width"
            )
            return pn.Column(view, sizing_mode="stretch_width")

        self._tabs = pn.Tabs(
            (
                "Current Snapshot",
                bound("the current snapshot", self._current, env, models, dataset, tick),
            ),
            (
                "Performance Trends",
                pn.Column(
                    pn.pane.Markdown("Daily figures over the selected time range and filters."),
                    bound("the trends", self._trends, env, models, dataset, time_range, tick),
                    self.changes,
                    sizing_mode="stretch_width",
                ),
            ),
            (
                "Model Comparison",
                bound("the comparison", self._comparison, env, models, dataset, time_range, tick),
            ),
            (
                "Regression Detection",
                pn.Column(
                    pn.pane.Markdown(EXPLAINED, sizing_mode="stretch_width"),
                    pn.Row(self.threshold, pn.Spacer(width=30), self.alpha),
                    bound(
                        "the regression check",
                        self._regressions,
                        env,
                        models,
                        dataset,
                        # the value once the slider is let go: one verdict per position
                        self.threshold.param.value_throttled,
                        self.alpha.param.value,
                        tick,
                    ),
                    sizing_mode="stretch_width",
                ),
            ),
            ("Snapshot History", self.history),
            ("Run Explorer", self.explorer),
            dynamic=True,
            sizing_mode="stretch_width",
            name="views",
        )
        # The change-point section follows the sidebar (its choices; it reads when shown).
        pn.bind(self._scope_changes, env, models, dataset, time_range, tick, watch=True)
        self._scope_changes(
            self.environment.value, self.models.value, self.dataset.value, self.time_range.value
        )
        return self._tabs

    def _scope_changes(
        self, environment: str, models: list[str], dataset: str, time_range: str, *_: Any
    ) -> None:
        env, chosen = self._filters(environment, models)
        self.changes.set_scope(env, chosen, self._dataset(dataset), data.TIME_RANGES[time_range])

    def sidebar(self) -> pn.Column:
        """The filters every summary view follows, and the refresh button."""
        return pn.Column(
            pn.pane.Markdown("### Filters"),
            self.environment,
            self.dataset,
            pn.pane.Markdown("**Time range** (trends and comparison)"),
            self.time_range,
            self.models,
            self.refresh_button,
            pn.pane.Markdown(
                f"Data is cached for {data.CACHE_TTL_S} s; **Refresh** reads the store now.",
                styles={"font-size": "12px"},
            ),
            pn.pane.Markdown(self._who(), styles={"font-size": "12px"}, name="signed-in"),
            width=240,
            name="sidebar",
        )

    def _who(self) -> str:
        """Who is signed in, with a way out; or why the writes are off."""
        if self.user is not None:
            return f"Signed in as **{self.user}** · [sign out](./logout)"
        if self.login:
            return "Not signed in: [sign in](./login)"
        return "No login configured: read-only (checkout and set baseline are off)."

    def __panel__(self) -> pn.viewable.Viewable:
        """Sidebar and views side by side, for embedding (a notebook, another app)."""
        return pn.Row(self.sidebar(), self.views(), sizing_mode="stretch_width")

    def page(self) -> pn.template.FastListTemplate:
        """The full page `benchq dashboard` serves: a header, the sidebar, the views."""
        return pn.template.FastListTemplate(
            title="benchq: model benchmark results",
            sidebar=[self.sidebar()],
            main=[pn.pane.Markdown(INTRO, sizing_mode="stretch_width"), self.views()],
            theme_toggle=False,
            sidebar_width=260,
            header_background="#1f4e79",
            font_url="",
            font="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        )


def _session_arg(name: str) -> str | None:
    """A query argument of the page's URL (`?run=...`), decoded; None when absent."""
    wanted = (pn.state.session_args or {}).get(name)
    return wanted[0].decode("utf-8", "replace") if wanted else None


def create_app(
    store: ResultsStore,
    *,
    user: str | None = None,
    login: bool = False,
    alpha: float = 0.01,
) -> pn.template.FastListTemplate:
    """A new page for one browser session (Panel calls this per session).

    `?run=RUN_ID` in the URL opens that run in the Run Explorer, and
    `&case=CASE_ID` one of its cases. `user` is who signed in (writes are
    enabled for them), `login` whether the server asks for one.
    """
    _without_web_font()
    pn.extension("tabulator", notifications=False)
    dashboard = Dashboard(store, user=user, login=login, alpha=alpha)
    page = dashboard.page()
    run_id = _session_arg("run")
    if run_id:
        dashboard.open_run(run_id, _session_arg("case"))
    return page


def create_explorer_app(store: ResultsStore) -> pn.viewable.Viewable:
    """The Run Explorer alone, at `/explore?run=RUN_ID[&case=CASE_ID]`: what a link opens.

    No template, sidebar or summary tabs: a person who follows a link to a
    run gets its grid in the time the explorer takes, not the whole dashboard's.
    """
    _without_web_font()
    pn.extension("tabulator", notifications=False)
    explorer = RunExplorer(store, _session_arg("run"), case_id=_session_arg("case"))
    return pn.Column(
        pn.pane.Markdown(
            "## benchq: Run Explorer\n[← the whole dashboard](./)",
            sizing_mode="stretch_width",
        ),
        explorer,
        sizing_mode="stretch_width",
        styles={"font-family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
    )
