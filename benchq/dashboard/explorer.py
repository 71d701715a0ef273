"""The Run Explorer: one run's cases by models, filtered, and any case opened.

For one run: each model's totals (with the run's confidence intervals when
it has them), then a grid of cases by models whose cells are coloured by
outcome (all found, partly, false alarms, missed, error). Filters: the
outcome (of any model, or of one), document type, issue type, errors, and
free text over the documents (searched in the database); sorted by how much
the models disagree. Clicking a cell opens the case below the grid: the
bill with the lines the answers cite marked, the expected issues, and each
model's answer side by side (TP/FP/FN, latency, tokens, cost, the full
error text; the raw answer on request). The same case rendering as the
report file (`benchq.report.html`), so both read alike.

Reached from the tab, from a snapshot (Snapshot History, Current Snapshot)
or from the URL (`?run=RUN_ID`). Every case and document read goes through
the store's named case reads (`benchq.store.explorer`), via the cached
loaders of `data`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn
import param
from pydantic import ValidationError

from benchq.dashboard import data
from benchq.dashboard.explorer_grid import (
    ANY_MODEL,
    ERROR_CHOICES,
    ERRORS_ANY,
    SORT_CHOICES,
    SORT_DISAGREEMENT,
    STABILITY_ANY,
    STABILITY_CHOICES,
    UNSTABLE,
    cell_style,
    filter_grid,
    issue_types_of,
    models_of,
    shown,
)
from benchq.dashboard.views import message
from benchq.errors import BenchqError, NotFound
from benchq.report.collect import RunData, collect_run
from benchq.report.export import table_text
from benchq.report.html import case_views, render_case, render_report, render_style, render_totals
from benchq.report.outcomes import Outcome, model_totals
from benchq.store.base import ResultsStore
from benchq.store.explorer import base_case_id
from benchq.store.schema import RunRecord

ALL_DATASETS = "All datasets"
#: Cases a page of the grid shows (the rest are fetched page by page from the server).
PAGE_SIZE = 25
DOWNLOAD_FORMATS = {"HTML report": "html", "CSV table": "csv", "JSONL table": "jsonl"}


def run_label(run: RunRecord) -> str:
    """How a run reads in the picker: id, suite, dataset, start, status."""
    started = run.created_at[:16].replace("T", " ")
    return f"{run.run_id} · {run.suite} · {run.dataset_version} · {started} · {run.status.value}"


#: A filter's "no filter" choice.
ANY = "any"


def _chosen(value: object) -> list[str]:
    """A select's value as the list of chosen values (none for `ANY`)."""
    return [] if value in (None, ANY) else [str(value)]


def _guard(where: str, exc: Exception) -> pn.pane.Alert:
    return message(f"**{where} could not be read from the results store.** {exc}", "danger")


class RunExplorer(pn.viewable.Viewer):
    """The Run Explorer tab."""

    revision = param.Integer(default=0, doc="Bumped by Refresh: re-read the run list.")

    def __init__(
        self,
        store: ResultsStore,
        run_id: str | None = None,
        *,
        autoload: bool = True,
        case_id: str | None = None,
        **params: Any,
    ) -> None:
        """`run_id`: the run to show (and `case_id`, one of its cases, opened below the grid);
        else, with `autoload`, the newest run.

        Without either nothing is read until `start()` or `open_run()`: the
        dashboard builds the explorer with every page but reads a run only
        when its tab is opened.
        """
        super().__init__(**params)
        self.store = store
        self._started = False
        self.dataset = pn.widgets.Select(name="Dataset (suite)", options=[ALL_DATASETS], width=200)
        self.run = pn.widgets.Select(name="Run", options={}, width=520)
        # Plain selects, not MultiChoice: the page then loads no choices.js, part of what
        # keeps a 1,000-case run opening in under 2 s (docs/performance.md).
        self.outcomes = pn.widgets.Select(
            name="Outcome", options=[ANY, *(o.value for o in Outcome)], width=150
        )
        self.outcome_model = pn.widgets.Select(name="Outcome of", options=[ANY_MODEL], width=180)
        self.document_types = pn.widgets.Select(name="Document type", options=[ANY], width=170)
        self.issue_types = pn.widgets.Select(name="Issue type", options=[ANY], width=190)
        self.errors = pn.widgets.Select(name="Errors", options=list(ERROR_CHOICES), width=150)
        self.text = pn.widgets.TextInput(
            name="Document contains (Enter)", placeholder="text in the bill", width=220
        )
        self.sort = pn.widgets.Select(name="Sort by", options=list(SORT_CHOICES), width=200)
        # Shown only for a run made with `--repeat N`.
        self.stability = pn.widgets.Select(
            name="Repeats", options=list(STABILITY_CHOICES), width=150, visible=False
        )
        self.download_format = pn.widgets.Select(
            name="Download", options=list(DOWNLOAD_FORMATS), width=150
        )
        self.download = pn.widgets.FileDownload(
            callback=self._download_file,
            filename="report.html",
            label="Download",
            button_type="primary",
            width=200,
            align="end",
        )
        self.header = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.totals = pn.pane.HTML("", sizing_mode="stretch_width", name="run-totals")
        self.count = pn.pane.Markdown("", name="grid-count")
        self.grid = pn.widgets.Tabulator(
            pd.DataFrame(),
            name="case-grid",
            disabled=True,
            show_index=False,
            selectable=False,
            pagination="remote",
            page_size=PAGE_SIZE,
            layout="fit_data_table",
            sizing_mode="stretch_width",
        )
        self.grid.style.map(cell_style)  # type: ignore[union-attr]
        self.grid.on_click(self._on_click)
        self.detail = pn.Column(sizing_mode="stretch_width", name="case-detail")
        self.problem = pn.Column(sizing_mode="stretch_width")
        self._frame = pd.DataFrame()
        self._runs: dict[str, RunRecord] = {}
        self._open_case: str | None = None

        pn.bind(self._load_runs, self.dataset.param.value, self.param.revision, watch=True)
        pn.bind(self._show_run, self.run.param.value, watch=True)
        pn.bind(
            self._refilter,
            self.outcomes.param.value,
            self.outcome_model.param.value,
            self.document_types.param.value,
            self.issue_types.param.value,
            self.errors.param.value,
            self.text.param.value,
            self.sort.param.value,
            self.stability.param.value,
            watch=True,
        )
        pn.bind(self._name_download, self.download_format.param.value, watch=True)
        if run_id:
            self.open_run(run_id, case_id)
        elif autoload:
            self.start()

    def start(self) -> None:
        """Read the run list and show the newest run, unless a run is shown already."""
        if not self._started:
            self._started = True
            self._load_runs()

    # --- the run picker ---------------------------------------------------------------

    def _load_runs(self, *_: Any, select_newest: bool = True) -> None:
        if not self._started:
            return  # not on screen yet: read when it is
        dataset = None if self.dataset.value == ALL_DATASETS else self.dataset.value
        try:
            runs = data.load_runs(self.store, dataset)
            every = data.load_runs(self.store, None) if dataset else runs
        except (BenchqError, ValidationError) as exc:
            self.problem.objects = [_guard("The list of runs", exc)]
            return
        self.problem.objects = []
        datasets = sorted({r.dataset_version for r in every})
        if self.dataset.value not in (ALL_DATASETS, *datasets):
            datasets.append(str(self.dataset.value))
        self.dataset.options = [ALL_DATASETS, *datasets]
        self._runs = {r.run_id: r for r in runs}
        current = self.run.value
        if current and current not in self._runs:
            self._remember(current)
        options = {run_label(r): r.run_id for r in self._runs.values()}
        self.run.options = options
        if not current and options and select_newest:
            self.run.value = next(iter(options.values()))

    def _remember(self, run_id: str) -> bool:
        """Add a run that is not among the newest to the picker; False when it does not exist."""
        try:
            self._runs[run_id] = data.load_run(self.store, run_id)
        except NotFound:
            return False
        return True

    def open_run(self, run_id: str, case_id: str | None = None) -> None:
        """Show `run_id` (from a snapshot, a link): added to the picker if it is older.

        `case_id`: one of its cases to open below the grid (a link to a case
        that got worse).
        """
        if not self._started:
            self._started = True
            self._load_runs(select_newest=False)
        if run_id not in self._runs and not self._remember(run_id):
            self.problem.objects = [message(f"There is no run **{run_id}** in the store.")]
            return
        self.run.options = {run_label(r): r.run_id for r in self._runs.values()}
        if self.run.value != run_id:
            self.run.value = run_id
        if case_id:
            self.show_case(case_id)

    # --- one run ------------------------------------------------------------------------

    def _show_run(self, run_id: str | None) -> None:
        self.detail.objects = []
        self._open_case = None
        if not run_id:
            self.header.object = "No run yet: runs appear here once `benchq run` has stored one."
            self._frame = pd.DataFrame()
            self.grid.value = pd.DataFrame()
            return
        try:
            run = self._runs.get(run_id) or data.load_run(self.store, run_id)
            summaries = data.load_run_summaries(self.store, run_id)
            cells = data.load_run_cells(self.store, run_id)
            frame = data.load_run_grid(self.store, run_id)
        except BenchqError as exc:
            self.problem.objects = [_guard(f"Run {run_id}", exc)]
            return
        self.problem.objects = []
        failed_models = "".join(
            f"\n\n**{s.model_name} failed** (published no snapshot): {s.error or 'no reason given'}"
            for s in summaries
            if s.status == "failed"
        )
        self.header.object = self._describe(run, len(frame)) + failed_models
        aggregated = {s.model_name: dict(s.aggregated) for s in summaries}
        self.totals.object = render_style() + render_totals(model_totals(cells, aggregated))
        models = models_of(frame)
        self.outcome_model.options = [ANY_MODEL, *models]
        types = sorted(frame["document type"].unique()) if len(frame) else []
        self.document_types.options = [ANY, *types]
        self.issue_types.options = [ANY, *(issue_types_of(frame) if len(frame) else [])]
        repeated = UNSTABLE in frame.columns
        self.stability.param.update(
            visible=repeated, value=self.stability.value if repeated else STABILITY_ANY
        )
        if repeated:
            self.header.object += self._describe_repeats(summaries, frame)
        self._frame = frame
        self._name_download()
        self._refilter()

    def _describe(self, run: RunRecord, cases: int) -> str:
        status = run.status.value
        failed = f"\n\n**This run failed:** {run.error}" if run.error else ""
        return (
            f"### Run {run.run_id}\n"
            f"suite **{run.suite}** · dataset **{run.dataset_version}** · prompt "
            f"**{run.prompt_version}** · environment **{run.environment}** · started "
            f"{run.created_at[:19].replace('T', ' ')} · status **{status}** · "
            f"{cases} cases by {len(run.models)} models ({', '.join(run.models)}){failed}"
        )

    @staticmethod
    def _describe_repeats(summaries: list[Any], frame: pd.DataFrame) -> str:
        """A line on the run's repeats: how many, and how many cases some model flipped on."""
        repeats = max(
            (int(s.aggregated.get("repeats", 1) or 1) for s in summaries if s.aggregated),
            default=0,
        )
        cases = frame.loc[frame["_unstable"], "case"].map(base_case_id).nunique()
        every = frame["case"].map(base_case_id).nunique()
        runs = f"each case ran {repeats} times" if repeats > 1 else "cases ran several times"
        return (
            f"\n\n**Repeats:** {runs} (`--repeat`), each a row of its own (`id~N`); "
            f"**{cases}** of {every} cases are **unstable** (⟳: a model scored its repeats "
            "differently). The **Repeats** filter shows them alone."
        )

    def _refilter(self, *_: Any) -> None:
        frame = self._frame
        if frame.empty:
            self.grid.value = pd.DataFrame()
            self.count.object = "No case results stored for this run yet."
            return
        case_ids = None
        text = (self.text.value or "").strip()
        if text and self.run.value:
            try:
                case_ids = data.load_search(self.store, str(self.run.value), text)
            except BenchqError as exc:
                self.problem.objects = [_guard("The document search", exc)]
                return
        kept = filter_grid(
            frame,
            outcomes=_chosen(self.outcomes.value),
            outcome_model=self.outcome_model.value or ANY_MODEL,
            document_types=_chosen(self.document_types.value),
            issue_types=_chosen(self.issue_types.value),
            errors=self.errors.value or ERRORS_ANY,
            case_ids=case_ids,
            sort=self.sort.value or SORT_DISAGREEMENT,
            stability=self.stability.value or STABILITY_ANY,
        )
        self.grid.page = 1
        self.grid.value = shown(kept)
        self.count.object = f"**{len(kept)}** of {len(frame)} cases · click a cell to open the case"

    # --- one case -----------------------------------------------------------------------

    def _on_click(self, event: Any) -> None:
        value = self.grid.value
        if value is None or event.row is None or event.row >= len(value):
            return
        self.show_case(str(value["case"].iloc[event.row]))

    def show_case(self, case_id: str) -> None:
        """Open one case of the run below the grid."""
        run_id = self.run.value
        if not run_id:
            return
        try:
            run = self._runs.get(run_id) or data.load_run(self.store, run_id)
            document, answers = data.load_case(self.store, run_id, case_id)
            cells = [c for c in data.load_run_cells(self.store, run_id) if c.case_id == case_id]
        except BenchqError as exc:
            self.detail.objects = [_guard(f"Case {case_id}", exc)]
            return
        one = RunData(
            run=run,
            summaries=[],
            cells=cells,
            documents={base_case_id(case_id): document} if document is not None else {},
            answers={case_id: answers},
        )
        views = case_views(one)
        if not views:
            self.detail.objects = [message(f"Case {case_id} has no stored result.")]
            return
        self._open_case = case_id
        self.detail.objects = [
            pn.pane.HTML(
                render_style() + render_case(views[0]),
                sizing_mode="stretch_width",
                name="case",
            )
        ]

    # --- downloads ----------------------------------------------------------------------

    def _name_download(self, *_: Any) -> None:
        fmt = DOWNLOAD_FORMATS[str(self.download_format.value)]
        run_id = self.run.value or "run"
        self.download.filename = f"benchq-{run_id}.{fmt}"

    def _download_file(self) -> io.BytesIO:
        """The file the Download button sends: the run's report or table, built now."""
        run_id = str(self.run.value or "")
        fmt = DOWNLOAD_FORMATS[str(self.download_format.value)]
        run_data = collect_run(self.store, run_id, with_cases=fmt == "html")
        text = render_report(run_data) if fmt == "html" else table_text(run_id, run_data.cells, fmt)
        return io.BytesIO(text.encode("utf-8"))

    # --- layout -------------------------------------------------------------------------

    def __panel__(self) -> pn.viewable.Viewable:
        # Lazy: built when first shown, after the run is loaded, so the grid's first
        # render carries its rows (loading a run into a grid being rendered raced).
        return pn.param.ParamFunction(
            pn.bind(self._on_show), lazy=True, sizing_mode="stretch_width"
        )

    @property
    def started(self) -> bool:
        """Whether the explorer has read its runs (it has been shown, or a run opened)."""
        return self._started

    def _on_show(self) -> pn.viewable.Viewable:
        self.start()
        return pn.Column(
            # FlexBox, not Row: the widgets wrap on a narrow screen instead of being cut off.
            pn.FlexBox(self.dataset, self.run, self.download_format, self.download),
            self.problem,
            self.header,
            self.totals,
            pn.FlexBox(
                self.outcomes,
                self.outcome_model,
                self.document_types,
                self.issue_types,
                self.errors,
                self.stability,
                self.text,
                self.sort,
            ),
            self.count,
            self.grid,
            self.detail,
            sizing_mode="stretch_width",
        )


def explorer_opener(explorer: RunExplorer, show: Callable[[], None]) -> Callable[[str], None]:
    """A callback that opens `run_id` in the explorer and brings its tab forward."""

    def open_run(run_id: str) -> None:
        explorer.open_run(run_id)
        show()

    return open_run
