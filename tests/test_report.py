"""The run report (`benchq report`) and the rules the explorer shares with it.

Pure rules are tested on plain values; the command runs as a user runs it
(a child process) against a real SQLite store filled by the dashboard's
generated history.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchq.report.collect import collect_run
from benchq.report.export import to_csv, to_jsonl
from benchq.report.html import render_report
from benchq.report.outcomes import (
    CASE_ROW_FIELDS,
    Outcome,
    cited_lines,
    disagreement,
    format_interval,
    issue_changes,
    model_totals,
    outcome,
)
from benchq.store.explorer import CaseCell
from benchq.store.sqlite import SQLiteStore

try:
    from dashboard_history import fill_history, sqlite_backdater
except ImportError:  # tests/ became a package
    from tests.dashboard_history import fill_history, sqlite_backdater


def cell(model: str, tp: int = 0, fp: int = 0, fn: int = 0, **extra: object) -> CaseCell:
    return CaseCell.model_validate(
        {
            "case_id": "c1",
            "model_name": model,
            "document_type": "medical_bill",
            "extraction_success": True,
            "true_positives": tp,
            "false_positives": fp,
            "false_negatives": fn,
            **extra,
        }
    )


def test_each_cell_gets_one_outcome() -> None:
    assert outcome(cell("m", tp=2)) is Outcome.found
    assert outcome(cell("m")) is Outcome.found  # nothing to find, nothing said
    assert outcome(cell("m", tp=1, fn=1)) is Outcome.partly
    assert outcome(cell("m", tp=1, fp=2)) is Outcome.false_alarms
    assert outcome(cell("m", fn=2, fp=1)) is Outcome.missed
    assert outcome(cell("m", tp=1, extraction_success=False)) is Outcome.error


def test_disagreement_counts_the_answers_that_would_have_to_change() -> None:
    same = [cell(m, detected_types=["overbilling"]) for m in "abc"]
    assert disagreement(same) == 0
    split = [
        cell("a", detected_types=["overbilling"]),
        cell("b", detected_types=["overbilling"]),
        cell("c", detected_types=[]),
        cell("d", extraction_success=False),
    ]
    # one of three answering models differs on overbilling; one of four failed
    assert disagreement(split) == 2


def test_cited_lines_are_found_by_code_and_by_quoted_evidence() -> None:
    text = "Clinic\n99213 Office visit $120.00\n80053 Lab panel $40.00\n80053 Lab panel $40.00\n"
    issues = [
        {"type": "overbilling", "code": "99213", "evidence": ""},
        {"type": "duplicate_charge", "code": None, "evidence": "80053 Lab panel $40.00"},
        {"type": "upcoding", "code": "99", "evidence": "Lab"},  # too short: matches nothing
    ]
    assert cited_lines(text, issues) == {
        1: ["overbilling"],
        2: ["duplicate_charge"],
        3: ["duplicate_charge"],
    }
    # a code is matched as a word, not inside a longer number
    assert cited_lines("Acct 1992130\n", [{"type": "x", "code": "99213"}]) == {}


def test_issue_changes_and_totals_with_and_without_intervals() -> None:
    changes = issue_changes(["a", "b"], ["b", "c"])
    assert (changes.added, changes.removed, changes.kept) == (["c"], ["a"], ["b"])
    cells = [
        cell("m1", tp=1, extraction_latency_ms=100.0, total_tokens=10, cost_usd=0.5),
        cell("m1", fp=1, fn=1, extraction_latency_ms=300.0, total_tokens=30, cost_usd=0.5),
        cell("m1", extraction_success=False, extraction_latency_ms=9999.0),
        cell("m2", tp=1),
    ]
    m1, m2 = model_totals(cells, {"m1": {"issue_f1_ci": [0.25, 0.75]}})
    assert (m1.cases, m1.errors) == (3, 1)
    assert (m1.precision, m1.recall) == (0.5, 0.5)
    assert m1.avg_latency_ms == 200.0  # answered cases only
    assert m1.avg_total_tokens == 20.0 and m1.total_cost_usd == 1.0
    assert m1.outcomes["error"] == 1 and m1.outcomes["missed"] == 1
    assert format_interval(m1.f1_ci) == "[0.250, 0.750]"
    assert format_interval(m1.precision_ci) == "—"
    assert format_interval(m2.f1_ci) == "—"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "benchq.db"
    store = SQLiteStore(path)
    fill_history(store, sqlite_backdater(str(path)), runs=2, cases=6)
    store.close()
    return path


def test_the_report_shows_every_case_and_loads_nothing(history: Path) -> None:
    store = SQLiteStore(history)
    data = collect_run(store, "run-001")
    page = render_report(data)
    store.close()
    cases = {c.case_id for c in data.cells}
    assert len(cases) == 6 and len(data.cells) == 24
    for case_id in cases:
        assert f'<article id="case-{case_id}"' in page
        assert f'href="#case-{case_id}"' in page
    # self-contained: no URL that a browser would fetch
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    # every answer, escaped: the raw JSON's quotes appear as entities, never raw markup
    raw = data.answers[next(iter(cases))][0].raw_output
    if raw:
        assert raw.replace('"', "&#34;") in page
    # the grid's cells carry their outcomes
    assert page.count('class="o-') > 24


def test_documents_and_answers_are_escaped(history: Path) -> None:
    store = SQLiteStore(history)
    data = collect_run(store, "run-000")
    store.close()
    case_id = data.cells[0].case_id
    data.documents[case_id].text = "<script>alert(1)</script>\n99213 visit"
    page = render_report(data)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_table_has_one_row_per_case_and_model(history: Path) -> None:
    store = SQLiteStore(history)
    data = collect_run(store, "run-000", with_cases=False)
    store.close()
    rows = list(csv.DictReader(io.StringIO(to_csv("run-000", data.cells))))
    assert len(rows) == 24
    assert list(rows[0]) == list(CASE_ROW_FIELDS)
    assert len({(r["case_id"], r["model"]) for r in rows}) == 24
    lines = [json.loads(line) for line in to_jsonl("run-000", data.cells).splitlines()]
    assert len(lines) == 24 and isinstance(lines[0]["detected_types"], list)
    assert {r["outcome"] for r in lines} <= {o.value for o in Outcome}


def _benchq(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHQ_", "SUPABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "benchq.cli", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_writes_html_csv_and_jsonl_without_settings(
    history: Path, tmp_path: Path
) -> None:
    secret = "sk-live-do-not-leak-0123456789"
    env = {
        "BENCHQ_STORE_URL": f"sqlite:///{history}",
        "OPENAI_API_KEY": secret,
        "BENCHQ_BROKER_URL": "redis://:hunter2-password@127.0.0.1:1/0",
    }
    done = _benchq(tmp_path, "report", "run-001", "--out", "run.html", env=env)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "run.html").read_text()
    assert "Run run-001" in page
    for leaked in (secret, "hunter2", str(history), "sqlite:///"):
        assert leaked not in page
    for fmt in ("csv", "jsonl"):
        done = _benchq(tmp_path, "report", "run-001", "--format", fmt, "--out", f"t.{fmt}", env=env)
        assert done.returncode == 0, done.stderr
        text = (tmp_path / f"t.{fmt}").read_text()
        assert secret not in text and "hunter2" not in text
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 25  # header + 24
    assert len((tmp_path / "t.jsonl").read_text().splitlines()) == 24


def test_bad_input_exits_2_and_writes_nothing(history: Path, tmp_path: Path) -> None:
    env = {"BENCHQ_STORE_URL": f"sqlite:///{history}"}
    done = _benchq(tmp_path, "report", "no-such-run", "--out", "x.html", env=env)
    assert done.returncode == 2
    assert "no run 'no-such-run'" in done.stderr
    assert list(tmp_path.iterdir()) == []
    done = _benchq(tmp_path, "report", "run-000", "--out", "missing/x.html", env=env)
    assert done.returncode == 2 and "missing" in done.stderr
    done = _benchq(tmp_path, "report", "run-000", "--format", "pdf", "--out", "x", env=env)
    assert done.returncode == 2
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_and_a_failed_model_are_said_first(history: Path) -> None:
    from benchq.store.schema import RunModelSummary

    store = SQLiteStore(history)
    data = collect_run(store, "run-000")
    store.close()
    data.run.error = "medgemma: 6 of 6 cases failed (first: connection refused)"
    data.summaries.append(
        RunModelSummary(
            run_id="run-000",
            model_name="medgemma-4b",
            aggregated={},
            monitoring={},
            finished_at="x",
            status="failed",
            error="6 of 6 cases failed",
        )
    )
    page = render_report(data)
    assert "<b>The run failed:</b> medgemma: 6 of 6 cases failed" in page
    assert "<b>medgemma-4b failed</b> (published no snapshot): 6 of 6 cases failed" in page
    assert page.index("The run failed") < page.index('id="summary"')
