"""Two answers to one case, side by side, saying what changed: pure functions to HTML.

Used by Snapshot History's case drill-down. When the ground truth of the
case differs between the two snapshots' runs, that is said first: a case
can change outcome because its expected issues changed, with the model
answering exactly as before. Then each answer is shown as a list of issue
types, B's new ones marked *added* and A's vanished ones *removed*; the raw
answers stay one click away.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from benchq.report.outcomes import (
    OUTCOME_COLOURS,
    Outcome,
    answer_issues,
    issue_changes,
    outcome,
)
from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseDocument
from benchq.store.explorer import CaseCell

STYLE = """<style>
.bq-sides { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; font-size: 13px; }
.bq-side { border: 1px solid #d5dae0; border-radius: 4px; padding: 6px 10px; }
.bq-side h4 { margin: 0 0 4px; font-size: 14px; }
.bq-added { background: #cfe8d5; font-weight: 600; }
.bq-removed { background: #f5c2c7; text-decoration: line-through; }
.bq-truth { border-left: 4px solid #b26a00; background: #fff4e0; padding: 6px 10px;
            margin-bottom: 10px; font-size: 13px; }
.bq-side ul { margin: 4px 0; padding-left: 18px; }
.bq-side pre { white-space: pre-wrap; font-size: 11px; max-height: 220px; overflow: auto; }
.bq-error { color: #8a1c24; white-space: pre-wrap; }
</style>"""


def _types(values: list[str]) -> str:
    return ", ".join(html.escape(v) for v in values) or "none"


def _expected(result: CaseResult | None, document: CaseDocument | None) -> list[str] | None:
    """The expected issue types of a case in one run, from its document or its result."""
    if document is not None:
        return sorted(
            str(i.get("type", "")).strip().lower().replace(" ", "_").replace("-", "_")
            for i in document.expected_issues
            if i.get("should_detect", True)
        )
    if result is not None:
        return sorted(result.expected_types)
    return None


def ground_truth_change(
    a: CaseResult | None,
    b: CaseResult | None,
    doc_a: CaseDocument | None,
    doc_b: CaseDocument | None,
) -> str | None:
    """HTML saying how the ground truth of the case changed from A to B; None if it did not."""
    before, after = _expected(a, doc_a), _expected(b, doc_b)
    notes = []
    if before is not None and after is not None and Counter(before) != Counter(after):
        changes = issue_changes(before, after)
        parts = []
        if changes.added:
            parts.append(f"now expects <b>{_types(changes.added)}</b>")
        if changes.removed:
            parts.append(f"no longer expects <b>{_types(changes.removed)}</b>")
        if not parts:  # same types, different counts
            parts.append(f"expected {_types(before)}, now {_types(after)}")
        notes.append(
            "<b>The ground truth changed</b> between A and B: the case "
            + "; ".join(parts)
            + ". That alone changes the outcome, whatever the model answered."
        )
    if doc_a is not None and doc_b is not None and doc_a.text != doc_b.text:
        notes.append("<b>The document itself differs</b> between the two runs.")
    if not notes:
        return None
    return "<div class='bq-truth' id='truth-change'>" + "<br>".join(notes) + "</div>"


def _cell(result: CaseResult) -> CaseCell:
    return CaseCell.model_validate({**result.model_dump(), "case_id": result.document_name})


def _side(label: str, result: CaseResult | None, marked: dict[str, str]) -> str:
    """One answer: outcome, scores, issue types with marks, error, raw answer."""
    if result is None:
        return (
            f"<div class='bq-side'><h4>{html.escape(label)}</h4>This case was not in the run.</div>"
        )
    state = outcome(_cell(result))
    colour = OUTCOME_COLOURS[state]
    issues = answer_issues(result.raw_output)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for issue in issues:
        key = str(issue.get("type", "")).strip().lower().replace(" ", "_").replace("-", "_")
        by_type.setdefault(key, []).append(issue)
    items = []
    for issue_type in sorted(set(result.detected_types) | set(marked)):
        mark = marked.get(issue_type, "")
        css = f" class='bq-{mark}'" if mark else ""
        suffix = f" ({mark})" if mark else ""
        details = "".join(
            f"<br><span style='color:#6b7580'>{html.escape(str(i.get('summary') or ''))}"
            f"{' [' + html.escape(str(i['code'])) + ']' if i.get('code') else ''}</span>"
            for i in by_type.get(issue_type, [])
        )
        items.append(f"<li><span{css}>{html.escape(issue_type)}{suffix}</span>{details}</li>")
    listing = f"<ul>{''.join(items)}</ul>" if items else "<div>reported no issue</div>"
    error = (
        f"<div class='bq-error'><b>Error:</b> {html.escape(result.error_message or '')}</div>"
        if not result.extraction_success
        else ""
    )
    raw = (
        "<details><summary>raw answer</summary>"
        f"<pre>{html.escape(result.raw_output)}</pre></details>"
        if result.raw_output
        else ""
    )
    return (
        f"<div class='bq-side' style='border-top: 6px solid {colour}'>"
        f"<h4>{html.escape(label)}: {state.value}</h4>"
        f"TP {result.true_positives} · FP {result.false_positives} · "
        f"FN {result.false_negatives} · expected {_types(sorted(result.expected_types))}"
        f"{error}{listing}{raw}</div>"
    )


def answers_side_by_side(
    a: CaseResult | None,
    b: CaseResult | None,
    doc_a: CaseDocument | None = None,
    doc_b: CaseDocument | None = None,
    *,
    label_a: str = "A (before)",
    label_b: str = "B (after)",
) -> str:
    """The whole comparison of one case as HTML: ground-truth change first, then A | B."""
    found_a = set(a.detected_types) if a is not None and a.extraction_success else set()
    found_b = set(b.detected_types) if b is not None and b.extraction_success else set()
    changes = issue_changes(found_a, found_b)
    truth = ground_truth_change(a, b, doc_a, doc_b) or ""
    sides = (
        "<div class='bq-sides'>"
        + _side(label_a, a, dict.fromkeys(changes.removed, "removed"))
        + _side(label_b, b, dict.fromkeys(changes.added, "added"))
        + "</div>"
    )
    return STYLE + truth + sides


__all__ = ["Outcome", "answers_side_by_side", "ground_truth_change"]
