"""Snapshot History: the versions of one configuration, checkout, baseline, and
comparing two versions metric by metric and case by case.

The configuration is picked with four selects (dataset, prompt, environment,
model) whose choices come from the store, so nothing here names a dataset
or an environment. The two writes (checkout, set baseline) go through the
store, then clear the dashboard's cache so every view shows the new state;
they are enabled only for a signed-in user (`benchq.dashboard.auth`), and
the store still refuses them without the service role.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn
import param

from benchq.dashboard import data
from benchq.dashboard.auth import WRITES_NEED_LOGIN
from benchq.dashboard.compare import answers_side_by_side
from benchq.dashboard.intervals import CI_SUFFIX, score_texts
from benchq.dashboard.views import NO_DATA, message, provenance, table
from benchq.errors import BenchqError
from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseChange, CaseDocument
from benchq.store.base import ResultsStore

_FILTERS = ("dataset_version", "prompt_version", "environment")


def _pre(text: str, name: str) -> pn.pane.HTML:
    """Verbatim text (a bill, a model's JSON) in a scrolling box."""
    return pn.pane.HTML(
        f"<pre style='white-space:pre-wrap;max-height:420px;overflow:auto;margin:0;"
        f"font-size:12px'>{html.escape(text)}</pre>",
        name=name,
        sizing_mode="stretch_width",
    )


def _pretty(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2)
    except ValueError:
        return raw or "(no answer)"


def _side(label: str, result: Any) -> pn.Column:
    """One snapshot's answer to a case, with its scores."""
    if result is None:
        return pn.Column(pn.pane.Markdown(f"**{label}:** this case was not in the run."))
    outcome = "answered" if result.extraction_success else f"failed: {result.error_message}"
    return pn.Column(
        pn.pane.Markdown(
            f"**{label}** ({outcome}) · found: {', '.join(result.detected_types) or 'nothing'} · "
            f"TP {result.true_positives} / FP {result.false_positives} / "
            f"FN {result.false_negatives}"
        ),
        _pre(_pretty(result.raw_output), f"answer-{label[-1].lower()}"),
        sizing_mode="stretch_width",
    )


class SnapshotHistory(pn.viewable.Viewer):
    """The Snapshot History tab."""

    revision = param.Integer(default=0, doc="Bumped after each write, to re-read the store.")

    def __init__(
        self,
        store: ResultsStore,
        on_write: Callable[[], None],
        on_explore: Callable[[str], None] | None = None,
        *,
        can_write: bool = False,
        **params: Any,
    ) -> None:
        """`can_write`: a user signed in, so checkout and set baseline are enabled."""
        super().__init__(**params)
        self.store = store
        self.can_write = can_write
        self._on_write = on_write
        self._on_explore = on_explore
        self.explore_button = pn.widgets.Button(
            name="Explore this version's run", button_type="light", disabled=on_explore is None
        )
        self.explore_button.on_click(lambda _: self._explore())
        self._run_of: dict[int, str] = {}
        self.dataset = pn.widgets.Select(name="Dataset", width=190)
        self.prompt = pn.widgets.Select(name="Prompt", width=120)
        self.environment = pn.widgets.Select(name="Environment", width=170)
        self.model = pn.widgets.Select(name="Model", width=240)
        self.version = pn.widgets.Select(name="Version", width=110)
        self.checkout_button = pn.widgets.Button(
            name="Check out (make current)", button_type="primary", disabled=not can_write
        )
        self.baseline_button = pn.widgets.Button(
            name="Set as baseline", button_type="warning", disabled=not can_write
        )
        self.write_note = pn.pane.Alert(
            WRITES_NEED_LOGIN,
            alert_type="secondary",
            visible=not can_write,
            sizing_mode="stretch_width",
            name="writes-need-login",
        )
        self.version_a = pn.widgets.Select(name="Version A (before)", width=150)
        self.version_b = pn.widgets.Select(name="Version B (after)", width=150)
        self.compare_button = pn.widgets.Button(name="Compare A → B", button_type="primary")
        self.status = pn.pane.Alert(
            "", alert_type="success", visible=False, sizing_mode="stretch_width"
        )
        self.comparison = pn.Column(sizing_mode="stretch_width")
        self.case_detail = pn.Column(sizing_mode="stretch_width")
        self._changes: list[CaseChange] = []
        self._configs = pd.DataFrame()
        for widget in (self.dataset, self.prompt, self.environment):
            widget.param.watch(self._narrow_models, "value")
        self.model.param.watch(self._clear_comparison, "value")
        self.checkout_button.on_click(lambda _: self._write("checkout"))
        self.baseline_button.on_click(lambda _: self._write("baseline"))
        self.compare_button.on_click(lambda _: self._compare())
        self.load_options()

    # --- choices -------------------------------------------------------------------

    def load_options(self) -> None:
        """Fill the selects from the configurations the store holds."""
        try:
            self._configs = data.load_configurations(self.store, None)
        except BenchqError:
            self._configs = pd.DataFrame()  # the versions pane explains the error
            return
        if self._configs.empty:
            return
        for widget, column in zip(
            (self.dataset, self.prompt, self.environment), _FILTERS, strict=True
        ):
            options = sorted(self._configs[column].unique())
            keep = widget.value if widget.value in options else options[0]
            widget.param.update(options=options, value=keep)
        self._narrow_models()

    def _narrow_models(self, *_: Any) -> None:
        if self._configs.empty:
            return
        frame = self._configs
        for widget, column in zip(
            (self.dataset, self.prompt, self.environment), _FILTERS, strict=True
        ):
            frame = frame[frame[column] == widget.value]
        options = sorted(frame["model_version"].unique())
        keep = self.model.value if self.model.value in options else (options or [None])[0]
        self.model.param.update(options=options, value=keep)

    def _key(self) -> data.ConfigKey | None:
        values = (self.model.value, self.dataset.value, self.prompt.value, self.environment.value)
        if any(v is None for v in values):
            return None
        return (str(values[0]), str(values[1]), str(values[2]), str(values[3]))

    # --- the versions table --------------------------------------------------------------

    def _render_versions(self, *_: Any) -> pn.viewable.Viewable:
        key = self._key()
        if key is None:
            try:
                data.load_configurations(self.store, None)
            except BenchqError as exc:
                return message(f"**The results store cannot be read.** {exc}", "danger")
            return message(NO_DATA)
        try:
            history = data.load_history(self.store, key)
        except BenchqError as exc:
            return message(f"**The results store cannot be read.** {exc}", "danger")
        if history.empty:
            return message("This configuration has no snapshots.")
        versions = [int(v) for v in history["snapshot_version"]]
        self._run_of = {
            int(v): str(r)
            for v, r in zip(history["snapshot_version"], history["benchq_run_id"], strict=True)
            if isinstance(r, str) and r
        }
        for widget in (self.version, self.version_a, self.version_b):
            widget.options = versions
        current = history.loc[history["is_current"], "snapshot_version"]
        self.version.value = int(current.iloc[0]) if len(current) else versions[0]
        self.version_b.value = versions[0]
        self.version_a.value = versions[1] if len(versions) > 1 else versions[0]
        shown = (
            score_texts(provenance(history), scores=("f1_score",))
            .assign(
                marks=[
                    " ".join(m for m, on in (("CURRENT", c), ("BASELINE", b)) if on)
                    for c, b in zip(history["is_current"], history["is_baseline"], strict=True)
                ]
            )[
                [
                    "snapshot_version",
                    "marks",
                    "model id",
                    "prompt digest",
                    "created_at",
                    "f1_score",
                    "precision_score",
                    "recall_score",
                    "latency_ms",
                    "commit_sha",
                    "benchq_run_id",
                ]
            ]
            .rename(
                columns={
                    "snapshot_version": "version",
                    "created_at": "published",
                    "f1_score": "F1" + CI_SUFFIX,
                    "precision_score": "precision",
                    "recall_score": "recall",
                    "latency_ms": "latency (ms)",
                    "commit_sha": "commit",
                    "benchq_run_id": "run",
                }
            )
        )
        shown["published"] = pd.to_datetime(shown["published"], utc=True).dt.strftime(
            "%Y-%m-%d %H:%M"
        )
        # as `git log --oneline` shows a commit; the whole of it is in `benchq snapshots`
        shown["commit"] = [c[:10] if isinstance(c, str) else None for c in shown["commit"]]
        versions_table = table(shown, name="versions", page_size=12)
        versions_table.style.apply(  # type: ignore[union-attr]
            lambda row: [
                "font-weight: bold; background-color: #d1e7dd" if "CURRENT" in row["marks"] else ""
                for _ in row
            ],
            axis=1,
        )
        return versions_table

    # --- writes --------------------------------------------------------------------------

    def _write(self, action: str) -> None:
        if not self.can_write:
            # The buttons are disabled; a crafted browser message must not get past them.
            self.status.param.update(object=WRITES_NEED_LOGIN, alert_type="warning", visible=True)
            return
        key, version = self._key(), self.version.value
        if key is None or version is None:
            return
        config = data.config_of(key)
        try:
            if action == "checkout":
                self.store.checkout(config, int(version))
                done = f"Version {version} of {key[0]} ({key[3]}) is now the current one."
            else:
                self.store.set_baseline(config, int(version))
                done = f"Version {version} of {key[0]} ({key[3]}) is now the baseline."
        except BenchqError as exc:
            self.status.param.update(
                object=f"**Not changed:** {exc}", alert_type="danger", visible=True
            )
            return
        self.status.param.update(object=done, alert_type="success", visible=True)
        self._on_write()  # clears the cache and re-renders every view
        self.revision += 1

    def _explore(self) -> None:
        version = self.version.value
        run_id = self._run_of.get(int(version)) if version is not None else None
        if run_id is None:
            self.status.param.update(
                object=f"Version {version} was published without a benchq run: no cases to show.",
                alert_type="warning",
                visible=True,
            )
            return
        if self._on_explore is not None:
            self._on_explore(run_id)

    # --- comparing two versions ------------------------------------------------------------

    def _clear_comparison(self, *_: Any) -> None:
        self.comparison.objects = []
        self.case_detail.objects = []
        self.status.visible = False

    def _compare(self) -> None:
        key = self._key()
        a, b = self.version_a.value, self.version_b.value
        if key is None or a is None or b is None:
            return
        self.case_detail.objects = []
        try:
            metrics = data.load_comparison(self.store, key, int(a), int(b))
            self._changes = data.load_case_diff(self.store, key, int(a), int(b))
        except BenchqError as exc:
            self.comparison.objects = [message(f"**Cannot compare:** {exc}", "danger")]
            return
        shown = metrics.rename(
            columns={
                "a": f"version {a}",
                "b": f"version {b}",
                "delta": "change (B - A)",
                "pct_change": "change (% of A)",
            }
        )
        parts: list[Any] = [
            pn.pane.Markdown(f"#### Version {a} → version {b}, metric by metric"),
            table(shown, name="comparison", pagination=None),
            pn.pane.Markdown("#### Cases whose outcome changed"),
        ]
        if not self._changes:
            parts.append(
                message(
                    "No case changed outcome, or these snapshots were published without "
                    "a benchq run behind them (then there are no case results to compare)."
                )
            )
        else:
            cases = pd.DataFrame(
                [
                    {
                        "case": c.case_id,
                        "document type": c.document_type,
                        "change": c.change,
                        "ground truth": (
                            "changed"
                            if c.a is not None
                            and c.b is not None
                            and sorted(c.a.expected_types) != sorted(c.b.expected_types)
                            else "same"
                        ),
                        "newly missed": ", ".join(c.newly_missed),
                        "newly found": ", ".join(c.newly_found),
                        "new false alarms": ", ".join(c.new_false_alarms),
                        "false alarms cleared": ", ".join(c.cleared_false_alarms),
                    }
                    for c in self._changes
                ]
            )
            changed = table(cases, name="case-changes", selectable=1, page_size=10)
            changed.param.watch(self._open_case, "selection")
            parts += [
                pn.pane.Markdown(
                    "Select a case to open its document, expected issues and both answers."
                ),
                changed,
            ]
        self.comparison.objects = parts

    def _open_case(self, event: Any) -> None:
        if not event.new:
            return
        change = self._changes[event.new[0]]
        doc_a, doc_b = (
            self._document(change.a, change.case_id),
            self._document(change.b, change.case_id),
        )
        document = doc_b or doc_a
        expected = (
            pd.DataFrame(document.expected_issues)
            if document and document.expected_issues
            else pd.DataFrame({"expected type": change.b.expected_types if change.b else []})
        )
        text = document.text if document else "(the run did not store its documents)"
        version_a, version_b = self.version_a.value, self.version_b.value
        comparison = answers_side_by_side(
            change.a,
            change.b,
            doc_a,
            doc_b,
            label_a=f"A: version {version_a}",
            label_b=f"B: version {version_b}",
        )
        self.case_detail.objects = [
            pn.pane.Markdown(
                f"### Case {change.case_id} ({change.document_type}): {change.change}"
            ),
            pn.pane.HTML(comparison, sizing_mode="stretch_width", name="answers"),
            pn.Row(
                pn.Column(pn.pane.Markdown("**Document**"), _pre(text, "document"), width=520),
                pn.Column(
                    pn.pane.Markdown("**Expected issues**"),
                    table(expected, name="expected-issues", pagination=None)
                    if len(expected)
                    else pn.pane.Markdown("None: this bill has no issue to find."),
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            ),
        ]

    def _document(self, result: CaseResult | None, case_id: str) -> CaseDocument | None:
        """The document of `case_id` in the run of `result`, when it was stored."""
        if result is None or not result.run_id:
            return None
        try:
            return data.load_documents(self.store, result.run_id).get(case_id)
        except BenchqError:
            return None

    # --- layout ------------------------------------------------------------------------------

    def __panel__(self) -> pn.viewable.Viewable:
        versions = pn.panel(
            pn.bind(
                lambda *_: self._render_versions(), self.model.param.value, self.param.revision
            ),
            sizing_mode="stretch_width",
        )
        return pn.Column(
            pn.pane.Markdown(
                "Pick a configuration. The highlighted row is the **current** version "
                "(what the other views show); the **baseline** is what regression checks "
                "compare against."
            ),
            pn.Row(self.dataset, self.prompt, self.environment, self.model),
            versions,
            pn.Row(self.version, self.checkout_button, self.baseline_button, self.explore_button),
            self.write_note,
            self.status,
            pn.pane.Markdown("#### Compare two versions"),
            pn.Row(self.version_a, self.version_b, self.compare_button),
            self.comparison,
            self.case_detail,
            sizing_mode="stretch_width",
        )
