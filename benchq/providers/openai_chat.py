"""OpenAI chat completions with structured JSON output (the `openai` provider).

The SDK's own retries are off (`max_retries=0`): benchq's `RetryPolicy` is the
only one, so attempts are bounded and counted in one place.

How a request travels (docs/performance.md, "Which path a request takes"):
the `openai.AsyncOpenAI` client is built from the user's settings as usual,
and gives the URL and headers (auth, organisation, project, user agent);
each call's body is then POSTed by `JsonTransport` (aiohttp) and its answer
read into the SDK's `ChatCompletion`, its errors into the SDK's
`APIStatusError` / `APITimeoutError` / `APIConnectionError`. The SDK's own
request pipeline cost three to four times the CPU of the bare POST. A client
whose credentials are not a plain key (a workload identity, a provider
runtime that signs each request) keeps the SDK's pipeline, `client.post`.
"""

from __future__ import annotations

import json
from typing import Any, cast

import aiohttp
import httpx2
import openai
from openai._models import construct_type
from openai.types.chat import ChatCompletion
from pydantic import SecretStr, ValidationError

from benchq.config.registry import ModelSpec
from benchq.errors import ProviderError, ProviderRejected, ProviderRetryable, ProviderUnreachable
from benchq.providers import aio
from benchq.providers.answer import ANSWER_JSON_SCHEMA
from benchq.providers.endpoint import unreachable_reason
from benchq.providers.llm import Completion, LLMProvider
from benchq.providers.prompts import Prompt
from benchq.providers.ratelimit import Limiter
from benchq.providers.retry import ProviderThrottled, RetryPolicy, parse_retry_after
from benchq.providers.transport import JsonTransport

#: Stands for the document in the serialised request template (`request_bytes`).
_MARK = "\x00benchq:document\x00"

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
        connections: int = 100,
    ) -> None:
        super().__init__(spec, prompt=prompt, retry=retry, limiter=limiter, secrets=[api_key])
        self.client = openai.AsyncOpenAI(
            # servers such as vLLM without --api-key ignore the key, but the SDK wants one
            api_key=api_key.get_secret_value() if api_key else "EMPTY",
            base_url=base_url or spec.base_url,
            max_retries=0,
            timeout=spec.timeout_s,
            # aiohttp under the SDK, for the calls that take its pipeline: a
            # third less CPU per call than its default httpx2 transport
            http_client=openai.DefaultAioHttpClient(timeout=spec.timeout_s),
        )
        #: `connections`: the calls of this model a worker keeps in flight.
        self.transport = JsonTransport(limit=connections, timeout=spec.timeout_s)
        self._url = f"{str(self.client.base_url).rstrip('/')}/chat/completions"
        self._headers = _static_headers(self.client)
        self._template: tuple[bytes, bytes] | None = None

    @staticmethod
    def warm_up() -> None:
        """Build and drop an SDK client as `__init__` does, without a request.

        The first one a process builds imports the SDK's transport stack
        (httpcore2, h2, truststore...) and reads the CA certificates: about
        45 ms, which a worker's first job would otherwise wait for. The SDK's
        `ChatCompletion` type builds its validator on first use (pydantic's
        deferred build): built here too. The zygote calls this before it
        forks its workers (`import_provider_sdks`).
        """
        ChatCompletion.model_rebuild()
        openai.AsyncOpenAI(
            api_key="warm-up",
            base_url="http://127.0.0.1:9/v1",
            max_retries=0,
            http_client=openai.DefaultAioHttpClient(timeout=1.0),
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

    def request_bytes(self, document: str) -> bytes:
        """`request_body(document)` serialised as JSON, without serialising it again.

        Everything but the document (prompt, JSON schema, parameters) is the
        same for every call: it is serialised once, and each call splices its
        document, escaped as `json.dumps` escapes it, into that template.
        Serialising the whole body was a third of a call's CPU on this path.
        """
        if self._template is None:
            mark = json.dumps(_MARK)[1:-1]
            before, found, after = json.dumps(self.request_body(_MARK)).partition(mark)
            if not found or mark in after:
                raise AssertionError("request template: the document must appear exactly once")
            self._template = (before.encode(), after.encode())
        head, tail = self._template
        return head + json.dumps(document)[1:-1].encode() + tail

    async def _complete(self, document: str) -> Completion:
        try:
            result = await self._chat(document)
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

    async def _chat(self, document: str) -> ChatCompletion:
        """One chat-completions request; the SDK's answer type, or the SDK's error."""
        if self._headers is None:
            # Credentials the SDK computes per request: its own pipeline. The
            # body, built in wire form already, goes through the generic
            # `post`: `chat.completions.create` would walk it again to rename
            # fields (a fifth of a call's CPU).
            return await self.client.post(
                "/chat/completions", cast_to=ChatCompletion, body=self.request_body(document)
            )
        try:
            reply = await self.transport.post(
                self._url, self.request_bytes(document), self._headers
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            request = httpx2.Request("POST", self._url)
            if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
                raise openai.APITimeoutError(request=request) from exc
            raise openai.APIConnectionError(message=str(exc), request=request) from exc
        if not 200 <= reply.status < 300:
            response = httpx2.Response(
                reply.status,
                headers=list(reply.headers.items()),
                content=reply.body,
                request=httpx2.Request("POST", self._url),
            )
            raise self.client._make_status_error_from_response(response)
        try:
            return ChatCompletion.model_validate_json(reply.body)
        except ValidationError:
            # Servers that bend the schema (a missing field, a null where a
            # string belongs): read it as leniently as the SDK itself does.
            return _lenient_completion(reply.body, self._url)

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
        """Close the HTTP connection pools (on the loop they were opened on)."""
        super().close()
        aio.run_sync(self.transport.aclose())
        aio.run_sync(self.client.close())


def _static_headers(client: openai.AsyncOpenAI) -> dict[str, str] | None:
    """The headers the SDK sends with every request, when they do not change per request.

    None when the client's credentials are computed per request (a provider
    runtime, a workload identity): those calls keep the SDK's pipeline.
    """
    if getattr(client, "_provider_runtime", None) is not None:
        return None
    auth = client.auth_headers
    if not auth.get("Authorization"):
        return None
    headers = {k: v for k, v in client.default_headers.items() if isinstance(v, str)}
    headers.update(auth)
    headers["x-stainless-retry-count"] = "0"
    return headers


def _lenient_completion(body: bytes, url: str) -> ChatCompletion:
    """`body` read into a `ChatCompletion` without validation (the SDK's own reading)."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise openai.APIResponseValidationError(
            response=httpx2.Response(200, content=body, request=httpx2.Request("POST", url)),
            body=body.decode("utf-8", "replace"),
            message=f"the answer is not JSON: {exc}",
        ) from exc
    return cast(ChatCompletion, construct_type(type_=ChatCompletion, value=value))
