"""The dashboard's pure pieces: the explorer's grid and filters (repeats included),
comparisons of two answers, failed runs in the summary views, the verdicts of
Regression Detection, intervals, change points, and what a missing value reads as.

No server and no browser here (tests/test_dashboard_browser.py drives those).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from benchq.dashboard.changes import find_changes, levels, series
from benchq.dashboard.compare import answers_side_by_side, ground_truth_change
from benchq.dashboard.explorer_grid import (
    ERRORS_NONE,
    ERRORS_ONLY,
    SORT_CASE,
    STABILITY_STABLE,
    STABILITY_UNSTABLE,
    UNSTABLE,
    UNSTABLE_MARK,
    cell_style,
    filter_grid,
    grid_frame,
    issue_types_of,
    models_of,
    shown,
    unstable_models,
)
from benchq.dashboard.intervals import add_bounds, interval, score_texts, with_interval
from benchq.dashboard.verdicts_view import (
    explorer_link,
    fallback,
    key_of,
    verdict_frame,
    worse_cases,
)
from benchq.dashboard.views import (
    DASH,
    as_text,
    column_widths,
    is_short,
    mark_failed,
    provenance,
)
from benchq.regression.changepoints import detect_changes
from benchq.regression.verdict import VerdictRule, paired_verdict
from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseDocument
from benchq.store.explorer import CaseCell
from benchq.store.verdicts import SnapshotVerdict


def cell(
    case: str, model: str, detected: list[str], expected: list[str], **extra: object
) -> CaseCell:
    d, e = set(detected), set(expected)
    return CaseCell.model_validate(
        {
            "case_id": case,
            "model_name": model,
            "document_type": "dental_bill" if case == "c3" else "medical_bill",
            "extraction_success": True,
            "detected_types": detected,
            "expected_types": expected,
            "true_positives": len(d & e),
            "false_positives": len(d - e),
            "false_negatives": len(e - d),
            **extra,
        }
    )


CELLS = [
    cell("c1", "alpha", ["overbilling"], ["overbilling"]),
    cell("c1", "beta", ["overbilling"], ["overbilling"]),
    cell("c2", "alpha", [], ["duplicate_charge"]),
    cell("c2", "beta", ["duplicate_charge", "upcoding"], ["duplicate_charge"]),
    cell("c3", "alpha", [], []),
    cell("c3", "beta", [], [], extraction_success=False, error_message="HTTP 500"),
]


def test_the_grid_has_a_row_per_case_and_an_outcome_column_per_model() -> None:
    grid = grid_frame(CELLS)
    assert list(shown(grid).columns) == ["case", "document type", "disagreement", "alpha", "beta"]
    assert models_of(grid) == ["alpha", "beta"]
    row = grid.set_index("case").loc["c2"]
    assert (row["alpha"], row["beta"]) == ("missed", "false alarms")
    assert issue_types_of(grid) == ["duplicate_charge", "overbilling", "upcoding"]
    ordered = filter_grid(grid)
    assert list(ordered["case"]) == ["c2", "c3", "c1"]  # most disagreement first
    assert list(filter_grid(grid, sort=SORT_CASE)["case"]) == ["c1", "c2", "c3"]


def test_each_filter_narrows_the_grid() -> None:
    grid = grid_frame(CELLS)

    def cases(**kw: object) -> list[str]:
        return sorted(filter_grid(grid, **kw)["case"])  # type: ignore[arg-type]

    assert cases(outcomes=["missed"]) == ["c2"]
    assert cases(outcomes=["missed"], outcome_model="beta") == []
    assert cases(outcomes=["error"]) == ["c3"]
    assert cases(document_types=["dental_bill"]) == ["c3"]
    assert cases(issue_types=["upcoding"]) == ["c2"]
    assert cases(issue_types=["overbilling", "upcoding"]) == ["c1", "c2"]
    assert cases(errors=ERRORS_ONLY) == ["c3"]
    assert cases(errors=ERRORS_NONE) == ["c1", "c2"]
    assert cases(case_ids={"c1", "c3"}) == ["c1", "c3"]
    assert cases(case_ids=set()) == []
    assert cases(outcomes=["all found"], errors=ERRORS_NONE) == ["c1"]


def result(run: str, detected: list[str], expected: list[str]) -> CaseResult:
    d, e = set(detected), set(expected)
    return CaseResult(
        document_name="c1",
        document_type="medical_bill",
        extraction_success=True,
        json_valid=True,
        run_id=run,
        model_name="alpha",
        detected_types=detected,
        expected_types=expected,
        true_positives=len(d & e),
        false_positives=len(d - e),
        false_negatives=len(e - d),
        raw_output='{"issues": ['
        + ",".join(f'{{"type": "{t}", "summary": "s", "code": "99213"}}' for t in detected)
        + "]}",
    )


def test_a_comparison_marks_added_and_removed_issues() -> None:
    a = result("r1", ["overbilling", "upcoding"], ["overbilling"])
    b = result("r2", ["overbilling", "duplicate_charge"], ["overbilling"])
    page = answers_side_by_side(a, b)
    assert "<span class='bq-removed'>upcoding (removed)</span>" in page
    assert "<span class='bq-added'>duplicate_charge (added)</span>" in page
    assert "overbilling (" not in page  # kept: no mark
    assert "truth-change" not in page  # same ground truth: nothing said about it


def test_a_ground_truth_change_is_shown_first_as_the_cause() -> None:
    a = result("r1", ["overbilling"], ["overbilling"])
    b = result("r2", ["overbilling"], ["overbilling", "duplicate_charge"])
    page = answers_side_by_side(a, b)
    assert "The ground truth changed" in page
    assert "now expects <b>duplicate_charge</b>" in page
    assert page.index("id='truth-change'") < page.index("<div class='bq-sides'>")
    doc_a = CaseDocument(case_id="c1", document_type="medical_bill", text="one")
    doc_b = CaseDocument(case_id="c1", document_type="medical_bill", text="two")
    note = ground_truth_change(a, a, doc_a, doc_b)
    assert note is not None and "document itself differs" in note
    assert ground_truth_change(a, a, doc_a, doc_a) is None


def _configs(**over: object) -> pd.DataFrame:
    row = {
        "model_version": "m-v1",
        "dataset_version": "set-a",
        "prompt_version": "v1",
        "environment": "local",
        "baseline_version": 1,
        "baseline_f1": 0.8,
        "current_version": 3,
        "current_f1": 0.0,
        "current_failed": False,
        "baseline_failed": False,
    }
    row.update(over)
    return pd.DataFrame([row])


def _outcome(tp: int, fp: int = 0, fn: int = 0) -> CaseResult:
    return CaseResult(
        document_name="x",
        document_type="medical_bill",
        extraction_success=True,
        json_valid=True,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
    )


def _verdict(drop_cases: int, cases: int = 40) -> SnapshotVerdict:
    """A paired verdict where `drop_cases` of `cases` right cases turn wrong."""
    base = {f"c{i:02d}": [_outcome(1)] for i in range(cases)}
    cur = {k: [_outcome(0, 1, 1)] if i < drop_cases else v for i, (k, v) in enumerate(base.items())}
    v = paired_verdict(base, cur, VerdictRule())
    return SnapshotVerdict(
        status=v.status, current_version=3, baseline_version=1, verdict=v, text=v.text
    )


def test_the_verdict_table_says_status_change_test_and_rule() -> None:
    configs = pd.concat([_configs(), _configs(model_version="n-v1")], ignore_index=True)
    big, small = _verdict(12), _verdict(1)
    assert (big.status, small.status) == ("regression", "ok")
    frame = verdict_frame(configs, {key_of(next(configs.itertuples())): big})
    row = frame.iloc[0]
    assert row["status"] == "regression"
    assert row["versions"] == "v1 → v3"
    assert row["change [95 % CI]"].startswith(f"{big.verdict.delta:+.3f} [")
    assert row["rule"] == "paired, 40 cases"
    assert row["worse / better"] == "12 / 0"
    assert float(row["p-value"]) <= 0.01
    # a configuration with a baseline but no verdict given: said, not guessed
    assert frame.iloc[1]["status"] == "no current snapshot"
    # one dataset and one prompt: no column for them
    assert "dataset" not in frame.columns and "prompt" not in frame.columns


def test_a_failed_run_is_not_judged_and_the_fallback_names_its_reason() -> None:
    failed = verdict_frame(_configs(current_failed=True), {})
    assert failed["status"].tolist() == ["current run failed"]
    assert failed["F1 baseline → current"].tolist() == ["0.800 → —"]
    assert pd.isna(failed["change [95 % CI]"].iloc[0])
    none = verdict_frame(_configs(baseline_version=None, baseline_f1=None), {})
    assert none["status"].tolist() == ["no baseline"] and pd.isna(none["versions"].iloc[0])
    row = next(_configs(current_f1=0.70).itertuples())
    verdict = fallback(row, VerdictRule(), "the case results could not be read: denied")
    assert verdict.status == "regression"  # 0.80 -> 0.70: more than 0.05, original rule
    shown_row = verdict_frame(_configs(current_f1=0.70), {key_of(row): verdict}).iloc[0]
    assert shown_row["rule"] == "original (the case results could not be read: denied)"
    assert pd.isna(shown_row["p-value"]) and pd.isna(shown_row["worse / better"])


def test_cases_that_got_worse_link_to_the_explorer() -> None:
    configs = _configs()
    key = key_of(next(configs.itertuples()))
    verdict = _verdict(3)
    page = worse_cases(configs, {key: verdict}, {key: "run 7"})
    for case in verdict.verdict.worse:
        assert explorer_link("run 7", case) in page.replace("&amp;", "&")
    assert explorer_link("run 7", "c00") == "./explore?run=run+7&case=c00"
    assert page.count("class='worse-case'") == 3
    assert "target='_blank'" in page
    # without a run (pushed snapshots) the cases are named, not linked
    assert "<code>c00</code>" in worse_cases(configs, {key: verdict}, {})
    assert worse_cases(configs, {key: _verdict(0)}, {key: "r"}) == ""


def test_current_snapshots_of_failed_runs_lose_their_scores() -> None:
    current = pd.DataFrame(
        {
            "model_version": ["good", "broken"],
            "dataset_version": ["s", "s"],
            "prompt_version": ["v1", "v1"],
            "environment": ["local", "local"],
            "f1_score": [0.7, 0.0],
            "latency_ms": [900.0, 0.0],
        }
    )
    configs = current[["model_version", "dataset_version", "prompt_version", "environment"]].assign(
        current_failed=[False, True]
    )
    marked = mark_failed(current, configs)
    assert marked["status"].tolist() == ["ok", "run failed"]
    assert marked["latency_ms"].iloc[0] == 900.0 and pd.isna(marked["latency_ms"].iloc[1])
    assert mark_failed(current, None)["status"].tolist() == ["ok", "ok"]


def test_missing_values_read_as_a_dash_and_short_histories_by_run() -> None:
    text = as_text(pd.DataFrame({"latency (ms)": [1234.4, float("nan")], "F1": [0.5, None]}))
    assert text["latency (ms)"].tolist() == ["1,234", DASH]
    assert text["F1"].tolist() == ["0.500", DASH]
    days = pd.DataFrame({"day": pd.to_datetime(["2026-11-01", "2026-11-01", "2026-11-02"])})
    assert is_short(days)
    longer = pd.DataFrame({"day": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-05"])})
    assert not is_short(longer)


def test_intervals_are_read_from_metrics_and_written_with_the_score() -> None:
    metrics = {"f1_ci": [0.781, 0.84], "precision_ci": "broken"}
    assert interval(metrics, "f1_ci") == (0.781, 0.84)
    assert interval(metrics, "precision_ci") is None
    assert interval(None, "f1_ci") is None
    text = with_interval(0.8123, (0.781, 0.84))
    assert text is not None and text.replace("\u00a0", " ") == "0.812 [0.781, 0.840]"
    assert with_interval(0.5, None) == "0.500"
    assert with_interval(float("nan"), (0.1, 0.2)) is None
    frame = pd.DataFrame(
        {
            "f1_score": [0.8, 0.7, float("nan")],
            "metrics": [{"f1_ci": [0.7, 0.9]}, {}, {"f1_ci": [0.1, 0.2]}],
        }
    )
    bounds = add_bounds(frame)
    assert bounds["f1_score_low"].iloc[0] == 0.7 and bounds["f1_score_high"].iloc[0] == 0.9
    # a pushed record has no interval; a failed run's blanked score has none either
    assert bounds["f1_score_low"].iloc[1:].isna().all()
    texts = score_texts(frame, scores=("f1_score",))["f1_score"].tolist()
    assert [t if t is None else t.replace("\u00a0", " ") for t in texts] == [
        "0.800 [0.700, 0.900]",
        "0.700",
        None,
    ]


def test_what_produced_a_snapshot_is_a_dash_when_unknown() -> None:
    frame = provenance(
        pd.DataFrame({"model_id": ["gpt-4o-mini", None, ""], "prompt_digest": ["abc", None, None]})
    )
    assert frame["model id"].tolist() == ["gpt-4o-mini", None, None]
    assert frame["prompt digest"].tolist() == ["abc", None, None]
    assert as_text(frame)["model id"].tolist()[0] == "gpt-4o-mini"


def test_columns_get_at_least_their_longest_word() -> None:
    frame = pd.DataFrame(
        {
            "model": ["gemini-2.0-flash-v1.0"],
            "F1 [95 % CI]": ["0.727 [0.286,\u00a01.000]"],
            **{f"col{i}": ["a long value that wraps"] for i in range(8)},
        }
    )
    widths = {c: float(w.rstrip("%")) for c, w in column_widths(frame).items()}
    assert abs(sum(widths.values()) - 100) < 1
    # the interval is one unbreakable piece: its column is wider than a long-text one's
    assert widths["F1 [95 % CI]"] > widths["col0"]


def _repeat_cells() -> list[CaseCell]:
    # alpha answers c1 differently on its second run; beta is steady; c2 ran once each
    return [
        cell("c1", "alpha", ["overbilling"], ["overbilling"]),
        cell("c1~1", "alpha", [], ["overbilling"]),
        cell("c1", "beta", ["overbilling"], ["overbilling"]),
        cell("c1~1", "beta", ["overbilling"], ["overbilling"]),
        cell("c2", "alpha", [], []),
        cell("c2~1", "alpha", [], []),
        cell("c2", "beta", [], []),
        cell("c2~1", "beta", [], []),
    ]


def test_unstable_cases_of_a_repeated_run_are_marked_and_filtered() -> None:
    cells = _repeat_cells()
    assert unstable_models(cells) == {"c1": ["alpha"]}
    grid = grid_frame(cells)
    assert UNSTABLE in shown(grid).columns
    assert models_of(grid) == ["alpha", "beta"]
    marks = dict(zip(grid["case"], grid[UNSTABLE], strict=True))
    assert marks == {
        "c1": UNSTABLE_MARK + "alpha",
        "c1~1": UNSTABLE_MARK + "alpha",
        "c2": "",
        "c2~1": "",
    }
    assert cell_style(marks["c1"]).startswith("background-color")
    assert sorted(filter_grid(grid, stability=STABILITY_UNSTABLE)["case"]) == ["c1", "c1~1"]
    assert sorted(filter_grid(grid, stability=STABILITY_STABLE)["case"]) == ["c2", "c2~1"]
    # a run without repeats has no such column, and nothing is unstable
    assert UNSTABLE not in grid_frame(CELLS).columns


def _history(values: list[float], *, start: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "snapshot_version": list(range(1, len(values) + 1)),
            "created_at": [start + timedelta(days=i) for i in range(len(values))],
            "is_active": [True] * len(values),
            "f1_score": values,
            "latency_ms": [900.0] * len(values),
            "cost_per_analysis": [0.001] * len(values),
            "metrics": [{"f1_ci": [v - 0.05, v + 0.05]} for v in values],
        }
    ).iloc[::-1]  # the store gives the newest version first


def test_change_points_are_those_of_the_detector_over_the_active_range() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    values = [0.9, 0.91, 0.89, 0.9, 0.92, 0.9, 0.6, 0.61, 0.59, 0.6, 0.62, 0.6]
    history = _history(values, start=now - timedelta(days=11))
    points = series(history, None, now=now)
    assert points["snapshot_version"].tolist() == list(range(1, 13))  # oldest first
    assert points["f1_score_low"].iloc[0] == pytest.approx(0.85)
    found = find_changes(points)
    expected = detect_changes(list(enumerate(values, start=1)))
    assert [(r.metric, r.version) for r in found.itertuples()] == [
        ("F1", c.version) for c in expected
    ]
    assert found["version"].tolist() == [7] and found["p-value"].iloc[0] <= 0.01
    assert levels(points, "f1_score", [7])["level"].round(3).tolist() == [0.903] * 6 + [0.603] * 6
    # the time range, the active snapshots and the limit cut the series
    assert series(history, 3, now=now)["snapshot_version"].tolist() == [10, 11, 12]
    inactive = history.assign(is_active=[v != 12 for v in history["snapshot_version"]])
    assert 12 not in series(inactive, None, now=now)["snapshot_version"].tolist()
    assert series(history, None, limit=4, now=now)["snapshot_version"].tolist() == [9, 10, 11, 12]
    flat = series(_history([0.8] * 12, start=now - timedelta(days=11)), None, now=now)
    assert find_changes(flat).empty
