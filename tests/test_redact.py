"""The key redactor: pieces of our keys and anything shaped like a provider key are masked.

Unit tests on `Redactor`, then the real SDKs against the stand-in server
echoing a mangled key in their error messages, then a whole `benchq run`
whose stored case errors and run error must not hold any piece of the key.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from standin import Fault, StandinServer

from benchq.cases.generate import generate_suite
from benchq.config.registry import ModelSpec
from benchq.errors import ProviderRejected, ProviderUnreachable
from benchq.providers.gemini import GeminiProvider
from benchq.providers.medgemma import MedGemmaProvider
from benchq.providers.openai_chat import OpenAIChatProvider
from benchq.providers.prompts import load_prompt
from benchq.providers.redact import MIN_RUN, Redactor
from benchq.providers.retry import RetryPolicy
from tests.pipeline_helpers import cli

OPENAI_KEY = "sk-proj-Q7vX2mLk9PzR4tYb8NcW1eHs6JdF3gUa0iOo5rTy"
GEMINI_KEY = "AIzaSyD4k9Xq2Lm7Vb1Nc8Zr5Tw3Yh6Jp0Gs-Qe"
#: A self-hosted server's key has no known shape: only the run rule can catch it.
PLAIN_KEY = "Zq81mT0vXc7RbLw2nY5kPd4H"


def leaks(text: str, secret: str) -> list[str]:
    """Every run of `MIN_RUN` characters of `secret` that is still in `text`."""
    return [
        secret[i : i + MIN_RUN]
        for i in range(len(secret) - MIN_RUN + 1)
        if secret[i : i + MIN_RUN] in text
    ]


# --- unit ----------------------------------------------------------------------------


def test_the_exact_key_is_masked() -> None:
    redact = Redactor([SecretStr(PLAIN_KEY)])
    assert redact(f"bad key {PLAIN_KEY}!") == "bad key ***!"


@pytest.mark.parametrize(
    "mangled",
    [
        PLAIN_KEY[:-2],  # minus the last two characters
        PLAIN_KEY[2:],  # minus the first two
        PLAIN_KEY[:9] + "..." + PLAIN_KEY[-9:],  # elided in the middle
        PLAIN_KEY[:10] + "****" + PLAIN_KEY[14:],  # starred in the middle
        PLAIN_KEY[3:11],  # any eight characters of it
    ],
)
def test_any_run_of_eight_characters_of_the_key_is_masked(mangled: str) -> None:
    redact = Redactor([SecretStr(PLAIN_KEY)])
    out = redact(f"Incorrect API key provided: {mangled}. Check it.")
    assert leaks(out, PLAIN_KEY) == [], out
    assert out.startswith("Incorrect API key provided: ") and out.endswith(". Check it.")


def test_short_runs_and_unrelated_text_are_left_alone() -> None:
    redact = Redactor([SecretStr(PLAIN_KEY)])
    text = f"HTTP 401 for model 'gpt-test': {PLAIN_KEY[: MIN_RUN - 1]} is not a key"
    assert redact(text) == text
    assert redact("") == ""


def test_a_key_shorter_than_the_run_is_masked_whole_only() -> None:
    redact = Redactor([SecretStr("k3y-42")])
    assert redact("key k3y-42 and k3y-4") == "key *** and k3y-4"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("key sk-proj-AbCdEfGhIjKlMnOpQrStUv0123 refused", "key *** refused"),
        ("key sk-AbCdEfGhIjKlMnOpQrSt refused", "key *** refused"),
        ("key sk-ant-api03-AbCdEfGhIjKlMnOpQrSt_x refused", "key *** refused"),
        ("key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "key=***"),
        ("hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345 expired", "*** expired"),
        ("Authorization: Bearer abc.def-ghi_jkl~123", "Authorization: Bearer ***"),
        ("authorization: bearer 0123456789abcdef", "authorization: bearer ***"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic ***"),
        (
            "apikey eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlLXNpZw ok",
            "apikey *** ok",
        ),
    ],
)
def test_strings_shaped_like_provider_keys_are_masked_even_if_not_ours(
    text: str, kept: str
) -> None:
    assert Redactor([])(text) == kept


def test_ordinary_error_text_is_not_mistaken_for_a_key() -> None:
    text = (
        "openai model 'gpt-4o-mini': HTTP 429: Rate limit reached for gpt-4o-mini in "
        "organization org-123 on requests per min (RPM): Limit 500. task-retried bearer"
    )
    assert Redactor([SecretStr(OPENAI_KEY)])(text) == text


def test_several_secrets_and_overlapping_matches_become_one_mask_each() -> None:
    redact = Redactor([SecretStr(PLAIN_KEY), None, SecretStr(""), OPENAI_KEY])
    out = redact(f"a {PLAIN_KEY[:-2]} b {OPENAI_KEY[:-2]} c")
    assert out == "a *** b *** c"


def test_exception_messages_are_masked_in_place() -> None:
    exc = ProviderRejected(f"HTTP 401: bad key {PLAIN_KEY[1:-1]}")
    assert Redactor([PLAIN_KEY]).exception(exc) is exc
    assert leaks(str(exc), PLAIN_KEY) == []
    assert isinstance(exc, ProviderRejected)


# --- through the real SDKs and the stand-in server -------------------------------------


@pytest.fixture
def server() -> Iterator[StandinServer]:
    with StandinServer() as s:
        yield s


def _spec(provider: str) -> ModelSpec:
    return ModelSpec(name=provider, provider=provider, model_id="m-test", timeout_s=10.0)


def _retry() -> RetryPolicy:
    async def no_sleep(_: float) -> None:
        return None

    return RetryPolicy(max_attempts=1, initial_delay=0.0, max_delay=0.0, sleep=no_sleep)


@pytest.mark.parametrize("status", [401, 500])
def test_an_openai_error_echoing_the_key_minus_two_characters_is_masked(
    server: StandinServer, status: int
) -> None:
    provider = OpenAIChatProvider(
        _spec("openai"),
        api_key=SecretStr(OPENAI_KEY),
        base_url=server.openai_base_url,
        prompt=load_prompt("v1"),
        retry=_retry(),
    )
    server.script(Fault(status=status, message=f"Incorrect API key provided: {OPENAI_KEY[:-2]}"))
    with pytest.raises(Exception) as info:
        provider.analyze("BILL")
    assert server.count() == 1
    assert f"HTTP {status}" in str(info.value)
    assert leaks(str(info.value), OPENAI_KEY) == [], str(info.value)


def test_a_gemini_error_echoing_a_mangled_key_is_masked(server: StandinServer) -> None:
    provider = GeminiProvider(
        _spec("gemini"),
        api_key=SecretStr(GEMINI_KEY),
        base_url=server.base_url,
        prompt=load_prompt("v1"),
        retry=_retry(),
    )
    server.script(Fault(status=403, message=f"API key {GEMINI_KEY[1:-1]} not valid"))
    with pytest.raises(ProviderRejected) as info:
        provider.analyze("BILL")
    assert "HTTP 403" in str(info.value)
    assert leaks(str(info.value), GEMINI_KEY) == [], str(info.value)


def test_a_self_hosted_servers_key_is_masked_by_its_runs_alone(server: StandinServer) -> None:
    provider = MedGemmaProvider(
        _spec("medgemma"),
        api_key=SecretStr(PLAIN_KEY),
        base_url=server.openai_base_url,
        prompt=load_prompt("v1"),
        retry=_retry(),
    )
    server.script(Fault(status=401, message=f"token {PLAIN_KEY[:-2]} unknown"))
    with pytest.raises(ProviderRejected) as info:
        provider.analyze("BILL")
    assert leaks(str(info.value), PLAIN_KEY) == [], str(info.value)


def test_an_unreachable_endpoint_whose_url_holds_the_key_is_masked() -> None:
    provider = OpenAIChatProvider(
        _spec("openai"),
        api_key=SecretStr(OPENAI_KEY),
        # A proxy that takes the key in its URL: nothing listens on port 9.
        base_url=f"http://127.0.0.1:9/{OPENAI_KEY[:-2]}/v1",
        prompt=load_prompt("v1"),
        retry=_retry(),
    )
    with pytest.raises(ProviderUnreachable) as info:
        provider.analyze("BILL")
    assert leaks(str(info.value), OPENAI_KEY) == [], str(info.value)


# --- a whole run: nothing of the key reaches the store ----------------------------------------


def test_a_run_stores_no_piece_of_a_key_the_provider_echoed(clean_env: Path) -> None:
    suite = clean_env / "suite"
    generate_suite(3, 5, suite)
    with StandinServer() as standin:
        standin.state.default = Fault(
            status=401, message=f"Incorrect API key provided: {OPENAI_KEY[:-2]}"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "OPENAI_"))}
        env.update(OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=standin.openai_base_url)
        proc = subprocess.run(
            cli("run", "--suite", str(suite), "--models", "openai", "--workers", "1"),
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert standin.count() == 3
    # every case failed on the 401, so the model's run fails: exit 1
    assert proc.returncode == 1, proc.stderr + proc.stdout
    assert leaks(proc.stdout + proc.stderr, OPENAI_KEY) == []
    with sqlite3.connect(clean_env / "benchq.db") as conn:
        errors = [r[0] for r in conn.execute("SELECT error_message FROM benchmark_case_results")]
        stored = [
            json.dumps(r)
            for r in conn.execute(
                "SELECT r.record, m.error, m.aggregated FROM benchmark_runs r "
                "JOIN benchmark_run_models m USING (run_id)"
            )
        ]
    assert len(errors) == 3 and all("HTTP 401" in e for e in errors), errors
    for text in [*errors, *stored]:
        assert leaks(text, OPENAI_KEY) == [], text
