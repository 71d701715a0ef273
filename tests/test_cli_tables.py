"""Tables show names whole, at 80 columns and piped; every table has a JSON form."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from tests.pipeline_helpers import cli


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args), capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


def _in_terminal(*args: str, columns: int = 80) -> str:
    """What the command shows in a terminal `columns` wide (a real pseudo-terminal)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
    proc = subprocess.Popen(cli(*args), stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower side closed: the command is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def two_models(clean_env: Path) -> dict[str, str]:
    """A store with snapshots whose model and dataset names are long."""
    suite = clean_env / "a-suite-with-a-rather-long-name-for-its-bills"
    generate_suite(6, 21, suite)
    env = {"BENCHQ_MODEL__BASELINE__MODEL_VERSION": "baseline-with-a-long-version-label-2026"}
    proc = _run("run", "--suite", str(suite), "--workers", "1", env=env)
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(_run("snapshots", "--json").stdout)
    (snap,) = listed
    return {"model": snap["model_version"], "dataset": snap["dataset_version"]}


def test_piped_tables_hold_whole_names_one_row_a_line(two_models: dict[str, str]) -> None:
    out = _run("snapshots").stdout
    (row,) = [line for line in out.splitlines() if two_models["model"] in line]
    assert two_models["dataset"] in row  # the same line: grep finds the whole row
    assert "rules-v2" in row  # the model id is shown


def test_an_80_column_terminal_shows_names_whole(two_models: dict[str, str]) -> None:
    shown = _in_terminal("snapshots", columns=80)
    assert two_models["model"] in shown
    assert two_models["dataset"] in shown
    assert "…" not in shown


def test_history_and_compare_have_json(two_models: dict[str, str]) -> None:
    history = json.loads(_run("snapshots", "history", "--model-version", two_models["model"],
                              "--json").stdout)  # fmt: skip
    assert [h["snapshot_version"] for h in history] == [1]
    compare = _run("snapshots", "compare", "--model-version", two_models["model"], "1", "1",
                   "--cases", "--json")  # fmt: skip
    assert compare.returncode == 0, compare.stderr
    payload = json.loads(compare.stdout)
    assert payload["differences"] == [] and payload["cases"] == []
    assert {m["metric"] for m in payload["metrics"]} >= {"f1", "precision", "recall"}


def test_run_json_is_one_object_on_stdout(clean_env: Path) -> None:
    suite = clean_env / "suite"
    generate_suite(4, 22, suite)
    proc = _run("run", "--suite", str(suite), "--workers", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout)  # nothing else on stdout
    assert outcome["exit_code"] == 0 and outcome["failures"] == {}
    (model,) = outcome["models"]
    assert model["model_name"] == "baseline" and model["total_documents"] == 4
    assert model["verdict"]["status"] == "no_baseline"
    assert "run " in proc.stderr  # the summary went to stderr


def test_comparing_versions_of_different_suites_says_so_first(clean_env: Path) -> None:
    """One label on two suites (on purpose): compare names the difference before the figures."""
    first, second = clean_env / "first", clean_env / "second"
    generate_suite(5, 23, first)
    generate_suite(5, 24, second)
    for suite in (first, second):
        proc = _run("run", "--suite", str(suite), "--workers", "1", "--dataset-version", "bills")
        assert proc.returncode in (0, 3), proc.stderr
    proc = _run("snapshots", "compare", "--model-version", "baseline-rules-v2", "1", "2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("note: the suites differ")
    as_json = json.loads(
        _run(
            "snapshots", "compare", "--model-version", "baseline-rules-v2", "1", "2", "--json"
        ).stdout
    )
    assert as_json["differences"][0].startswith("the suites differ")
