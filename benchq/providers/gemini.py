"""Gemini through the google-genai SDK, JSON output with a response schema (`gemini`).

google-genai's own retries are off (`HttpRetryOptions(attempts=1)`, which also
stops its implicit reconnect loop): benchq's `RetryPolicy` is the only one.

How a request travels (docs/performance.md, "Which path a request takes"):
the `genai.Client` is built from the settings as usual, and the SDK builds
the request once (`_lean_request`: URL, headers with the key, the body its
converters make from `GenerateContentConfig`, with a marker where the
document goes). Each call splices its document into that body and POSTs it
with `JsonTransport`; the answer is read into the SDK's
`GenerateContentResponse`, an error status into the SDK's `APIError`
classes. `client.aio.models.generate_content` cost seven times the CPU of
the bare POST. A client the lean path cannot serve (Vertex AI, no API key,
an SDK whose internals moved) keeps `generate_content`.
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
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

_RETRY_DELAY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)s$")

#: Stands for the document in the request the SDK builds once (`_lean_request`).
_MARK = "\x00benchq:document\x00"


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Timeout and connection errors the SDK lets through unwrapped.

    Its async client runs on aiohttp (errors: `aiohttp.ClientError`, and the
    built-in `TimeoutError` for a timeout); its sync client on httpx or httpx2.
    """
    found: list[type[BaseException]] = [aiohttp.ClientError, TimeoutError]
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found.append(module.TransportError)
    return tuple(found)


_TRANSPORT_ERRORS = _transport_errors()


def to_gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema -> the OpenAPI subset Gemini's `response_schema` takes.

    Gemini spells null as `nullable: true` instead of a type list, and knows no
    `additionalProperties`; `propertyOrdering` keeps fields in the prompt's order.
    """
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        out["type"] = non_null[0].upper()
        if "null" in kind:
            out["nullable"] = True
    elif isinstance(kind, str):
        out["type"] = kind.upper()
    if "properties" in schema:
        props = schema["properties"]
        out["properties"] = {k: to_gemini_schema(v) for k, v in props.items()}
        out["propertyOrdering"] = list(props)
        out["required"] = list(schema.get("required", []))
    if "items" in schema:
        out["items"] = to_gemini_schema(schema["items"])
    return out


GEMINI_SCHEMA = to_gemini_schema(ANSWER_JSON_SCHEMA)


def _retry_delay(details: Any) -> float | None:
    """Seconds from a google.rpc.RetryInfo in an error body ("retryDelay": "30s")."""
    if not isinstance(details, dict):
        return None
    error = details.get("error", details)
    items = error.get("details", []) if isinstance(error, dict) else []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("retryDelay"), str):
            match = _RETRY_DELAY.match(item["retryDelay"])
            if match:
                return float(match.group(1))
    return None


class GeminiProvider(LLMProvider):
    """A Gemini model through the Gemini Developer API (or a compatible base URL)."""

    kind = "gemini"

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
        # google-genai's aiohttp session has no connection limit of its own
        # (`TCPConnector(limit=0)`): a call never waits for its pool.
        self.connections = connections
        self.client = genai.Client(
            api_key=api_key.get_secret_value() if api_key else None,
            http_options=types.HttpOptions(
                base_url=base_url or spec.base_url,
                timeout=int(spec.timeout_s * 1000),  # milliseconds, in this SDK
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )
        self.config = types.GenerateContentConfig(
            system_instruction=prompt.text,
            response_mime_type="application/json",
            response_schema=GEMINI_SCHEMA,
            temperature=spec.temperature,
            max_output_tokens=spec.max_output_tokens,
            seed=spec.seed,
        )
        self.transport = JsonTransport(limit=connections, timeout=spec.timeout_s)
        self.lean = _lean_request(self.client, spec.model_id, self.config)

    async def _complete(self, document: str) -> Completion:
        try:
            if self.lean is None:
                # the async client runs on aiohttp when it is installed (benchq requires it)
                result = await self.client.aio.models.generate_content(
                    model=self.spec.model_id, contents=document, config=self.config
                )
            else:
                result = await self._generate(self.lean, document)
        except genai_errors.APIError as exc:
            raise self._wrap_api(exc) from exc
        except _TRANSPORT_ERRORS as exc:
            where = f"gemini model {self.spec.model_id!r}"
            reason = unreachable_reason(exc)
            if reason is not None:
                raise ProviderUnreachable(f"{where}: {reason}") from exc
            if "Timeout" in type(exc).__name__:
                raise ProviderRetryable(
                    f"{where}: no answer within {self.spec.timeout_s:g}s"
                ) from exc
            raise ProviderRetryable(f"{where}: connection failed: {self.redact(str(exc))}") from exc
        candidates = result.candidates or []
        parts = (
            candidates[0].content.parts if candidates and candidates[0].content else None
        ) or []
        # join text parts ourselves: `.text` warns on, and skips, non-text parts
        text = "".join(p.text for p in parts if p.text and not p.thought)
        usage = result.usage_metadata
        output: int | None = None
        if usage is not None and usage.candidates_token_count is not None:
            # thinking tokens are billed as output tokens
            output = usage.candidates_token_count + (usage.thoughts_token_count or 0)
        truncated = (
            bool(candidates) and candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
        )
        return Completion(
            text=text,
            input_tokens=usage.prompt_token_count if usage else None,
            output_tokens=output,
            truncated=truncated,
        )

    async def _generate(self, lean: LeanRequest, document: str) -> types.GenerateContentResponse:
        """One generateContent request on the lean path; the SDK's answer type or error."""
        data = lean.head + json.dumps(document)[1:-1].encode() + lean.tail
        reply = await self.transport.post(lean.url, data, lean.headers)
        if reply.status != 200:
            try:
                payload: Any = json.loads(reply.body)
            except ValueError:
                payload = {"message": reply.body.decode("utf-8", "replace"), "status": ""}
            response = httpx2.Response(
                reply.status,
                headers=list(reply.headers.items()),
                content=reply.body,
                request=httpx2.Request("POST", lean.url),
            )
            await genai_errors.APIError.raise_error_async(reply.status, payload, response)
        try:
            return types.GenerateContentResponse.model_validate_json(reply.body)
        except ValidationError:
            # Fields this SDK version does not know: read it as the SDK itself does.
            return types.GenerateContentResponse._from_response(
                response=json.loads(reply.body), kwargs={}
            )

    @staticmethod
    def warm_up() -> None:
        """Build and drop a google-genai client as `__init__` does, without a request.

        The first one a process builds imports a good part of the SDK and its
        transports: about 0.1 s, which a worker's first job would otherwise
        wait for. The zygote calls this before it forks (`import_provider_sdks`).
        """
        genai.Client(
            api_key="warm-up", http_options=types.HttpOptions(base_url="http://127.0.0.1:9")
        )

    def _wrap_api(self, exc: genai_errors.APIError) -> ProviderError:
        """Map a google-genai API error to benchq's: retryable, throttled, or rejected."""
        code = int(exc.code or 0)
        detail = self.redact(str(exc.message or exc.status or ""))
        message = f"gemini model {self.spec.model_id!r}: HTTP {code}: {detail}"
        headers = getattr(exc.response, "headers", None)
        retry_after = parse_retry_after(dict(headers) if headers else None)
        if retry_after is None:
            retry_after = _retry_delay(exc.details)
        if code == 429:
            return ProviderThrottled(message, retry_after=retry_after)
        if code >= 500 or code == 408:
            return ProviderRetryable(message, retry_after=retry_after)
        return ProviderRejected(message)

    def close(self) -> None:
        """Close the HTTP pools (the async ones on the loop they were opened on)."""
        super().close()
        aio.run_sync(self.transport.aclose())
        aio.run_sync(self.client.aio.aclose())
        self.client.close()


@dataclass(frozen=True)
class LeanRequest:
    """A generateContent request as the SDK builds it, cut around the document."""

    url: str
    headers: dict[str, str]
    head: bytes
    tail: bytes


def _lean_request(
    client: genai.Client, model: str, config: types.GenerateContentConfig
) -> LeanRequest | None:
    """The SDK's own request for `model` and `config`, ready for any document; None if not."""
    try:
        # Private to the SDK: the same converters and request builder its
        # `generate_content` runs, run once here. An SDK whose internals
        # moved falls back to `generate_content`, which still works.
        from google.genai import _common
        from google.genai import models as genai_models

        api = client._api_client
        if api.vertexai or not api.api_key:
            return None
        params = types._GenerateContentParameters(model=model, contents=_MARK, config=config)
        body = genai_models._GenerateContentParameters_to_mldev(api, params, None, params)
        url_parts = body.pop("_url", None)
        body.pop("config", None)
        body = _common.encode_unserializable_types(_common.convert_to_dict(body))
        path = "{model}:generateContent".format_map(url_parts) if url_parts else ""
        request = api._build_request("post", path or f"{model}:generateContent", body, None)
        text = json.dumps(request.data)
    except Exception:  # see above: the SDK's pipeline serves instead
        return None
    mark = json.dumps(_MARK)[1:-1]
    before, found, after = text.partition(mark)
    if not found or mark in after:
        return None
    headers = {k: v for k, v in request.headers.items() if isinstance(v, str)}
    return LeanRequest(request.url, headers, before.encode(), after.encode())
