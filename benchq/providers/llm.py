"""What every language-model provider shares: limits, retries, timing, parsing, cost.

A concrete provider implements one coroutine, `_complete(document)`: a single
attempt at the API through its SDK's async client, returning the text and token usage or raising
`ProviderRetryable` / `ProviderThrottled` / `ProviderRejected`. This class
wraps each attempt in the fleet limiter, repeats retryable failures under the
`RetryPolicy`, and turns the final text into a `ModelAnswer`.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from benchq.config.registry import ModelSpec
from benchq.errors import InfraUnavailable, ProviderUnreachable
from benchq.providers import aio
from benchq.providers.answer import SCHEMA_VERSION, parse_answer
from benchq.providers.base import ModelAnswer, Provider
from benchq.providers.endpoint import EndpointCircuit
from benchq.providers.prompts import Prompt
from benchq.providers.ratelimit import Limiter, NullLimiter
from benchq.providers.redact import Redactor
from benchq.providers.retry import ProviderThrottled, RetryPolicy, call_with_retry_async

log = logging.getLogger(__name__)

_ESTIMATED_OUTPUT_TOKENS = 512
"""Output tokens charged to the token limit before the real count is known."""


@dataclass(frozen=True)
class Completion:
    """One successful API answer, before parsing."""

    text: str
    input_tokens: int | None
    output_tokens: int | None
    truncated: bool = False
    """The provider stopped at the output token limit."""


def estimate_tokens(text: str) -> int:
    """A rough token count (4 characters a token), only to pre-charge the token limit."""
    return len(text) // 4 + 1


class LLMProvider(Provider):
    """Base of the API-backed providers."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        prompt: Prompt,
        retry: RetryPolicy | None = None,
        limiter: Limiter | None = None,
        secrets: Iterable[SecretStr | None] = (),
    ) -> None:
        self.spec = spec
        self.prompt = prompt
        self.model_id = spec.model_id
        self.prompt_digest = prompt.digest
        self.retry = retry or RetryPolicy()
        self.limiter: Limiter = limiter or NullLimiter()
        self.redact = Redactor(secrets)
        self.circuit = EndpointCircuit()

    def close(self) -> None:
        """Give back the fleet slots this process kept for its next calls.

        Never raises: the subclasses close their HTTP pools after this, and
        a slot that could not be given back expires on its own (a lease).
        """
        try:
            aio.run_sync(self.limiter.aclose())
        except Exception as exc:
            log.warning("could not give back the limiter slots of %s: %s", self.spec.name, exc)

    @abstractmethod
    async def _complete(self, document: str) -> Completion:
        """One attempt at the API; raise a `ProviderError` subclass on failure."""

    def cache_identity(self) -> dict[str, Any]:
        """Everything besides the document that decides the answer (the cache key's parts)."""
        return {
            "provider": self.kind,
            "model_id": self.spec.model_id,
            "prompt_version": self.prompt.version,
            "prompt_digest": self.prompt.digest,
            "schema": SCHEMA_VERSION,
            "temperature": self.spec.temperature,
            "max_output_tokens": self.spec.max_output_tokens,
            "json_mode": self.spec.json_mode,
            "seed": self.spec.seed,
        }

    async def _attempt(self, document: str, estimated: int) -> tuple[Completion, float]:
        lease = await self.limiter.acquire_async(estimated)
        throttled = False
        actual: int | None = None
        try:
            started = time.perf_counter()
            completion = await self._complete(document)
            latency_ms = (time.perf_counter() - started) * 1000.0
            if completion.input_tokens is not None or completion.output_tokens is not None:
                actual = (completion.input_tokens or 0) + (completion.output_tokens or 0)
            return completion, latency_ms
        except ProviderThrottled:
            throttled = True
            raise
        finally:
            try:
                await self.limiter.release_async(
                    lease, estimated_tokens=estimated, actual_tokens=actual, throttled=throttled
                )
            except InfraUnavailable as exc:
                # The answer is in hand: keep it. The lease expires in Redis on
                # its own (`lease_seconds`), so the fleet's slot is not lost.
                log.warning("could not release a limiter lease of %s: %s", self.spec.name, exc)

    async def analyze_async(self, document: str) -> ModelAnswer:
        """Call the model (limited, retried), parse its answer and price it."""
        estimated = estimate_tokens(self.prompt.text + document) + min(
            self.spec.max_output_tokens, _ESTIMATED_OUTPUT_TOKENS
        )
        # An endpoint that just refused us fails this call at once, with its reason.
        self.circuit.check()
        try:
            (completion, latency_ms), attempts = await call_with_retry_async(
                lambda: self._attempt(document, estimated), self.retry
            )
        except Exception as exc:
            # The providers mask what they put in a message; this also masks what
            # they did not write themselves (an SDK error's text, a base URL),
            # since the message of whatever escapes becomes the stored case error.
            self.redact.exception(exc)
            if isinstance(exc, ProviderUnreachable):
                self.circuit.trip(str(exc))
            raise
        self.circuit.reset()
        parsed = parse_answer(completion.text, truncated=completion.truncated)
        return ModelAnswer(
            issues=parsed.issues,
            facts=parsed.facts,
            raw_output=completion.text,
            json_valid=parsed.json_valid,
            parse_error=parsed.parse_error,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            latency_ms=latency_ms,
            cost_usd=self.spec.cost(completion.input_tokens, completion.output_tokens),
            attempts=attempts,
        )
