"""A run's result files in the original system's formats, written from the store.

The model chains store everything the files hold (each model's aggregate,
its case results, and the monitoring record it published), so the files of
any run can be written later, on any machine that reaches the store:
`benchq results RUN_ID`. `benchq run` and `benchq enqueue --wait` write
theirs with this same code.

Per published model: `aggregated_metrics_<model>.json` and
`<model>_benchmark_results.json` (the converter's output, the unit that is
uploaded); the last published model of the run is also
`aggregated_metrics.json`, as the original's latest run was. A failed model
gets no files: a score made of failures would read as a score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from benchq.scoring.files import write_aggregated, write_monitoring
from benchq.scoring.schema import AggregatedMetrics, MonitoringRecord
from benchq.store.base import ResultsStore
from benchq.store.schema import RunRecord
from benchq.store.verdicts import SnapshotVerdict


class ModelResult(BaseModel):
    """One published model of a run."""

    model_name: str
    aggregated: AggregatedMetrics
    monitoring: MonitoringRecord
    snapshot_version: int | None
    verdict: SnapshotVerdict | None


class RunResults(BaseModel):
    """What a run produced, as the store holds it."""

    run: RunRecord
    published: list[ModelResult]
    """Published models, in the order the run named them."""
    failures: dict[str, str]
    """Failed models: name -> why nothing was published."""
    pending: list[str]
    """Models whose chain has not finished (the run is still going, or was lost)."""


def run_results(store: ResultsStore, run_id: str) -> RunResults:
    """Everything a run's files and summary need; `NotFound` for an unknown run."""
    run = store.get_run(run_id)
    summaries = {s.model_name: s for s in store.run_summaries(run_id)}
    published: list[ModelResult] = []
    failures: dict[str, str] = {}
    pending: list[str] = []
    for name in run.models:
        summary = summaries.get(name)
        if summary is None or summary.status == "aggregated":
            pending.append(name)
        elif summary.status == "failed":
            failures[name] = summary.error or "failed"
        else:
            published.append(
                ModelResult(
                    model_name=name,
                    aggregated=_with_cases(store, run_id, name, summary.aggregated),
                    monitoring=MonitoringRecord.model_validate(summary.monitoring),
                    snapshot_version=summary.snapshot_version,
                    verdict=(
                        SnapshotVerdict.model_validate(summary.verdict)
                        if summary.verdict is not None
                        else None
                    ),
                )
            )
    return RunResults(run=run, published=published, failures=failures, pending=pending)


def _with_cases(
    store: ResultsStore, run_id: str, model: str, aggregated: dict[str, Any]
) -> AggregatedMetrics:
    """The stored aggregate, with its cases read from the case results.

    Summaries are stored without them (each case is a row of its own);
    older summaries that carry them are read as they are.
    """
    if "individual_results" in aggregated:
        return AggregatedMetrics.model_validate(aggregated)
    found = AggregatedMetrics.model_validate({**aggregated, "individual_results": []})
    found.individual_results = store.case_results(run_id, model)
    return found


def write_run_files(results: RunResults, out_dir: Path) -> list[Path]:
    """Write the run's files into `out_dir` (created); returns the paths written."""
    written: list[Path] = []
    for i, model in enumerate(results.published):
        latest = i == len(results.published) - 1
        written.extend(write_aggregated(model.aggregated, out_dir, latest=latest))
        path = out_dir / f"{model.model_name}_benchmark_results.json"
        write_monitoring(model.monitoring, path)
        written.append(path)
    return written
