"""Real SDK providers through the whole pipeline: `benchq run` against the stand-in APIs."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from benchq.cases.suite import load_suite
from tests.pipeline_helpers import cli
from tests.standin.server import Fault, StandinServer


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


def _env(standin: StandinServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "OPENAI_"))}
    env.update(
        OPENAI_API_KEY="sk-test-not-a-real-key",
        OPENAI_BASE_URL=standin.openai_base_url,
        BENCHQ_MEDGEMMA_BASE_URL=standin.openai_base_url,
        BENCHQ_PROVIDER_MAX_ATTEMPTS="2",
        BENCHQ_PROVIDER_RETRY_INITIAL_DELAY="0.05",
        **extra,
    )
    return env


def _results(db: Path) -> list[dict[str, object]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT result FROM benchmark_case_results").fetchall()
    return [json.loads(r[0]) for r in rows]


def test_provider_failures_are_stored_and_reruns_hit_the_cache(
    clean_env: Path, standin: StandinServer
) -> None:
    suite_dir = clean_env / "suite"
    generate_suite(24, 8, suite_dir)
    suite = load_suite(suite_dir)
    # Every document of one patient is refused by the "API" (400: no retry).
    needle = suite.cases[0].truth.expected_facts.patient_name
    failing = {c.id for c in suite.cases if needle in c.text}
    standin.state.rules.append((needle, Fault(status=400, message="bad request")))

    argv = cli("run", "--suite", str(suite_dir), "--models", "openai,medgemma", "--workers", "2")
    first = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=_env(standin))
    assert first.returncode == 0, first.stderr + first.stdout
    results = _results(clean_env / "benchq.db")
    assert len(results) == 48
    errors = {(r["model_name"], r["document_name"]) for r in results if r["error_message"]}
    assert errors == {(m, c) for m in ("openai", "medgemma") for c in failing}
    assert all("400" in str(r["error_message"]) for r in results if r["error_message"])
    ok = [r for r in results if not r["error_message"]]
    assert all(r["input_tokens"] == 1200 and r["output_tokens"] == 300 for r in ok)
    openai_ok = [r for r in ok if r["model_name"] == "openai"]
    # gpt-4o-mini in the default registry: $0.15 / $0.60 per million tokens.
    assert openai_ok[0]["cost_usd"] == pytest.approx(1200 * 0.15e-6 + 300 * 0.60e-6)

    agg = json.loads((clean_env / "benchmarks/results/aggregated_metrics_openai.json").read_text())
    assert agg["avg_input_tokens"] == 1200
    assert agg["avg_output_tokens"] == 300
    calls_after_first = standin.count()
    assert calls_after_first == 48  # 400s are not retried; nothing else failed
    # The workers closed their SDKs' connection pools when they stopped.
    logs = "".join(p.read_text() for p in (clean_env / "benchmarks/results/logs").rglob("*.log"))
    assert "case_done" in logs  # the logs are the workers' own
    assert "Unclosed" not in logs and "ERROR" not in logs

    # The same suite again: answers come from the cache, not the API; failures are retried.
    second = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=_env(standin))
    assert second.returncode == 0, second.stderr
    assert standin.count() == calls_after_first + 2 * len(failing)

    # --no-cache asks every model again.
    third = subprocess.run(
        [*argv, "--no-cache"], capture_output=True, text=True, timeout=300, env=_env(standin)
    )
    assert third.returncode == 0, third.stderr
    assert standin.count() == calls_after_first + 2 * len(failing) + 48


def test_a_model_without_its_key_is_refused_before_anything_is_enqueued(
    clean_env: Path, standin: StandinServer
) -> None:
    env = _env(standin)
    del env["OPENAI_API_KEY"]
    proc = subprocess.run(
        cli("run", "--models", "baseline,openai"), capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "OPENAI_API_KEY" in proc.stderr
    assert "sk-" not in proc.stderr
    assert not (clean_env / "benchq.db").exists()
    assert standin.count() == 0
