"""The original's own scripts, unchanged, against a benchq database.

`push_to_supabase.py` and `check_snapshots.py` speak supabase-py to a
PostgREST (here the stand-in, over real Postgres): the push through the
`upsert_benchmark_result` function with the service-role key, the check
through a table select with the anon key. Both must work on a database
benchq made and on one benchq took over from the original, and what the
push stored must be what the original would have stored. The original's
convert script must read a result file that benchq wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from benchq.scoring.aggregate import aggregate
from benchq.scoring.files import write_aggregated
from benchq.scoring.schema import CaseResult
from benchq.store import commands
from benchq.store.migrate import upgrade

try:
    from original_files import original_sample_record, original_schema, original_script
    from pg_fixtures import JWT_SECRET, PgCluster, pg_cluster
    from postgrest_standin import PostgrestStandin, make_key
except ImportError:  # tests/ became a package
    from tests.original_files import original_sample_record, original_schema, original_script
    from tests.pg_fixtures import JWT_SECRET, PgCluster, pg_cluster  # noqa: F401
    from tests.postgrest_standin import PostgrestStandin, make_key


@pytest.fixture(params=["benchq", "taken-over"])
def served(
    request: pytest.FixtureRequest, pg_cluster: PgCluster
) -> Iterator[tuple[PostgrestStandin, str, str]]:
    """A stand-in over a database benchq made, or one the original made and benchq took over."""
    if request.param == "benchq":
        db = pg_cluster.new_database()
    else:
        db = pg_cluster.new_database(template="template0")
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(original_schema().encode())
        upgrade(db)
    standin = PostgrestStandin(db, JWT_SECRET)
    base = standin.start()
    yield standin, base, db
    standin.stop()


def _script(
    name: str, env: dict[str, str], *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "SUPABASE_"))}
    return subprocess.run(
        [sys.executable, str(original_script(name)), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        cwd=cwd,
    )


def test_the_original_push_and_check_scripts_work_unchanged(
    served: tuple[PostgrestStandin, str, str], tmp_path: Path
) -> None:
    standin, base, db = served
    service = {
        "SUPABASE_URL": base,
        "SUPABASE_SERVICE_ROLE_KEY": make_key("service_role", JWT_SECRET),
    }
    sample = original_sample_record()
    pushed = []
    for sha in ("abc123def", "fed456cba"):
        proc = _script(
            "push_to_supabase.py", service, "--input", str(sample), "--environment",
            "github-actions", "--commit-sha", sha, "--branch-name", "main", "--run-id", "42",
            "--triggered-by", "ci-bot", "--duration", "45.2", "--tags", "experiment-1",
            "baseline", "--notes", "first run", "--verify", cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Verification passed" in proc.stderr
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("::set-output"))
        pushed.append(json.loads(line.split("::", 2)[2].removeprefix("name=result::")))
    assert ("POST", "/rest/v1/rpc/upsert_benchmark_result") in standin.requests

    with psycopg.connect(db, row_factory=dict_row) as conn:
        tx = conn.execute(
            "SELECT * FROM benchmark_transactions WHERE id = %s", (pushed[0]["transaction_id"],)
        ).fetchone()
        snaps = conn.execute(
            "SELECT * FROM benchmark_snapshots ORDER BY snapshot_version"
        ).fetchall()
    assert tx is not None
    record = json.loads(sample.read_text())
    assert tx["metrics"] == record["metrics"]  # every metric, the extra ones included
    assert (tx["model_version"], tx["model_provider"], tx["dataset_size"]) == (
        "medgemma-v1.2", "google", 150,
    )  # fmt: skip
    assert (tx["commit_sha"], tx["branch_name"], tx["run_id"], tx["triggered_by"]) == (
        "abc123def", "main", "42", "ci-bot",
    )  # fmt: skip
    assert tx["tags"] == ["experiment-1", "baseline"] and tx["notes"] == "first run"
    assert tx["duration_seconds"] == pytest.approx(45.2)
    assert [(s["snapshot_version"], s["is_current"]) for s in snaps] == [(1, False), (2, True)]
    assert snaps[1]["f1_score"] == pytest.approx(0.895)
    assert str(snaps[1]["transaction_id"]) == pushed[1]["transaction_id"]

    anon = {"SUPABASE_URL": base, "SUPABASE_ANON_KEY": make_key("anon", JWT_SECRET)}
    check = _script("check_snapshots.py", anon, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    lines = check.stdout.splitlines()
    assert any("CURRENT" in ln and "medgemma-v1.2" in ln and "v2 - F1:0.8950" in ln for ln in lines)
    assert "Total snapshots: 2" in check.stdout and "Unique models: 1" in check.stdout


def test_the_original_convert_script_reads_a_file_benchq_wrote(tmp_path: Path) -> None:
    results = [
        CaseResult(document_name=f"doc_{i}", document_type="medical_bill",
                   extraction_success=i != 3, json_valid=i != 3, pipeline_latency_ms=1000.0 + i,
                   extraction_latency_ms=900.0, issues_detected=1, issues_expected=1,
                   true_positives=1 if i % 2 else 0, false_positives=0 if i % 2 else 1,
                   false_negatives=0 if i % 2 else 1)
        for i in range(6)
    ]  # fmt: skip
    agg = aggregate("gemini", results)
    assert agg.avg_input_tokens is None  # nothing counted: benchq's own figure says so
    (path,) = write_aggregated(agg, tmp_path / "results", latest=False)
    written = json.loads(path.read_text())
    # The original's readers do arithmetic on these: numbers, 0.0 when nothing was counted.
    assert [written[k] for k in ("avg_input_tokens", "avg_output_tokens", "avg_total_tokens")] == [
        0.0, 0.0, 0.0,
    ]  # fmt: skip
    proc = _script(
        "convert_benchmark_to_monitoring.py", {}, "--input", str(path), "--output",
        str(tmp_path / "theirs.json"), "--model", "gemini", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    theirs = json.loads((tmp_path / "theirs.json").read_text())
    ours = commands.convert(path, tmp_path / "ours.json", model="gemini").model_dump(mode="json")
    # benchq keeps the original's values where they are well defined ...
    for key in ("model_version", "model_provider", "dataset_version", "dataset_size",
                "prompt_version", "duration_seconds"):  # fmt: skip
        assert ours[key] == pytest.approx(theirs[key]), key
    for key in ("precision", "recall", "f1", "latency_ms", "total_documents"):
        assert ours["metrics"][key] == pytest.approx(theirs["metrics"][key]), key
    # ... and fills in what the original read from keys its files never had.
    assert theirs["error_count"] == 0 and ours["error_count"] == 1
    assert theirs["success_count"] == 6 and ours["success_count"] == 5
    assert (
        ours["metrics"]["total_issues_expected"] == 6 != theirs["metrics"]["total_issues_expected"]
    )
