"""The lean request path sends what the SDK would send, and reads answers and errors the same.

Each provider calls the stand-in twice for the same document: once on its
lean path (`JsonTransport`), once through the SDK's own pipeline; the server
must receive the same request both times, and both must come back as the
same answer or the same benchq error.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from standin import Fault, StandinServer

from benchq.config.registry import ModelSpec
from benchq.errors import ProviderError, ProviderRejected
from benchq.providers.base import ModelAnswer
from benchq.providers.gemini import GeminiProvider
from benchq.providers.openai_chat import OpenAIChatProvider
from benchq.providers.prompts import load_prompt
from benchq.providers.retry import ProviderThrottled, RetryPolicy

KEY = "sk-paths-test-0123456789"
DOC = 'BILL "Jane" \u00e9 99213 x2\n\ttotal $150.00 \\ end'


@pytest.fixture
def server() -> Iterator[StandinServer]:
    with StandinServer() as s:
        yield s


async def _no_wait(_: float) -> None:
    return None


def _openai(server: StandinServer) -> OpenAIChatProvider:
    spec = ModelSpec(name="openai", provider="openai", model_id="gpt-test", seed=7)
    return OpenAIChatProvider(
        spec,
        api_key=SecretStr(KEY),
        base_url=server.openai_base_url,
        prompt=load_prompt("v1"),
        retry=RetryPolicy(max_attempts=1, sleep=_no_wait),
    )


def _gemini(server: StandinServer) -> GeminiProvider:
    spec = ModelSpec(name="gemini", provider="gemini", model_id="gemini-test", seed=7)
    return GeminiProvider(
        spec,
        api_key=SecretStr(KEY),
        base_url=server.base_url,
        prompt=load_prompt("v1"),
        retry=RetryPolicy(max_attempts=1, sleep=_no_wait),
    )


def _both(provider: OpenAIChatProvider | GeminiProvider) -> tuple[ModelAnswer, ModelAnswer]:
    """The answer on the lean path, then through the SDK's pipeline."""
    lean = provider.analyze(DOC)
    if isinstance(provider, OpenAIChatProvider):
        provider._headers = None  # credentials "computed per request": the SDK's `post`
    else:
        provider.lean = None
    return lean, provider.analyze(DOC)


@pytest.mark.parametrize("make", [_openai, _gemini], ids=["openai", "gemini"])
def test_the_lean_path_sends_the_sdks_request(server: StandinServer, make: object) -> None:
    provider = make(server)  # type: ignore[operator]
    lean, sdk = _both(provider)

    first, second = server.calls
    assert first.path == second.path
    assert first.body == second.body
    for name in ("authorization", "x-goog-api-key", "content-type", "user-agent"):
        assert first.headers.get(name) == second.headers.get(name)
    assert KEY in (first.headers.get("authorization", "") + first.headers.get("x-goog-api-key", ""))
    assert lean.model_dump(exclude={"latency_ms"}) == sdk.model_dump(exclude={"latency_ms"})
    assert lean.issues and lean.json_valid
    provider.close()


@pytest.mark.parametrize("make", [_openai, _gemini], ids=["openai", "gemini"])
@pytest.mark.parametrize(
    ("status", "error"), [(429, ProviderThrottled), (400, ProviderRejected)], ids=["429", "400"]
)
def test_the_lean_path_raises_the_sdks_errors(
    server: StandinServer, make: object, status: int, error: type[ProviderError]
) -> None:
    server.script(Fault(status=status, retry_after=3, message="nope"))
    server.script(Fault(status=status, retry_after=3, message="nope"))
    provider = make(server)  # type: ignore[operator]
    with pytest.raises(error) as on_lean:
        provider.analyze(DOC)
    if isinstance(provider, OpenAIChatProvider):
        provider._headers = None
    else:
        provider.lean = None
    with pytest.raises(error) as on_sdk:
        provider.analyze(DOC)

    assert str(on_lean.value) == str(on_sdk.value)
    assert f"HTTP {status}" in str(on_lean.value) and "nope" in str(on_lean.value)
    assert getattr(on_lean.value, "retry_after", None) == getattr(on_sdk.value, "retry_after", None)
    provider.close()
