"""The `benchq` command's own behaviour: determinism, exit codes, nothing half-written."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from tests.pipeline_helpers import cli


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(*args), capture_output=True, text=True, timeout=120)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_cases_generate_is_deterministic(clean_env: Path) -> None:
    assert _run("cases", "generate", "--n", "12", "--seed", "9", "--out", "a").returncode == 0
    assert _run("cases", "generate", "--n", "12", "--seed", "9", "--out", "b").returncode == 0
    assert _run("cases", "generate", "--n", "12", "--seed", "10", "--out", "c").returncode == 0
    a, b, c = _tree(clean_env / "a"), _tree(clean_env / "b"), _tree(clean_env / "c")
    assert len(a) == 24
    assert a == b
    assert a != c
    check = _run("cases", "check", "a")
    assert check.returncode == 0 and "12 cases" in check.stdout


def test_convert_then_push_then_snapshots(clean_env: Path) -> None:
    assert _run("run", "--workers", "1").returncode == 0
    agg = clean_env / "benchmarks/results/aggregated_metrics_baseline.json"
    conv = _run("convert", "--input", str(agg), "--output", "mon.json", "--model", "baseline")
    assert conv.returncode == 0, conv.stderr
    record = json.loads((clean_env / "mon.json").read_text())
    assert record["model_version"] == "baseline-v1.0"
    assert record["metrics"]["total_documents"] == 56  # the bundled sample suite
    push = _run("push", "--input", "mon.json", "--environment", "staging",
                "--commit-sha", "deadbeef", "--verify")  # fmt: skip
    assert push.returncode == 0, push.stderr
    assert "verified" in push.stdout
    listing = json.loads(_run("snapshots", "--json").stdout)
    assert {(s["environment"], s["snapshot_version"]) for s in listing} == {
        ("local", 1),
        ("staging", 1),
    }


def test_a_bad_push_file_writes_nothing_and_names_the_field(clean_env: Path) -> None:
    assert _run("run", "--workers", "1").returncode == 0
    bad = clean_env / "bad.json"
    bad.write_text(json.dumps({"model_version": "x-v1.0", "metrics": {"precision": "high"}}))
    with sqlite3.connect(clean_env / "benchq.db") as conn:
        before = conn.execute("SELECT count(*) FROM benchmark_snapshots").fetchone()[0]
    proc = _run("push", "--input", str(bad), "--environment", "local", "--commit-sha", "x")
    assert proc.returncode == 2
    assert "bad.json" in proc.stderr
    assert "precision" in proc.stderr
    assert "Traceback" not in proc.stderr
    with sqlite3.connect(clean_env / "benchq.db") as conn:
        after = conn.execute("SELECT count(*) FROM benchmark_snapshots").fetchone()[0]
    assert after == before == 1


def test_checkout_of_a_missing_version_fails_and_changes_nothing(clean_env: Path) -> None:
    assert _run("run", "--workers", "1").returncode == 0
    proc = _run("snapshots", "checkout", "--model-version", "baseline-rules-v2", "7")
    assert proc.returncode != 0
    assert "7" in proc.stderr
    listing = json.loads(_run("snapshots", "--json").stdout)
    assert [(s["snapshot_version"], s["is_current"]) for s in listing] == [(1, True)]


def test_bad_setting_is_named(clean_env: Path) -> None:
    import os

    env = {**os.environ, "BENCHQ_WORKERS": "many"}
    proc = subprocess.run(cli("run"), capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert "BENCHQ_WORKERS" in proc.stderr
