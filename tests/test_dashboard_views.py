"""The dashboard's pure pieces: the explorer's grid and filters, comparisons of two
answers, failed runs in the summary views, and what a missing value reads as.

No server and no browser here (tests/test_dashboard_browser.py drives those).
"""

from __future__ import annotations

import pandas as pd

from benchq.dashboard.compare import answers_side_by_side, ground_truth_change
from benchq.dashboard.explorer_grid import (
    ERRORS_NONE,
    ERRORS_ONLY,
    SORT_CASE,
    filter_grid,
    grid_frame,
    issue_types_of,
    models_of,
    shown,
)
from benchq.dashboard.views import DASH, as_text, is_short, mark_failed, regression_frame
from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseDocument
from benchq.store.explorer import CaseCell


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


def test_a_failed_run_is_not_a_regression_alert() -> None:
    assert regression_frame(_configs(), 5.0)["status"].tolist() == ["ALERT"]
    failed = regression_frame(_configs(current_failed=True), 5.0)
    assert failed["status"].tolist() == ["current run failed"]
    assert failed["current"].tolist() == ["v3 · no F1"]
    assert pd.isna(failed["F1 drop (%)"].iloc[0])
    none = regression_frame(_configs(baseline_version=None, baseline_f1=None), 5.0)
    assert none["status"].tolist() == ["no baseline"] and none["baseline"].tolist() == [None]


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
