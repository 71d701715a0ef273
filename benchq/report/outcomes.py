"""What one answer to one case came to, and how the models of a run compare: pure functions.

Shared by the dashboard's run explorer and the report file, so both say the
same thing about the same case. Nothing here reads the store.

- `outcome`: one word for a (case, model) cell, from the original's set rule
  (TP/FP/FN of issue types): all found, partly, false alarms, missed, error.
- `disagreement`: how far the models of a case are from agreeing.
- `answer_issues` / `cited_lines`: the issues a model reported, and the lines
  of the document they point at (by billing code or quoted evidence).
- `model_totals`: each model's figures over the run, with the confidence
  intervals the run summary carries when it has them.
- `issue_changes`: added and removed issue types between two answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from benchq.providers.answer import parse_answer
from benchq.scoring.aggregate import micro_prf
from benchq.store.explorer import CaseCell


class Outcome(StrEnum):
    """A cell of the grid, worst last but for errors (which are not answers at all)."""

    found = "all found"
    """Every expected issue found, nothing else reported (also: nothing to find, nothing said)."""
    partly = "partly"
    """Some expected issues found, some missed."""
    false_alarms = "false alarms"
    """Every expected issue found, but also issues the bill does not have."""
    missed = "missed"
    """None of the expected issues found."""
    error = "error"
    """The model call failed: no answer to score."""


#: Background colours of the outcomes, shared by the dashboard and the report.
OUTCOME_COLOURS: dict[Outcome, str] = {
    Outcome.found: "#cfe8d5",
    Outcome.partly: "#fff0b3",
    Outcome.false_alarms: "#ffd9b3",
    Outcome.missed: "#f5c2c7",
    Outcome.error: "#c9ced6",
}


def outcome(cell: CaseCell) -> Outcome:
    """The outcome of one answer, from its TP/FP/FN (the original's set rule)."""
    if not cell.extraction_success:
        return Outcome.error
    if cell.false_negatives == 0:
        return Outcome.found if cell.false_positives == 0 else Outcome.false_alarms
    return Outcome.partly if cell.true_positives > 0 else Outcome.missed


def disagreement(cells: Sequence[CaseCell]) -> int:
    """How many answers would have to change for every model of a case to agree.

    For each issue type that any model reported or the bill has, the models
    that answered split into those that reported it and those that did not;
    the smaller side counts. Models whose call failed against those that
    answered count the same way. 0: every model said the same.
    """
    answered = [c for c in cells if c.extraction_success]
    failed = len(cells) - len(answered)
    total = min(failed, len(answered))
    types = {t for c in cells for t in (*c.detected_types, *c.expected_types)}
    for issue_type in types:
        reporting = sum(1 for c in answered if issue_type in c.detected_types)
        total += min(reporting, len(answered) - reporting)
    return total


def answer_issues(raw_output: str) -> list[dict[str, Any]]:
    """The issues of a raw answer, read with the providers' own parser; [] when unreadable."""
    if not raw_output.strip():
        return []
    parsed = parse_answer(raw_output)
    return [issue.model_dump(mode="json") for issue in parsed.issues]


_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


def cited_lines(text: str, issues: Iterable[Mapping[str, Any]]) -> dict[int, list[str]]:
    """Lines of `text` (0-based) that the issues point at, with the issue types pointing there.

    An issue points at a line that holds its billing `code` as a word, or
    whose text it quotes in `evidence` (or that quotes a line of it). Short
    fragments (under 6 characters) are ignored: they would match anywhere.
    """
    lines = text.splitlines()
    normed = [_norm(line) for line in lines]
    found: dict[int, list[str]] = {}
    for issue in issues:
        label = str(issue.get("type") or "issue")
        code = str(issue.get("code") or "").strip()
        code_re = re.compile(rf"(?<![\w]){re.escape(code)}(?![\w])") if len(code) >= 3 else None
        quotes = [_norm(q) for q in str(issue.get("evidence") or "").splitlines()]
        quotes = [q for q in quotes if len(q) >= 6]
        for index, line in enumerate(normed):
            if len(line) < 3:
                continue
            hit = bool(code_re and code_re.search(lines[index]))
            hit = hit or any(q in line or (len(line) >= 6 and line in q) for q in quotes)
            if hit and label not in found.setdefault(index, []):
                found[index].append(label)
    return {i: labels for i, labels in found.items() if labels}


class IssueChanges(BaseModel):
    """Issue types of answer B against answer A."""

    added: list[str]
    removed: list[str]
    kept: list[str]


def issue_changes(before: Iterable[str], after: Iterable[str]) -> IssueChanges:
    """Types B reports that A did not (added), A reported and B does not (removed), both."""
    a, b = set(before), set(after)
    return IssueChanges(added=sorted(b - a), removed=sorted(a - b), kept=sorted(a & b))


class ModelTotals(BaseModel):
    """One model's figures over a run (or over the cases shown)."""

    model_name: str
    cases: int
    errors: int
    precision: float
    recall: float
    f1: float
    precision_ci: tuple[float, float] | None = None
    recall_ci: tuple[float, float] | None = None
    f1_ci: tuple[float, float] | None = None
    avg_latency_ms: float | None = None
    """Over answered cases only (the original's rule); None when none answered."""
    avg_total_tokens: float | None = None
    total_cost_usd: float = 0.0
    outcomes: dict[str, int]


def _interval(value: Any) -> tuple[float, float] | None:
    """A `[low, high]` pair from a run summary, or None when absent or malformed."""
    if isinstance(value, list | tuple) and len(value) == 2:
        try:
            return float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return None
    return None


def model_totals(
    cells: Sequence[CaseCell], aggregated: Mapping[str, Mapping[str, Any]] | None = None
) -> list[ModelTotals]:
    """Per model, in name order: micro-averaged P/R/F1, errors, latency, tokens, cost, outcomes.

    `aggregated` maps a model name to its run summary's aggregate; its
    `issue_precision_ci`, `issue_recall_ci`, `issue_f1_ci` are shown when
    present (intervals belong to the whole run, so pass them only for it).
    """
    by_model: dict[str, list[CaseCell]] = {}
    for cell in cells:
        by_model.setdefault(cell.model_name, []).append(cell)
    out = []
    for name in sorted(by_model):
        group = by_model[name]
        answered = [c for c in group if c.extraction_success]
        precision, recall, f1 = micro_prf(
            sum(c.true_positives for c in group),
            sum(c.false_positives for c in group),
            sum(c.false_negatives for c in group),
        )
        tokens = [c.total_tokens for c in group if c.total_tokens is not None]
        counts = {o.value: 0 for o in Outcome}
        for c in group:
            counts[outcome(c).value] += 1
        summary = (aggregated or {}).get(name, {})
        out.append(
            ModelTotals(
                model_name=name,
                cases=len(group),
                errors=len(group) - len(answered),
                precision=precision,
                recall=recall,
                f1=f1,
                precision_ci=_interval(summary.get("issue_precision_ci")),
                recall_ci=_interval(summary.get("issue_recall_ci")),
                f1_ci=_interval(summary.get("issue_f1_ci")),
                avg_latency_ms=(
                    sum(c.extraction_latency_ms for c in answered) / len(answered)
                    if answered
                    else None
                ),
                avg_total_tokens=sum(tokens) / len(tokens) if tokens else None,
                total_cost_usd=sum(c.cost_usd for c in group),
                outcomes=counts,
            )
        )
    return out


def format_interval(ci: tuple[float, float] | None) -> str:
    """`[0.612, 0.705]`, or a dash when the run has no interval."""
    return "—" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


#: The per-case table's columns, in order (CSV header, JSONL keys).
CASE_ROW_FIELDS: tuple[str, ...] = (
    "run_id",
    "case_id",
    "document_type",
    "model",
    "outcome",
    "extraction_success",
    "json_valid",
    "true_positives",
    "false_positives",
    "false_negatives",
    "expected_types",
    "detected_types",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "cached",
    "error_message",
)


def case_rows(run_id: str, cells: Iterable[CaseCell]) -> list[dict[str, Any]]:
    """One row per (case, model), for spreadsheets and notebooks; lists stay lists."""
    return [
        {
            "run_id": run_id,
            "case_id": c.case_id,
            "document_type": c.document_type,
            "model": c.model_name,
            "outcome": outcome(c).value,
            "extraction_success": c.extraction_success,
            "json_valid": c.json_valid,
            "true_positives": c.true_positives,
            "false_positives": c.false_positives,
            "false_negatives": c.false_negatives,
            "expected_types": list(c.expected_types),
            "detected_types": list(c.detected_types),
            "latency_ms": c.extraction_latency_ms,
            "input_tokens": c.input_tokens,
            "output_tokens": c.output_tokens,
            "total_tokens": c.total_tokens,
            "cost_usd": c.cost_usd,
            "cached": c.cached,
            "error_message": c.error_message,
        }
        for c in cells
    ]
