"""`benchq resume RUN_ID`: run what a failed, interrupted or lost run is missing, and finish it.

A run's stored results are kept; exactly the (model, case) pairs without a
result are enqueued again, and every model whose chain is not over
(aggregate -> publish -> verdict) gets it again, each step finding done what
is done. The suite is read again from where the run read it (or `--suite`)
and must be the same bills and ground truth (its digest); the models must
still be the ones the run called (model id and version).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from benchq.cases.identity import suite_digest
from benchq.cases.schema import Case
from benchq.cases.suite import load_suite
from benchq.config.settings import Settings
from benchq.errors import ConfigError, NotFound
from benchq.producers.models import resolve_models
from benchq.producers.plan import ModelPlan, RunPlan
from benchq.producers.provenance import Provenance
from benchq.scoring.schema import result_key
from benchq.store.base import ResultsStore
from benchq.store.schema import RunRecord, RunStatus


class ResumePlan(BaseModel):
    """What resuming a run sends: per model, the cases without a result."""

    plan: RunPlan
    missing: dict[str, list[tuple[Case, int]]]
    """Models whose chain must run again, with the (case, repeat) pairs they still lack."""

    @property
    def case_count(self) -> int:
        """(model, case) pairs to run."""
        return sum(len(c) for c in self.missing.values())


def plan_resume(
    store: ResultsStore, settings: Settings, run_id: str, suite_path: Path | None = None
) -> ResumePlan:
    """What resuming `run_id` would send; `ConfigError` (exit 2) when it cannot be resumed."""
    try:
        run = store.get_run(run_id)
    except NotFound:
        raise ConfigError(f"no run {run_id!r} in the store") from None
    if run.status is RunStatus.done:
        raise ConfigError(f"run {run_id} is done: there is nothing to resume")
    path = suite_path or (Path(run.suite_path) if run.suite_path else None)
    if path is None:
        raise ConfigError(f"run {run_id} did not record where its suite is: pass --suite")
    suite = load_suite(path, max_input_bytes=settings.max_input_bytes)
    if run.dataset_digest and suite_digest(suite) != run.dataset_digest:
        raise ConfigError(
            f"{path}: not the suite run {run_id} ran (its bills or ground truth changed); "
            "resuming would mix two suites in one run"
        )
    models = _models(run, settings)
    summaries = {s.model_name: s for s in store.run_summaries(run_id)}
    missing: dict[str, list[tuple[Case, int]]] = {}
    pairs = [(c, r) for r in range(run.repeats) for c in suite.cases]
    for model in models:
        summary = summaries.get(model.name)
        if summary is not None and summary.final:
            continue
        stored = store.stored_case_ids(run_id, model.name, [result_key(c.id, r) for c, r in pairs])
        missing[model.name] = [(c, r) for c, r in pairs if result_key(c.id, r) not in stored]
    plan = RunPlan(
        run_id=run.run_id,
        suite=suite,
        models=models,
        created_at=run.created_at,
        dataset_version=run.dataset_version,
        dataset_digest=run.dataset_digest or suite_digest(suite),
        suite_path=str(path),
        prompt_version=run.prompt_version,
        environment=run.environment,
        provenance=Provenance(
            commit_sha=run.commit_sha or "unknown",
            branch_name=run.branch_name,
            triggered_by=run.triggered_by,
        ),
        batch_size=settings.batch_size,
        max_error_rate=settings.max_error_rate,
        alpha=settings.verdict_alpha,
        repeats=run.repeats,
    )
    return ResumePlan(plan=plan, missing=missing)


def _models(run: RunRecord, settings: Settings) -> list[ModelPlan]:
    """The run's models, as the registry resolves them now; refused if they changed."""
    now = {m.name: m for m in resolve_models(run.models, settings)}
    models = []
    for name in run.models:
        was = run.model_info.get(name)
        current = now[name]
        if was is not None and (was.model_id, was.model_version) != (
            current.model_id,
            current.model_version,
        ):
            raise ConfigError(
                f"model {name!r} of run {run.run_id} called {was.model_id} "
                f"({was.model_version}); the registry now names {current.model_id} "
                f"({current.model_version}): start a new run instead"
            )
        models.append(current)
    return models
