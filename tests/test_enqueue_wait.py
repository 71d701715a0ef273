"""`benchq enqueue --wait` as a CI job uses it: exit 0 when fine, 3 on a regression."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from tests.pipeline_helpers import cli, settings_for, workers
from tests.standin.server import StandinServer


def test_enqueue_wait_gates_on_regressions(
    clean_env: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = clean_env / "suite"
    generate_suite(12, 4, suite)
    # Every bill has the duplicate charge the stand-in always reports, so the
    # first run finds all twelve and the second, finding nothing, misses all
    # twelve: a drop the paired test cannot take for chance (p = 2^-12).
    for path in (suite / "expected_outputs").glob("*.json"):
        truth = json.loads(path.read_text())
        truth["expected_issues"] = [
            {"type": "duplicate_charge", "description": "x", "should_detect": True}
        ]
        path.write_text(json.dumps(truth))
    with StandinServer() as standin:
        env = {
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": standin.openai_base_url,
            "BENCHQ_BROKER_URL": redis_url,
            "BENCHQ_STORE_URL": f"sqlite:///{clean_env / 'benchq.db'}",
            "BENCHQ_COMMIT_SHA": "abc1234",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        pool = workers(settings_for(clean_env, redis_url), 1)
        pool.start()
        try:
            argv = cli("enqueue", "--suite", str(suite), "--models", "openai", "--wait",
                       "--timeout", "180")  # fmt: skip
            first = subprocess.run(argv, capture_output=True, text=True, timeout=240)
            assert first.returncode == 0, first.stderr
            run_id = first.stdout.strip().splitlines()[0]
            assert run_id

            baseline = subprocess.run(
                cli("snapshots", "baseline", "--model-version", "openai-gpt-4o-mini", "1"),
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert baseline.returncode == 0, baseline.stderr

            # The model now finds nothing: recall and F1 fall to 0 against the baseline.
            standin.state.answer_text = json.dumps({"issues": [], "facts": {}})
            # --no-cache: the unchanged suite would otherwise be answered from the cache.
            second = subprocess.run(
                [*argv, "--no-cache"], capture_output=True, text=True, timeout=240
            )
            assert second.returncode == 3, second.stderr
            assert "regression" in second.stderr.lower()

            listing = subprocess.run(
                cli("snapshots", "--json"), capture_output=True, text=True, timeout=60
            )
            snaps = json.loads(listing.stdout)
            assert sorted(s["snapshot_version"] for s in snaps) == [1, 2]
            assert {s["commit_sha"] for s in snaps} == {"abc1234"}
            current = next(s for s in snaps if s["is_current"])
            assert current["snapshot_version"] == 2
        finally:
            pool.stop()
