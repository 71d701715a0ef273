"""Building providers from registry entries and settings; checking credentials up front."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import redis.asyncio
from pydantic import SecretStr

from benchq.config.registry import ModelSpec
from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.providers.base import Provider
from benchq.providers.cache import CachingProvider, ResponseCache
from benchq.providers.prompts import load_prompt
from benchq.providers.ratelimit import SLOT_LEASE_SECONDS, FleetLimiter
from benchq.providers.retry import RetryPolicy

if TYPE_CHECKING:
    from benchq.providers.gemini import GeminiProvider
    from benchq.providers.openai_chat import OpenAIChatProvider

#: Variables that provide each kind's key, in the order they are read.
KEY_VARIABLES: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY", "BENCHQ_OPENAI_API_KEY"),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY", "BENCHQ_GEMINI_API_KEY"),
}


def _credentials(spec: ModelSpec, settings: Settings) -> tuple[SecretStr | None, str | None]:
    """The API key and base URL a model is called with (settings win over the registry)."""
    if spec.provider == "openai":
        return settings.openai_api_key, settings.openai_base_url or spec.base_url
    if spec.provider == "gemini":
        return settings.gemini_api_key, settings.gemini_base_url or spec.base_url
    if spec.provider == "medgemma":
        return settings.medgemma_api_key, settings.medgemma_base_url or spec.base_url
    return None, None


def missing_credentials(spec: ModelSpec, settings: Settings) -> str | None:
    """Why `spec` cannot be called with these settings, or None when it can."""
    key, base_url = _credentials(spec, settings)
    if spec.provider in KEY_VARIABLES and (key is None or not key.get_secret_value()):
        names = " or ".join(KEY_VARIABLES[spec.provider])
        return f"model {spec.name!r} ({spec.provider}) needs an API key: set {names}"
    if spec.provider == "medgemma" and not base_url:
        return (
            f"model {spec.name!r} (medgemma) needs its server's URL: set "
            "BENCHQ_MEDGEMMA_BASE_URL or base_url in the model registry"
        )
    return None


def check_credentials(specs: Iterable[ModelSpec], settings: Settings) -> None:
    """Refuse, before anything is enqueued, models that could not be called.

    Raises ConfigError naming every such model and the variable to set; the
    message never contains a key.
    """
    problems = [p for p in (missing_credentials(s, settings) for s in specs) if p]
    if problems:
        raise ConfigError("; ".join(problems))


def prompt_digest(
    spec: ModelSpec, settings: Settings, prompt_version: str | None = None
) -> str | None:
    """Digest of the prompt text `spec` is sent; None for the baseline, which takes none."""
    if spec.provider == "baseline":
        return None
    return load_prompt(prompt_version or settings.prompt_version).digest


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry policy the settings ask for."""
    return RetryPolicy(
        max_attempts=settings.provider_max_attempts,
        initial_delay=settings.provider_retry_initial_delay,
        max_delay=settings.provider_retry_max_delay,
    )


def make_provider(
    spec: ModelSpec,
    settings: Settings,
    *,
    async_redis: redis.asyncio.Redis | None = None,  # type: ignore[type-arg]
    cache: ResponseCache | None = None,
    cache_mode: Literal["use", "refresh", "bypass"] = "use",
    prompt_version: str | None = None,
) -> Provider:
    """A ready provider for `spec`.

    With `async_redis` (the broker's Redis, through redis.asyncio, so the
    limiter never blocks the event loop the calls run on), calls obey the
    fleet-wide limits of the registry entry; with `cache` (and
    `settings.response_cache` on), answers go through the response cache.
    Build one per worker process and reuse it: it holds a connection pool.
    """
    if spec.provider == "baseline":
        from benchq.providers.baseline import BaselineProvider

        baseline = BaselineProvider()
        baseline.model_id = spec.model_id
        return baseline

    problem = missing_credentials(spec, settings)
    if problem:
        raise ConfigError(problem)
    key, base_url = _credentials(spec, settings)
    prompt = load_prompt(prompt_version or settings.prompt_version)
    limiter = None
    if async_redis is not None:
        limiter = FleetLimiter(
            async_redis,
            spec.name,
            requests_per_minute=spec.requests_per_minute,
            tokens_per_minute=spec.tokens_per_minute,
            max_concurrency=spec.concurrency,
            # renewed while the call runs: how soon a dead worker's slots free up
            lease_seconds=SLOT_LEASE_SECONDS,
            defer_after_seconds=settings.limit_defer_after,
        )
    provider = _provider_class(spec)(
        spec,
        api_key=key,
        base_url=base_url,
        prompt=prompt,
        retry=retry_policy(settings),
        limiter=limiter,
        # one HTTP connection per call a worker keeps in flight: none waits for the pool
        connections=settings.worker_concurrency,
    )
    # `bypass`: neither read nor written (the later repeats of a run).
    if cache is not None and settings.response_cache and cache_mode != "bypass":
        return CachingProvider(provider, cache, identity=provider.cache_identity(), mode=cache_mode)
    return provider


def _provider_class(spec: ModelSpec) -> type[OpenAIChatProvider] | type[GeminiProvider]:
    """The SDK-backed class of a registry entry, imported only when used."""
    found = provider_class(spec.provider)
    if found is None:  # pragma: no cover - ModelSpec.provider is a closed Literal
        raise ConfigError(f"model {spec.name!r}: unknown provider {spec.provider!r}")
    return found


def import_provider_sdks(queues: Iterable[str]) -> None:
    """Import the SDKs of the providers whose queues these are, and build a client of each once.

    A worker's (or the zygote's) before its jobs: what the first client a
    process builds imports and reads is then paid before the run, not by
    its first calls.
    """
    from benchq.jobs.names import provider_of_queue

    for queue in queues:
        kind = provider_of_queue(queue)
        found = provider_class(kind) if kind is not None else None
        if found is not None:
            found.warm_up()


def provider_class(kind: str) -> type[OpenAIChatProvider] | type[GeminiProvider] | None:
    """The SDK-backed class of a provider kind (None for the baseline or an unknown kind).

    Importing an SDK takes a quarter to half a second; workers call this for
    the kinds of their queues while starting, so a run's first jobs do not.
    """
    if kind == "openai":
        from benchq.providers.openai_chat import OpenAIChatProvider

        return OpenAIChatProvider
    if kind == "medgemma":
        from benchq.providers.medgemma import MedGemmaProvider

        return MedGemmaProvider
    if kind == "gemini":
        from benchq.providers.gemini import GeminiProvider

        return GeminiProvider
    return None
