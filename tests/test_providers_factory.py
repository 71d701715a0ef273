"""Building providers from the registry and settings; refusing missing credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio
from standin import StandinServer
from standin.redis_proc import private_redis

from benchq.config.registry import load_registry
from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.providers.cache import CachingProvider
from benchq.providers.factory import check_credentials, make_provider
from benchq.providers.gemini import GeminiProvider
from benchq.providers.medgemma import MedGemmaProvider
from benchq.providers.openai_chat import OpenAIChatProvider
from benchq.providers.ratelimit import FleetLimiter
from tests.memory_cache import MemoryCache

CREDENTIAL_VARS = [
    "OPENAI_API_KEY",
    "BENCHQ_OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "BENCHQ_OPENAI_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "BENCHQ_GEMINI_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "BENCHQ_GEMINI_BASE_URL",
    "BENCHQ_MEDGEMMA_BASE_URL",
    "BENCHQ_MEDGEMMA_API_KEY",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[StandinServer]:
    with StandinServer() as s:
        yield s


def _settings() -> Settings:
    return Settings(_env_file=None)


def test_missing_keys_are_refused_naming_model_and_variable() -> None:
    specs = load_registry(environ={}).select("baseline,openai,gemini,medgemma")

    with pytest.raises(ConfigError) as info:
        check_credentials(specs, _settings())

    message = str(info.value)
    assert "model 'openai' (openai) needs an API key: set OPENAI_API_KEY" in message
    assert (
        "model 'gemini' (gemini) needs an API key: set GEMINI_API_KEY or GOOGLE_API_KEY" in message
    )
    # medgemma has no default endpoint: a run must not knock on localhost:8000 by chance
    assert (
        "model 'medgemma' (medgemma) needs its server's URL: set BENCHQ_MEDGEMMA_BASE_URL"
        in message
    )
    assert "baseline" not in message


def test_sdk_variables_and_benchq_variables_both_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-secret")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-secret")
    settings = _settings()
    check_credentials(load_registry(environ={}).select("openai,gemini"), settings)

    monkeypatch.setenv("BENCHQ_GEMINI_API_KEY", "benchq-secret")
    settings = _settings()
    assert settings.gemini_api_key is not None
    assert settings.gemini_api_key.get_secret_value() == "benchq-secret"
    # secrets never show in a repr, a dump or a log line of the settings
    shown = repr(settings) + settings.model_dump_json()
    for value in ("sk-openai-secret", "google-secret", "benchq-secret"):
        assert value not in shown


def test_medgemma_without_a_server_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = load_registry(environ={"BENCHQ_MODEL__MEDGEMMA__BASE_URL": ""})
    with pytest.raises(ConfigError, match="BENCHQ_MEDGEMMA_BASE_URL"):
        check_credentials([registry.get("medgemma")], _settings())


def test_make_provider_builds_each_kind(
    monkeypatch: pytest.MonkeyPatch, server: StandinServer
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k1")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    monkeypatch.setenv("GEMINI_API_KEY", "k2")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
    monkeypatch.setenv("BENCHQ_MEDGEMMA_BASE_URL", server.openai_base_url)
    settings = _settings()
    registry = load_registry(environ={})

    built = {n: make_provider(registry.get(n), settings) for n in ("openai", "gemini", "medgemma")}

    assert isinstance(built["openai"], OpenAIChatProvider)
    assert isinstance(built["gemini"], GeminiProvider)
    assert isinstance(built["medgemma"], MedGemmaProvider)
    for provider in built.values():
        assert provider.analyze("doc").json_valid
    assert server.count("openai") == 2 and server.count("gemini") == 1


def test_make_provider_refuses_a_model_without_key() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_provider(load_registry(environ={}).get("openai"), _settings())


def test_make_provider_adds_limits_and_cache(
    monkeypatch: pytest.MonkeyPatch, server: StandinServer, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k1")
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    spec = load_registry(environ={}).get("openai")
    with private_redis(tmp_path) as rds:
        shared = redis.asyncio.Redis(unix_socket_path=rds.connection_pool.connection_kwargs["path"])
        provider = make_provider(spec, _settings(), async_redis=shared, cache=MemoryCache())
        assert isinstance(provider, CachingProvider)
        inner = provider.inner
        assert isinstance(inner, OpenAIChatProvider) and isinstance(inner.limiter, FleetLimiter)
        assert inner.limiter.rpm == spec.requests_per_minute

        provider.analyze("doc")
        assert provider.analyze("doc").cached and server.count() == 1

    monkeypatch.setenv("BENCHQ_RESPONSE_CACHE", "false")
    plain = make_provider(spec, _settings(), cache=MemoryCache())
    assert isinstance(plain, OpenAIChatProvider)


def test_baseline_needs_no_credentials() -> None:
    from benchq.providers.baseline import BaselineProvider

    spec = load_registry(environ={}).get("baseline")
    check_credentials([spec], _settings())
    assert isinstance(make_provider(spec, _settings()), BaselineProvider)


def test_a_process_that_imported_the_sdks_builds_its_providers_without_importing_more() -> None:
    # What a worker's first job would otherwise import (the SDKs' transport
    # stacks) is imported, and its CA certificates read, before the fork.
    # In a process of its own: this one has built clients already.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pydantic import SecretStr\n"
        "from benchq.config.registry import load_registry\n"
        "from benchq.config.settings import Settings\n"
        "from benchq.providers.factory import import_provider_sdks, make_provider\n"
        "from benchq.jobs.names import provider_queue\n"
        "import_provider_sdks([provider_queue(k) for k in ('openai', 'gemini', 'medgemma')])\n"
        "before = set(sys.modules)\n"
        "settings = Settings(_env_file=None, openai_api_key=SecretStr('k'), "
        "gemini_api_key=SecretStr('k'), medgemma_base_url='http://127.0.0.1:9/v1')\n"
        "registry = load_registry(environ={})\n"
        "for name in ('openai', 'gemini', 'medgemma'):\n"
        "    make_provider(registry.get(name), settings)\n"
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
        "('httpcore2', 'h2', 'h11', 'truststore', 'openai', 'google', 'anyio')))\n"
        "from openai.types.chat import ChatCompletion\n"
        "print(type(ChatCompletion.__pydantic_validator__).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # no module left to import, and the answers' type ready to validate
    assert out.stdout.split("\n")[:2] == ["[]", "SchemaValidator"], out.stdout
