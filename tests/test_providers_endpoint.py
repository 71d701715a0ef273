"""Nothing at the endpoint: both SDKs' refusals are named for what they are, and fail fast."""

from __future__ import annotations

import socket

import pytest
from pydantic import SecretStr

from benchq.config.registry import ModelSpec
from benchq.errors import ProviderUnreachable
from benchq.providers.endpoint import EndpointCircuit, unreachable_reason
from benchq.providers.gemini import GeminiProvider
from benchq.providers.llm import LLMProvider
from benchq.providers.openai_chat import OpenAIChatProvider
from benchq.providers.prompts import load_prompt
from benchq.providers.retry import RetryPolicy


class Waits(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _provider(kind: str, base_url: str, waits: Waits) -> LLMProvider:
    spec = ModelSpec(name=kind, provider=kind, model_id=f"{kind}-test", timeout_s=30)  # type: ignore[arg-type]
    retry = RetryPolicy(max_attempts=5, initial_delay=5.0, sleep=waits)
    if kind == "gemini":
        return GeminiProvider(
            spec, api_key=SecretStr("k"), base_url=base_url, prompt=load_prompt("v1"), retry=retry
        )
    return OpenAIChatProvider(
        spec, api_key=SecretStr("k"), base_url=base_url + "/v1", prompt=load_prompt("v1"),
        retry=retry,
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["openai", "gemini"])
def test_a_refused_connection_is_unreachable_not_a_timeout(kind: str) -> None:
    waits = Waits()
    provider = _provider(kind, _closed_url(), waits)
    try:
        with pytest.raises(ProviderUnreachable, match="connection refused") as first:
            provider.analyze("BILL")
        assert "timed out" not in str(first.value).lower()
        # one quick retry, not the policy's five attempts with 5 s backoff
        assert waits == [0.5]
        # the circuit is open: the next call fails at once, trying nothing
        with pytest.raises(ProviderUnreachable, match="refused moments ago"):
            provider.analyze("BILL")
        assert waits == [0.5]
    finally:
        provider.close()


def test_the_reason_is_read_off_the_exception_chain() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as inner:
            raise TimeoutError("Request timed out.") from inner
    except TimeoutError as outer:
        assert unreachable_reason(outer) == "connection refused (Connection refused)"
    try:
        raise socket.gaierror(-2, "Name or service not known")
    except OSError as exc:
        assert unreachable_reason(exc) == "no such host (Name or service not known)"
    assert unreachable_reason(TimeoutError("slow")) is None


def test_the_circuit_opens_for_its_cooldown_then_lets_one_call_through() -> None:
    now = [100.0]
    circuit = EndpointCircuit(cooldown=10.0, clock=lambda: now[0])
    circuit.check()
    circuit.trip("connection refused")
    with pytest.raises(ProviderUnreachable, match="connection refused"):
        circuit.check()
    now[0] = 110.5
    circuit.check()  # cooled down: a call may try again
    circuit.trip("connection refused")
    circuit.reset()
    circuit.check()
