"""Resolve `--models` names to what the producer needs to route their jobs."""

from __future__ import annotations

from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.producers.plan import ModelPlan

_KNOWN = {"baseline": "baseline"}


def resolve_models(names: list[str], settings: Settings) -> list[ModelPlan]:
    """The plan entries of the named models; unknown names are refused (exit 2)."""
    plans: list[ModelPlan] = []
    for name in names:
        provider = _KNOWN.get(name)
        if provider is None:
            raise ConfigError(
                f"--models: unknown model {name!r} (known: {', '.join(sorted(_KNOWN))})"
            )
        plans.append(ModelPlan(name=name, provider=provider, model_version=f"{name}-v1.0"))
    return plans


def all_queues(settings: Settings) -> list[str]:
    """Every queue a general-purpose worker should consume."""
    from benchq.workers.app import CONTROL_QUEUE, provider_queue

    return [CONTROL_QUEUE, *(provider_queue(k) for k in sorted(set(_KNOWN.values())))]
