"""Resolve `--models` names through the model registry, refusing what cannot run."""

from __future__ import annotations

from benchq.config.registry import load_registry
from benchq.config.settings import Settings
from benchq.jobs.names import PUBLISH_QUEUE, provider_queue
from benchq.producers.plan import ModelPlan, RunPlan
from benchq.providers.factory import check_credentials, prompt_digest


def resolve_models(names: list[str], settings: Settings) -> list[ModelPlan]:
    """The plan entries of the named models.

    Unknown names and models whose credentials are missing are refused here,
    at enqueue time (exit 2), rather than failing in every worker.
    """
    registry = load_registry(settings)
    specs = registry.select(names)
    check_credentials(specs, settings)
    return [
        ModelPlan(
            name=s.name,
            provider=s.provider,
            model_version=s.model_version,
            model_id=s.model_id,
            prompt_digest=prompt_digest(s, settings),
        )
        for s in specs
    ]


def all_queues(settings: Settings) -> list[str]:
    """Every queue a general-purpose worker may consume: publish plus each provider kind."""
    kinds = sorted({spec.provider for spec in load_registry(settings).models.values()})
    return [PUBLISH_QUEUE, *(provider_queue(k) for k in kinds)]


def run_queues(plan: RunPlan) -> list[str]:
    """The queues a run's jobs go to: publish plus the provider kinds of its models.

    Workers started for one run (`benchq run`) consume only these, so they
    load only the SDKs the run needs.
    """
    return model_queues(plan.models)


def model_queues(models: list[ModelPlan]) -> list[str]:
    """The queues the jobs of these models go to (`run_queues`), known before the suite is."""
    kinds = sorted({m.provider for m in models})
    return [PUBLISH_QUEUE, *(provider_queue(k) for k in kinds)]
