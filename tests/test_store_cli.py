"""`benchq snapshots` subcommands as a user meets them: exit codes and what they say.

A missing snapshot version or model version is bad input: exit 2, one line
naming the versions (or model versions) that do exist, nothing changed.
`snapshots check` judges by the original's rule unless told otherwise, names
its rule, and exits 3 on a regression.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchq.scoring.schema import MonitoringRecord
from benchq.store.schema import PushMetadata
from benchq.store.sqlite import SQLiteStore

CONFIG = ["--model-version", "openai-v1.0"]


def _publish(store: SQLiteStore, model: str, f1: float, environment: str = "local") -> None:
    record = MonitoringRecord(model_version=model, metrics={"f1": f1, "precision": 0.9})
    store.publish(record, PushMetadata(environment=environment, commit_sha="abc"))  # type: ignore[arg-type]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder whose benchq.db holds openai-v1.0 v1-v3 (local), v1 (staging), gemini v1."""
    store = SQLiteStore(tmp_path / "benchq.db")
    for f1 in (0.400, 0.351, 0.349):
        _publish(store, "openai-v1.0", f1)
    _publish(store, "openai-v1.0", 0.5, "staging")
    _publish(store, "gemini-v1.0", 0.6)
    store.close()
    return tmp_path


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "SUPABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "benchq.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


def _state(cwd: Path) -> list[tuple[str, str, int, bool, bool]]:
    rows = json.loads(_cli(cwd, "snapshots", "--json").stdout)
    return sorted(
        (r["model_version"], r["environment"], r["snapshot_version"], r["is_current"],
         r["is_baseline"])
        for r in rows
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["checkout", *CONFIG, "7"], "no snapshot version 7 of openai-v1.0"),
        (["baseline", *CONFIG, "4"], "no snapshot version 4 of openai-v1.0"),
        (["compare", *CONFIG, "1", "9"], "no snapshot version 9 of openai-v1.0"),
        (["compare", *CONFIG, "8", "9"], "no snapshot version 8, 9 of openai-v1.0"),
    ],
)
def test_a_missing_version_exits_2_naming_the_versions_that_exist(
    workdir: Path, args: list[str], says: str
) -> None:
    before = _state(workdir)
    proc = _cli(workdir, "snapshots", *args)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr and "versions that exist: 1-3" in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert _state(workdir) == before


def test_a_missing_model_version_exits_2_naming_the_model_versions(workdir: Path) -> None:
    proc = _cli(workdir, "snapshots", "checkout", "--model-version", "opnai-v1.0", "1")
    assert proc.returncode == 2
    assert "model versions that exist: gemini-v1.0, openai-v1.0" in proc.stderr
    check = _cli(workdir, "snapshots", "check", "--model-version", "opnai-v1.0")
    assert check.returncode == 2 and "model versions that exist: gemini" in check.stderr
    elsewhere = _cli(workdir, "snapshots", "baseline", *CONFIG, "--environment", "production", "1")
    assert elsewhere.returncode == 2
    assert "it has snapshots with:" in elsewhere.stderr
    assert "--environment local" in elsewhere.stderr and "--environment staging" in elsewhere.stderr


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    proc = _cli(tmp_path, "snapshots", "compare", *CONFIG, "1", "2")
    assert proc.returncode == 2 and "model versions that exist: none yet" in proc.stderr


def test_snapshots_check_names_its_rule_and_exits_3_on_a_regression(workdir: Path) -> None:
    assert _cli(workdir, "snapshots", "baseline", *CONFIG, "1").returncode == 0
    # v3 (0.349) is current: 0.400 - 0.349 > 0.05.
    regressed = _cli(workdir, "snapshots", "check", *CONFIG, "--rule", "original")
    assert regressed.returncode == 3
    assert "regression (original rule: F1 drop > 0.05)" in regressed.stdout
    # the default, paired rule has no cases to pair in pushed records: it says so
    # and falls back to the original's rule
    default = _cli(workdir, "snapshots", "check", *CONFIG)
    assert default.returncode == 3
    assert "original rule; the baseline was pushed, not run" in default.stdout
    assert _cli(workdir, "snapshots", "checkout", *CONFIG, "2").returncode == 0
    # v2 (0.351): not a regression for the original's rule, one for the relative rule.
    ok = _cli(workdir, "snapshots", "check", *CONFIG, "--json")
    assert ok.returncode == 0
    verdict = json.loads(ok.stdout)
    assert (verdict["status"], verdict["verdict"]["rule"]) == ("ok", "original")
    relative = _cli(workdir, "snapshots", "check", *CONFIG, "--rule", "relative")
    assert relative.returncode == 3 and "relative rule" in relative.stdout
