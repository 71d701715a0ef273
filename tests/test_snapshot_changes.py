"""`benchq snapshots changes`: where a configuration's level shifted, over its history."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from benchq.scoring.schema import MonitoringMetrics, MonitoringRecord
from benchq.store.schema import PushMetadata
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import cli

META = PushMetadata(environment="local", commit_sha="abc1234")


def _publish(store: SQLiteStore, f1: float, latency: float) -> None:
    store.publish(
        MonitoringRecord(
            model_version="m-x",
            model_provider="openai",
            dataset_version="d",
            dataset_size=10,
            metrics=MonitoringMetrics(
                precision=f1, recall=f1, f1=f1, latency_ms=latency, analysis_cost=0.001
            ),
            duration_seconds=1.0,
            error_count=0,
            success_count=10,
            timestamp="2026-11-27T00:00:00Z",
        ),
        META,
    )


def test_a_drop_in_f1_is_found_at_the_version_it_happened(clean_env: Path) -> None:
    store = SQLiteStore(clean_env / "benchq.db")
    # eight snapshots near 0.80, then eight near 0.62; latency does not move
    for i in range(16):
        wiggle = (i % 3 - 1) * 0.005
        _publish(store, (0.80 if i < 8 else 0.62) + wiggle, 900.0 + (i % 2) * 5)
    proc = subprocess.run(
        cli("snapshots", "changes", "--model-version", "m-x", "--dataset-version", "d", "--json"),
        capture_output=True, text=True, timeout=120, env=os.environ,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["snapshots"] == 16
    (change,) = found["changes"]["f1"]
    assert (change["previous_version"], change["version"]) == (8, 9)
    assert abs(change["before"] - 0.80) < 0.01 and abs(change["after"] - 0.62) < 0.01
    assert change["p_value"] <= 0.01
    assert found["changes"]["latency"] == []
    table = subprocess.run(
        cli("snapshots", "changes", "--model-version", "m-x", "--dataset-version", "d",
            "--metric", "f1"),
        capture_output=True, text=True, timeout=120, env=os.environ,
    )  # fmt: skip
    assert "v8 -> v9" in table.stdout
