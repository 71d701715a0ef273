"""The Gemini provider, through the real google-genai SDK, against the stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.genai import errors as genai_errors
from pydantic import SecretStr
from standin import Fault, StandinServer

from benchq.config.registry import ModelSpec
from benchq.errors import ProviderRejected, ProviderRetryable
from benchq.providers.gemini import GeminiProvider
from benchq.providers.prompts import load_prompt
from benchq.providers.retry import ProviderThrottled, RetryPolicy
from tests.provider_helpers import closed_after_test

KEY = "AIza-test-secret-0123456789"


@pytest.fixture
def server() -> Iterator[StandinServer]:
    with StandinServer() as s:
        yield s


class Waits(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _provider(
    server: StandinServer, waits: Waits | None = None, *, attempts: int = 4, timeout: float = 10.0
) -> GeminiProvider:
    spec = ModelSpec(
        name="gemini",
        provider="gemini",
        model_id="gemini-test",
        price_input_per_mtok=0.3,
        price_output_per_mtok=2.5,
        timeout_s=timeout,
    )
    return closed_after_test(
        GeminiProvider(
            spec,
            api_key=SecretStr(KEY),
            base_url=server.base_url,
            prompt=load_prompt("v1"),
            retry=RetryPolicy(
                max_attempts=attempts,
                initial_delay=0.01,
                max_delay=0.05,
                sleep=waits if waits is not None else Waits(),
            ),
        )
    )


def test_answer_records_tokens_cost_and_issues(server: StandinServer) -> None:
    server.state.thoughts_tokens = 100

    answer = _provider(server).analyze("BILL: 99213 x2")

    assert answer.json_valid and [i.type for i in answer.issues] == ["duplicate_charge"]
    # thinking tokens are billed as output
    assert (answer.input_tokens, answer.output_tokens) == (1200, 400)
    assert answer.cost_usd == pytest.approx(1200 / 1e6 * 0.3 + 400 / 1e6 * 2.5)
    assert answer.attempts == 1 and answer.latency_ms > 0


def test_request_carries_schema_system_prompt_and_key(server: StandinServer) -> None:
    _provider(server).analyze("THE DOCUMENT")

    (call,) = server.calls
    assert call.path.endswith("/models/gemini-test:generateContent")
    assert call.headers["x-goog-api-key"] == KEY
    config = call.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    assert schema["type"] == "OBJECT" and schema["required"] == ["issues", "facts"]
    assert schema["properties"]["issues"]["items"]["properties"]["code"]["nullable"] is True
    assert config["maxOutputTokens"] == 4096 and config["temperature"] == 0.0
    assert call.body["systemInstruction"]["parts"][0]["text"] == load_prompt("v1").text
    assert call.body["contents"][0]["parts"][0]["text"] == "THE DOCUMENT"


def test_429_honours_retry_after(server: StandinServer) -> None:
    waits = Waits()
    server.script(Fault(status=429, retry_after=5))

    answer = _provider(server, waits).analyze("doc")

    assert answer.json_valid and answer.attempts == 2 and server.count() == 2
    assert len(waits) == 1 and waits[0] >= 5.0


def test_500_is_retried_then_fails_with_its_cause(server: StandinServer) -> None:
    server.script(*[Fault(status=500)] * 5)

    with pytest.raises(ProviderRetryable) as info:
        _provider(server, attempts=3).analyze("doc")

    assert server.count() == 3 and not isinstance(info.value, ProviderThrottled)
    assert isinstance(info.value.__cause__, genai_errors.ServerError)


@pytest.mark.parametrize("status", [400, 401, 403])
def test_client_errors_fail_at_once(server: StandinServer, status: int) -> None:
    server.script(Fault(status=status, message=f"API key not valid: {KEY}"))

    with pytest.raises(ProviderRejected) as info:
        _provider(server).analyze("doc")

    assert server.count() == 1 and KEY not in str(info.value)


def test_slow_answer_times_out_and_is_retried(server: StandinServer) -> None:
    server.script(Fault(delay=3.0), Fault(delay=3.0))

    with pytest.raises(ProviderRetryable, match="no answer within"):
        _provider(server, attempts=2, timeout=0.3).analyze("doc")

    assert server.count() == 2


def test_truncated_answer_is_invalid_not_a_crash(server: StandinServer) -> None:
    server.script(Fault(truncated=True))

    answer = _provider(server).analyze("doc")

    assert not answer.json_valid and "truncated" in (answer.parse_error or "")
    assert answer.total_tokens == 1500


def test_invalid_json_is_marked(server: StandinServer) -> None:
    server.script(Fault(text="{'issues': [}"))

    answer = _provider(server).analyze("doc")

    assert not answer.json_valid and answer.raw_output == "{'issues': [}"
