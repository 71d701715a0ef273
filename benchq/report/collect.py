"""Read everything a report of one run shows, through the store's named reads.

Only run records, run summaries, snapshot verdicts and the case reads of
`benchq.store.explorer` (plus `case_results` and `case_documents`) are used:
never settings, keys or connection strings, so none can end up in a report.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from benchq.errors import BenchqError
from benchq.scoring.schema import CaseResult
from benchq.store.aggregates import CaseDocument
from benchq.store.base import ResultsStore
from benchq.store.explorer import CaseCell
from benchq.store.schema import RunModelSummary, RunRecord, SnapshotConfig


class ModelVerdict(BaseModel):
    """The regression verdict of the configuration a model of the run published."""

    model_name: str
    model_version: str
    snapshot_version: int | None = None
    status: str
    """ok, regression, no_baseline, no_current, or `unknown` (with `detail`)."""
    baseline_version: int | None = None
    current_version: int | None = None
    f1_change: float | None = None
    """Current F1 minus baseline F1, when both exist."""
    detail: str = ""


class RunData(BaseModel):
    """One run as the report shows it."""

    run: RunRecord
    summaries: list[RunModelSummary]
    cells: list[CaseCell]
    verdicts: list[ModelVerdict] = Field(default_factory=list)
    documents: dict[str, CaseDocument] = Field(default_factory=dict)
    answers: dict[str, list[CaseResult]] = Field(default_factory=dict)
    """Every model's full result per result key (the case id; `id~N` for a repeat)."""

    def aggregated(self) -> dict[str, dict[str, Any]]:
        """Each model's stored aggregate (where confidence intervals live), by model name."""
        return {s.model_name: dict(s.aggregated) for s in self.summaries}


def verdicts(
    store: ResultsStore, run: RunRecord, summaries: list[RunModelSummary]
) -> list[ModelVerdict]:
    """The store's regression check of every configuration the run published."""
    out = []
    for summary in summaries:
        version = str(summary.monitoring.get("model_version") or summary.model_name)
        try:
            config = SnapshotConfig(
                model_version=version,
                dataset_version=str(
                    summary.monitoring.get("dataset_version") or run.dataset_version
                ),
                prompt_version=str(summary.monitoring.get("prompt_version") or run.prompt_version),
                environment=run.environment,
            )
            verdict = store.regression_check(config)
        except (BenchqError, ValidationError) as exc:
            out.append(
                ModelVerdict(
                    model_name=summary.model_name,
                    model_version=version,
                    snapshot_version=summary.snapshot_version,
                    status="unknown",
                    detail=str(exc).splitlines()[0],
                )
            )
            continue
        f1 = next((c for c in verdict.checks if c.metric == "f1"), None)
        out.append(
            ModelVerdict(
                model_name=summary.model_name,
                model_version=version,
                snapshot_version=summary.snapshot_version,
                status=verdict.status,
                baseline_version=verdict.baseline_version,
                current_version=verdict.current_version,
                f1_change=f1.delta if f1 is not None else None,
            )
        )
    return out


def collect_run(store: ResultsStore, run_id: str, *, with_cases: bool = True) -> RunData:
    """Everything about one run; `NotFound` when there is no such run.

    `with_cases=False` reads only what the per-case table needs (no
    documents, no raw answers).
    """
    run = store.get_run(run_id)
    summaries = store.run_summaries(run_id)
    cells = store.run_case_cells(run_id)
    data = RunData(run=run, summaries=summaries, cells=cells)
    if not with_cases:
        return data
    data.verdicts = verdicts(store, run, summaries)
    data.documents = store.case_documents(run_id)
    models = sorted({c.model_name for c in cells})
    for model in models:
        for result in store.case_results(run_id, model):
            # keyed as the cells are: a repeat (`--repeat N`) is its own row
            data.answers.setdefault(result.result_key, []).append(result)
    return data
