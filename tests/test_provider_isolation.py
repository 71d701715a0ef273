"""A throttled model does not hold the workers that other models' jobs need."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

from benchq.cases.generate import generate_suite
from tests.pipeline_helpers import cli
from tests.standin.server import StandinServer

REGISTRY = """
[models.slowai]
provider = "openai"
model_id = "slow-model"
requests_per_minute = 60
tokens_per_minute = 0
concurrency = 8
"""


def test_a_rate_limited_model_does_not_starve_the_baseline(clean_env: Path) -> None:
    suite = clean_env / "suite"
    generate_suite(20, 2, suite)
    (clean_env / "models.toml").write_text(REGISTRY)
    with StandinServer() as standin:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "OPENAI_"))}
        env.update(
            OPENAI_API_KEY="sk-test",
            OPENAI_BASE_URL=standin.openai_base_url,
            BENCHQ_REGISTRY_PATH=str(clean_env / "models.toml"),
            # One worker taking three jobs of two cases at a time. slowai may
            # start one call a second (after a burst of 6); a case that would
            # wait longer than 0.2 s is requeued. Without that, the worker's
            # jobs would all sit in slowai's limiter and the baseline's jobs
            # would only get through between.
            BENCHQ_WORKER_CONCURRENCY="2",
            BENCHQ_BATCH_SIZE="2",
            BENCHQ_LIMIT_DEFER_AFTER="0.2",
        )
        proc = subprocess.run(
            cli("run", "--suite", str(suite), "--models", "slowai,baseline", "--workers", "1"),
            capture_output=True, text=True, timeout=600, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr + proc.stdout
        assert standin.count() == 20  # every slowai case called exactly once

    with sqlite3.connect(clean_env / "benchq.db") as conn:
        finished = dict(conn.execute("SELECT model_name, finished_at FROM benchmark_run_models"))
        slow_done = sorted(
            json.loads(r[0])["finished_at"]
            for r in conn.execute(
                "SELECT result FROM benchmark_case_results WHERE model_name='slowai'"
            )
        )
        errors = conn.execute(
            "SELECT count(*) FROM benchmark_case_results WHERE error_message IS NOT NULL"
        ).fetchone()[0]
    assert errors == 0  # deferred jobs are requeued, never stored as failures
    assert len(slow_done) == 20
    # The baseline's cases were all in, aggregated and published while most
    # of slowai's calls were still waiting for their turn.
    assert finished["baseline"] < slow_done[10]
