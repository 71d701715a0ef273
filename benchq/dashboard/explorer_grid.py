"""The run explorer's grid as a DataFrame: one row per case, one column per model.

Pure pandas, no Panel: built once per run (and cached), then filtered and
sorted in memory on every change of a filter, which for 1,000 cases takes
milliseconds. The columns a person sees are `case`, `document type`,
`disagreement`, `unstable` (for a run made with `--repeat N`) and one per
model holding that model's outcome; the columns starting with `_` are what
the filters read and are never shown.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import pandas as pd

from benchq.report.outcomes import OUTCOME_COLOURS, Outcome, disagreement, outcome
from benchq.store.explorer import CaseCell, base_case_id

#: What the "Errors" filter offers.
ERRORS_ANY, ERRORS_ONLY, ERRORS_NONE = "all cases", "with an error", "without errors"
ERROR_CHOICES = (ERRORS_ANY, ERRORS_ONLY, ERRORS_NONE)

#: What the "Sort by" select offers.
SORT_DISAGREEMENT, SORT_CASE = "disagreement (most first)", "case id"
SORT_CHOICES = (SORT_DISAGREEMENT, SORT_CASE)

#: "Outcome of" this choice means any model of the case.
ANY_MODEL = "any model"

#: What the "Repeats" filter offers (runs made with `--repeat N`).
STABILITY_ANY, STABILITY_UNSTABLE, STABILITY_STABLE = (
    "all cases",
    "unstable only",
    "stable only",
)
STABILITY_CHOICES = (STABILITY_ANY, STABILITY_UNSTABLE, STABILITY_STABLE)

#: The column that names, per case, the models whose repeats disagreed, after a marker.
UNSTABLE = "unstable"
UNSTABLE_MARK = "⟳ "

#: The helper columns (never shown).
HIDDEN = ("_types", "_error", "_unstable")


def unstable_models(cells: Sequence[CaseCell]) -> dict[str, list[str]]:
    """Case id -> the models whose repeats of it had different outcomes (TP, FP, FN).

    The rule of the run's aggregate (`unstable_cases`): a model that, asked
    the same case several times (`--repeat N`), scored it differently. Cases
    run once are never unstable.
    """
    outcomes: dict[tuple[str, str], set[tuple[int, int, int]]] = {}
    for cell in cells:
        key = (base_case_id(cell.case_id), cell.model_name)
        outcomes.setdefault(key, set()).add(
            (cell.true_positives, cell.false_positives, cell.false_negatives)
        )
    found: dict[str, list[str]] = {}
    for (case_id, model), seen in sorted(outcomes.items()):
        if len(seen) > 1:
            found.setdefault(case_id, []).append(model)
    return found


def has_repeats(cells: Sequence[CaseCell]) -> bool:
    """Whether the run was made with `--repeat N` (some case has a repeat key `id~N`)."""
    return any("~" in cell.case_id for cell in cells)


def grid_frame(cells: Sequence[CaseCell]) -> pd.DataFrame:
    """One row per case: case id, document type, disagreement, each model's outcome.

    A model with no result for a case (a run still going, a lost job) has an
    empty cell there. `_types` holds every issue type expected or reported
    on the case, `|`-separated and framed (`|a|b|`), `_error` whether any
    model's call failed. For a run with repeats (each repeat a row of its
    own, `id~N`), `unstable` names on every row of a case the models whose
    repeats of it disagreed (`unstable_models`), and `_unstable` says whether any did.
    """
    by_case: dict[str, list[CaseCell]] = {}
    for cell in cells:
        by_case.setdefault(cell.case_id, []).append(cell)
    models = sorted({c.model_name for c in cells})
    repeated = has_repeats(cells)
    unstable = unstable_models(cells) if repeated else {}
    rows = []
    for case_id, group in by_case.items():
        row: dict[str, object] = {
            "case": case_id,
            "document type": group[0].document_type,
            "disagreement": disagreement(group),
        }
        if repeated:
            flaky = unstable.get(base_case_id(case_id), [])
            row[UNSTABLE] = UNSTABLE_MARK + ", ".join(flaky) if flaky else ""
        for model in models:
            row[model] = ""
        for cell in group:
            row[cell.model_name] = outcome(cell).value
        types = sorted({t for c in group for t in (*c.expected_types, *c.detected_types)})
        row["_types"] = "|" + "|".join(types) + "|"
        row["_error"] = any(not c.extraction_success for c in group)
        row["_unstable"] = base_case_id(case_id) in unstable
        rows.append(row)
    shown = ["case", "document type", "disagreement", *([UNSTABLE] if repeated else [])]
    return pd.DataFrame(rows, columns=[*shown, *models, *HIDDEN])


def models_of(frame: pd.DataFrame) -> list[str]:
    """The model columns of a grid."""
    fixed = {"case", "document type", "disagreement", UNSTABLE, *HIDDEN}
    return [c for c in frame.columns if c not in fixed]


def issue_types_of(frame: pd.DataFrame) -> list[str]:
    """Every issue type the grid's cases expect or report, sorted."""
    return sorted({t for joined in frame["_types"] for t in str(joined).split("|") if t})


def filter_grid(
    frame: pd.DataFrame,
    *,
    outcomes: Collection[str] = (),
    outcome_model: str = ANY_MODEL,
    document_types: Collection[str] = (),
    issue_types: Collection[str] = (),
    errors: str = ERRORS_ANY,
    case_ids: Collection[str] | None = None,
    sort: str = SORT_DISAGREEMENT,
    stability: str = STABILITY_ANY,
) -> pd.DataFrame:
    """The rows that pass every filter, sorted; an empty choice means "no filter".

    `outcomes` keeps a case when `outcome_model` (or, for `ANY_MODEL`, any
    model) has one of them; `issue_types` when any of them is expected or
    reported; `case_ids` (the cases whose document matched the text search)
    when given, only those; `stability` the cases some model answered
    differently across repeats (`STABILITY_UNSTABLE`), or the others.
    """
    keep = pd.Series(True, index=frame.index)
    if outcomes:
        chosen = set(outcomes)
        columns = models_of(frame) if outcome_model == ANY_MODEL else [outcome_model]
        hit = pd.Series(False, index=frame.index)
        for column in columns:
            if column in frame.columns:
                hit |= frame[column].isin(chosen)
        keep &= hit
    if document_types:
        keep &= frame["document type"].isin(set(document_types))
    if issue_types:
        hit = pd.Series(False, index=frame.index)
        for issue_type in issue_types:
            hit |= frame["_types"].str.contains(f"|{issue_type}|", regex=False)
        keep &= hit
    if errors == ERRORS_ONLY:
        keep &= frame["_error"]
    elif errors == ERRORS_NONE:
        keep &= ~frame["_error"]
    if case_ids is not None:
        keep &= frame["case"].isin(set(case_ids))
    if stability == STABILITY_UNSTABLE:
        keep &= frame["_unstable"]
    elif stability == STABILITY_STABLE:
        keep &= ~frame["_unstable"]
    out = frame[keep]
    if sort == SORT_DISAGREEMENT:
        return out.sort_values(["disagreement", "case"], ascending=[False, True], kind="stable")
    return out.sort_values("case", kind="stable")


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The grid as the table shows it: without the helper columns, numbered from 0."""
    return frame.drop(columns=list(HIDDEN)).reset_index(drop=True)


_BACKGROUND = {o.value: f"background-color: {colour}" for o, colour in OUTCOME_COLOURS.items()}


def cell_style(value: object) -> str:
    """The CSS of a cell: a model's outcome colour, or amber for an unstable case's marker."""
    text = str(value)
    if text.startswith(UNSTABLE_MARK):
        # no bold: the grid sizes its columns to the text before styling it
        return "background-color: #ffe3a3"
    return _BACKGROUND.get(text, "")


__all__ = [
    "ANY_MODEL",
    "ERROR_CHOICES",
    "SORT_CHOICES",
    "STABILITY_CHOICES",
    "Outcome",
    "cell_style",
    "filter_grid",
    "grid_frame",
    "issue_types_of",
    "models_of",
    "shown",
    "unstable_models",
]
