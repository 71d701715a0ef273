"""OpenAI chat completions with structured JSON output (the `openai` provider).

The SDK's own retries are off (`max_retries=0`): benchq's `RetryPolicy` is the
only one, so attempts are bounded and counted in one place.
"""

from __future__ import annotations

from typing import Any

import openai
from openai.types.chat import ChatCompletion
from pydantic import SecretStr

from benchq.config.registry import ModelSpec
from benchq.errors import ProviderError, ProviderRejected, ProviderRetryable, ProviderUnreachable
from benchq.providers import aio
from benchq.providers.answer import ANSWER_JSON_SCHEMA
from benchq.providers.endpoint import unreachable_reason
from benchq.providers.llm import Completion, LLMProvider
from benchq.providers.prompts import Prompt
from benchq.providers.ratelimit import Limiter
from benchq.providers.retry import ProviderThrottled, RetryPolicy, parse_retry_after

_RETRYABLE_STATUS = {408, 409, 425}  # besides 429 and 5xx: timeouts and lock conflicts


class OpenAIChatProvider(LLMProvider):
    """Any model behind the OpenAI chat-completions protocol."""

    kind = "openai"
    #: Send the prompt as a system message (some chat templates reject that role).
    system_role = True
    #: Name of the output-length parameter; OpenAI's newer models only take this one.
    max_tokens_param = "max_completion_tokens"

    def __init__(
        self,
        spec: ModelSpec,
        *,
        api_key: SecretStr | None,
        base_url: str | None = None,
        prompt: Prompt,
        retry: RetryPolicy | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        super().__init__(spec, prompt=prompt, retry=retry, limiter=limiter, secrets=[api_key])
        self.client = openai.AsyncOpenAI(
            # servers such as vLLM without --api-key ignore the key, but the SDK wants one
            api_key=api_key.get_secret_value() if api_key else "EMPTY",
            base_url=base_url or spec.base_url,
            max_retries=0,
            timeout=spec.timeout_s,
            # aiohttp under the SDK: a third less CPU per call than its default
            # httpx2 transport at 64 calls in flight (bench/sdk_transport.py)
            http_client=openai.DefaultAioHttpClient(timeout=spec.timeout_s),
        )

    def request_body(self, document: str) -> dict[str, Any]:
        """The JSON body of the chat-completions request for `document`, as sent."""
        if self.system_role:
            messages = [
                {"role": "system", "content": self.prompt.text},
                {"role": "user", "content": document},
            ]
        else:
            messages = [{"role": "user", "content": f"{self.prompt.text}\n\n{document}"}]
        body: dict[str, Any] = {
            "model": self.spec.model_id,
            "messages": messages,
            self.max_tokens_param: self.spec.max_output_tokens,
        }
        if self.spec.temperature is not None:
            body["temperature"] = self.spec.temperature
        if self.spec.seed is not None:
            body["seed"] = self.spec.seed
        if self.spec.json_mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "billing_audit",
                    "schema": ANSWER_JSON_SCHEMA,
                    "strict": True,
                },
            }
        elif self.spec.json_mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    async def _complete(self, document: str) -> Completion:
        # The body goes through the client's generic `post`, not
        # `chat.completions.create`: `create` walks its typed parameters
        # recursively on every call to rename fields, and for our body, built
        # in wire form already, that walk was a fifth of a call's CPU at 64
        # calls in flight (bench/fanout.py). Auth, base URL, timeout, error
        # classes and the typed `ChatCompletion` answer are the SDK's as usual.
        try:
            result = await self.client.post(
                "/chat/completions", cast_to=ChatCompletion, body=self.request_body(document)
            )
        except openai.OpenAIError as exc:
            raise self._wrap(exc) from exc
        if not result.choices:
            return Completion("", None, None)
        choice = result.choices[0]
        text = choice.message.content or ""
        if not text and choice.message.refusal:
            text = choice.message.refusal  # kept as the raw answer; it parses as invalid
        usage = result.usage
        return Completion(
            text=text,
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
            truncated=choice.finish_reason == "length",
        )

    def _wrap(self, exc: openai.OpenAIError) -> ProviderError:
        """Map an SDK error to benchq's: retryable, throttled, or rejected."""
        where = f"{self.kind} model {self.spec.model_id!r}"
        reason = unreachable_reason(exc)
        if reason is not None:
            # aiohttp under the SDK reports a refused connection as a timeout
            return ProviderUnreachable(f"{where} at {self.client.base_url}: {reason}")
        if isinstance(exc, openai.APITimeoutError):
            return ProviderRetryable(f"{where}: no answer within {self.spec.timeout_s:g}s")
        if isinstance(exc, openai.APIConnectionError):
            return ProviderRetryable(f"{where}: connection failed: {self.redact(str(exc))}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = f"{where}: HTTP {status}: {self.redact(exc.message)}"
            retry_after = parse_retry_after(dict(exc.response.headers))
            if status == 429:
                return ProviderThrottled(message, retry_after=retry_after)
            if status >= 500 or status in _RETRYABLE_STATUS:
                return ProviderRetryable(message, retry_after=retry_after)
            return ProviderRejected(message)
        return ProviderError(f"{where}: {type(exc).__name__}: {self.redact(str(exc))}")

    def close(self) -> None:
        """Close the HTTP connection pool (on the loop it was opened on)."""
        aio.run_sync(self.client.close())
