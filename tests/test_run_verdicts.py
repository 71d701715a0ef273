"""Intervals on every score and the paired verdict, through the real command and workers."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import cli
from tests.standin.server import Fault, StandinServer

NOTHING_FOUND = json.dumps({"issues": [], "facts": {}})


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args), capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )


def test_a_real_drop_is_a_regression_named_case_by_case(
    clean_env: Path, standin: StandinServer
) -> None:
    suite = clean_env / "suite"
    generate_suite(60, 31, suite)
    env = {"BENCHQ_MEDGEMMA_BASE_URL": standin.openai_base_url}
    run = ("run", "--suite", str(suite), "--models", "medgemma", "--workers", "1", "--json")
    first = _run(*run, env=env)
    assert first.returncode == 0, first.stderr
    outcome = json.loads(first.stdout)
    (model,) = outcome["models"]
    low, high = model["issue_f1_ci"]
    assert low <= model["issue_f1_score"] <= high and low < high
    files = clean_env / "benchmarks/results"
    written = json.loads((files / "aggregated_metrics_medgemma.json").read_text())
    assert written["issue_f1_ci"] == [low, high]  # beside the original's fields
    assert list(written)[:15][-1] == "individual_results"  # which stay first, in order
    store = SQLiteStore(clean_env / "benchq.db")
    (snap,) = store.latest_benchmarks()
    assert snap.metrics["f1_ci"] == [low, high]  # in the store too
    version = snap.model_version
    assert _run("snapshots", "baseline", "--model-version", version, "1", env=env).returncode == 0

    # The same bills, the same ground truth, and now the model finds nothing.
    standin.state.answer_text = NOTHING_FOUND
    second = _run(*run, "--no-cache", env=env)
    assert second.returncode == 3, second.stdout + second.stderr
    verdict = json.loads(second.stdout)["models"][0]["verdict"]
    assert verdict["status"] == "regression"
    detail = verdict["verdict"]
    assert detail["rule"] == "paired" and detail["p_value"] < 0.01
    assert detail["delta"] < -0.05
    lo, hi = detail["interval"]
    assert lo <= detail["delta"] <= hi
    # the cases that flipped are named: those where the first run found the issue
    firsts = {r.document_name: r for r in store.case_results(outcome["run_id"], "medgemma")}
    found_before = {c for c, r in firsts.items() if r.true_positives > 0}
    assert set(detail["worse"]) == found_before
    assert "REGRESSED" in second.stderr  # the summary table went to stderr

    # the same verdict from the store, by hand
    check = _run("snapshots", "check", "--model-version", version, "--json", env=env)
    assert check.returncode == 3
    assert json.loads(check.stdout)["verdict"]["worse"] == detail["worse"]


def test_no_drop_is_ok_and_an_edited_ground_truth_falls_back_and_says_so(
    clean_env: Path, standin: StandinServer
) -> None:
    suite = clean_env / "suite"
    generate_suite(20, 32, suite)
    env = {"BENCHQ_MEDGEMMA_BASE_URL": standin.openai_base_url}
    run = ("run", "--suite", str(suite), "--models", "medgemma", "--workers", "1",
           "--dataset-version", "bills", "--json")  # fmt: skip
    assert _run(*run, env=env).returncode == 0
    version = json.loads(_run("snapshots", "--json", env=env).stdout)[0]["model_version"]
    assert _run("snapshots", "baseline", "--model-version", version, "1", env=env).returncode == 0
    again = _run(*run, "--no-cache", env=env)
    assert again.returncode == 0, again.stderr
    verdict = json.loads(again.stdout)["models"][0]["verdict"]
    assert verdict["status"] == "ok" and verdict["verdict"]["rule"] == "paired"
    # Same label, edited ground truth: nothing can be paired; the original's rule, said so.
    truth = next(iter(sorted((suite / "expected_outputs").glob("*.json"))))
    data = json.loads(truth.read_text())
    data["expected_issues"] = []
    truth.write_text(json.dumps(data))
    edited = _run(*run, "--no-cache", env=env)
    verdict = json.loads(edited.stdout)["models"][0]["verdict"]
    assert verdict["verdict"]["rule"] == "original"
    assert verdict["verdict"]["fallback_reason"] == "the ground truth differs"


def test_repeats_make_rates_and_name_the_unstable_cases(
    clean_env: Path, standin: StandinServer
) -> None:
    """`--repeat 3`: every case runs three times; cases that answered differently are named."""
    suite = clean_env / "suite"
    generate_suite(10, 33, suite)
    # The first five calls find nothing, every later one answers as usual: the
    # cases those calls hit answered differently from one repeat to the next.
    standin.script(*(Fault(text=NOTHING_FOUND) for _ in range(5)))
    env = {"BENCHQ_MEDGEMMA_BASE_URL": standin.openai_base_url}
    proc = _run("run", "--suite", str(suite), "--models", "medgemma", "--workers", "1",
                "--repeat", "3", "--json", env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout)
    (model,) = outcome["models"]
    assert model["repeats"] == 3
    assert 1 <= len(model["unstable_cases"]) <= 5
    assert standin.count() == 30  # the cache served no repeat
    store = SQLiteStore(clean_env / "benchq.db")
    results = store.case_results(outcome["run_id"], "medgemma")
    assert sorted((r.document_name, r.repeat) for r in results) == sorted(
        (f"doc_{i:03d}", r) for i in range(1, 11) for r in range(3)
    )
    (snap,) = store.latest_benchmarks()
    assert snap.metrics["total_documents"] == 30 and snap.metrics["f1_ci"] is not None
    assert (
        json.loads((clean_env / "benchmarks/results/medgemma_benchmark_results.json").read_text())[
            "dataset_size"
        ]
        == 10
    )
