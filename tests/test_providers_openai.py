"""The OpenAI and MedGemma providers, through the real openai SDK, against the stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from pydantic import SecretStr
from standin import Fault, StandinServer

from benchq.config.registry import ModelSpec
from benchq.errors import ProviderRejected, ProviderRetryable
from benchq.providers.medgemma import MedGemmaProvider
from benchq.providers.openai_chat import OpenAIChatProvider
from benchq.providers.prompts import load_prompt
from benchq.providers.retry import ProviderThrottled, RetryPolicy
from tests.provider_helpers import closed_after_test

KEY = "sk-test-secret-0123456789"


@pytest.fixture
def server() -> Iterator[StandinServer]:
    with StandinServer() as s:
        yield s


class Waits(list[float]):
    """Records the retry waits instead of sleeping them."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


def _provider(
    server: StandinServer, waits: Waits, *, attempts: int = 4, timeout: float = 10.0
) -> OpenAIChatProvider:
    spec = ModelSpec(
        name="openai",
        provider="openai",
        model_id="gpt-test",
        price_input_per_mtok=2.0,
        price_output_per_mtok=8.0,
        timeout_s=timeout,
    )
    return closed_after_test(
        OpenAIChatProvider(
            spec,
            api_key=SecretStr(KEY),
            base_url=server.openai_base_url,
            prompt=load_prompt("v1"),
            retry=RetryPolicy(
                max_attempts=attempts, initial_delay=0.01, max_delay=0.05, sleep=waits
            ),
        )
    )


def test_answer_records_tokens_cost_and_parsed_issues(server: StandinServer, waits: Waits) -> None:
    answer = _provider(server, waits).analyze("BILL: 99213 x2")

    assert answer.json_valid and answer.parse_error is None
    assert [i.type for i in answer.issues] == ["duplicate_charge"]
    assert answer.facts.patient_name == "Jane Doe"
    assert (answer.input_tokens, answer.output_tokens, answer.total_tokens) == (1200, 300, 1500)
    assert answer.cost_usd == pytest.approx(1200 / 1e6 * 2.0 + 300 / 1e6 * 8.0)
    assert answer.latency_ms > 0 and answer.attempts == 1 and not answer.cached
    assert json.loads(answer.raw_output)["issues"][0]["code"] == "99213"


def test_request_asks_for_strict_json_schema_with_prompt_file(
    server: StandinServer, waits: Waits
) -> None:
    _provider(server, waits).analyze("THE DOCUMENT")

    (call,) = server.calls
    assert call.headers["authorization"] == f"Bearer {KEY}"
    body = call.body
    assert body["model"] == "gpt-test"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["messages"][0] == {"role": "system", "content": load_prompt("v1").text}
    assert body["messages"][1] == {"role": "user", "content": "THE DOCUMENT"}
    assert body["max_completion_tokens"] == 4096 and body["temperature"] == 0.0


def test_429_is_retried_after_the_retry_after_header(server: StandinServer, waits: Waits) -> None:
    server.script(Fault(status=429, retry_after=7))

    answer = _provider(server, waits).analyze("doc")

    assert answer.json_valid and answer.attempts == 2
    assert server.count() == 2
    assert len(waits) == 1 and waits[0] >= 7.0  # the server's wish beats our short backoff


def test_500s_are_retried_with_growing_backoff(server: StandinServer, waits: Waits) -> None:
    server.script(Fault(status=500), Fault(status=503), Fault(status=502))

    answer = _provider(server, waits).analyze("doc")

    assert answer.attempts == 4 and server.count() == 4
    assert len(waits) == 3 and all(0 < w <= 0.05 for w in waits)


def test_attempts_are_bounded_and_the_cause_is_kept(server: StandinServer, waits: Waits) -> None:
    server.script(*[Fault(status=429)] * 10)

    with pytest.raises(ProviderThrottled) as info:
        _provider(server, waits, attempts=3).analyze("doc")

    assert server.count() == 3
    assert "HTTP 429" in str(info.value)
    assert isinstance(info.value.__cause__, openai.RateLimitError)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_fail_at_once(server: StandinServer, waits: Waits, status: int) -> None:
    server.script(Fault(status=status, message=f"bad key {KEY}"))

    with pytest.raises(ProviderRejected) as info:
        _provider(server, waits).analyze("doc")

    assert server.count() == 1 and waits == []
    assert KEY not in str(info.value)  # a key echoed by the server is redacted
    assert f"HTTP {status}" in str(info.value)


def test_slow_answer_times_out_and_is_retried(server: StandinServer, waits: Waits) -> None:
    server.script(Fault(delay=3.0), Fault(delay=3.0))

    with pytest.raises(ProviderRetryable, match=r"no answer within 0\.3s"):
        _provider(server, waits, attempts=2, timeout=0.3).analyze("doc")

    assert server.count() == 2


def test_slow_answer_within_timeout_succeeds(server: StandinServer, waits: Waits) -> None:
    server.script(Fault(delay=0.3))

    answer = _provider(server, waits).analyze("doc")

    assert answer.json_valid and answer.latency_ms >= 300


def test_truncated_answer_is_invalid_json_not_a_crash(server: StandinServer, waits: Waits) -> None:
    server.script(Fault(truncated=True))

    answer = _provider(server, waits).analyze("doc")

    assert not answer.json_valid and answer.issues == []
    assert "truncated" in (answer.parse_error or "")
    assert answer.input_tokens == 1200  # usage is still recorded
    assert answer.raw_output and answer.cost_usd > 0


@pytest.mark.parametrize("text", ["not json at all", '{"issues": "none"}', "[1, 2", ""])
def test_invalid_answers_are_marked(server: StandinServer, waits: Waits, text: str) -> None:
    server.script(Fault(text=text))

    answer = _provider(server, waits).analyze("doc")

    assert not answer.json_valid and answer.parse_error
    assert answer.raw_output == text


def test_fenced_json_is_accepted(server: StandinServer, waits: Waits) -> None:
    server.script(Fault(text="```json\n" + server.state.answer_text + "\n```"))

    assert _provider(server, waits).analyze("doc").json_valid


def test_missing_usage_gives_none_tokens_not_zero(server: StandinServer, waits: Waits) -> None:
    server.script(Fault(usage=False))

    answer = _provider(server, waits).analyze("doc")

    assert answer.input_tokens is None and answer.total_tokens is None
    assert answer.cost_usd == 0.0


def test_medgemma_speaks_to_an_openai_compatible_server(server: StandinServer) -> None:
    spec = ModelSpec(name="medgemma", provider="medgemma", model_id="google/medgemma-4b-it")
    provider = MedGemmaProvider(
        spec, api_key=None, base_url=server.openai_base_url, prompt=load_prompt("v1")
    )

    answer = provider.analyze("THE DOCUMENT")

    assert answer.json_valid and answer.total_tokens == 1500 and answer.cost_usd == 0.0
    (call,) = server.calls
    assert call.body["model"] == "google/medgemma-4b-it"
    assert "max_tokens" in call.body and "max_completion_tokens" not in call.body
    assert [m["role"] for m in call.body["messages"]] == ["user"]
    assert call.body["messages"][0]["content"].endswith("THE DOCUMENT")
    provider.close()
