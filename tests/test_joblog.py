"""The per-case job log: every case's line, in order, one JSON object a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from benchq.scoring.schema import CaseResult
from benchq.workers.joblog import log, log_jobs


def _result(name: str, *, ok: bool = True) -> CaseResult:
    return CaseResult(
        document_name=name,
        document_type="medical_bill",
        run_id="r1",
        model_name="m",
        extraction_success=ok,
        json_valid=ok,
        error_message=None if ok else "ProviderRejected: HTTP 400: bad request",
        attempts=1,
    )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def stream() -> Iterator[tuple[io.StringIO, _Records]]:
    """The job log as a worker sets it up (one message a line), plus its records."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    records = _Records()
    saved = (log.level, log.propagate)
    log.addHandler(handler)
    log.addHandler(records)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield out, records
    finally:
        log.removeHandler(handler)
        log.removeHandler(records)
        log.setLevel(saved[0])
        log.propagate = saved[1]


def test_every_case_has_its_line_in_order_one_json_object_each(
    stream: tuple[io.StringIO, _Records],
) -> None:
    out, records = stream
    names = ["a", "b", "c", "d", "e"]
    results = [_result(n, ok=n not in {"c", "d"}) for n in names]
    log_jobs(results, task_retries=2)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["case"] for line in lines] == names
    assert [line["status"] for line in lines] == ["ok", "ok", "error", "error", "ok"]
    assert {line["task_retries"] for line in lines} == {2}
    # the error's class only, never its message (it may quote a provider's reply)
    assert lines[2]["error"] == "ProviderRejected"
    # consecutive lines of one level share a record: ok, error, ok
    assert [r.levelno for r in records.records] == [logging.INFO, logging.WARNING, logging.INFO]


def test_at_warning_only_the_failed_cases_are_logged(
    stream: tuple[io.StringIO, _Records],
) -> None:
    out, records = stream
    log.setLevel(logging.WARNING)
    log_jobs([_result("a"), _result("b", ok=False), _result("c")], task_retries=0)
    assert [json.loads(line)["case"] for line in out.getvalue().splitlines()] == ["b"]
    assert [r.levelno for r in records.records] == [logging.WARNING]


def test_no_results_log_nothing(stream: tuple[io.StringIO, _Records]) -> None:
    out, records = stream
    log_jobs([], task_retries=0)
    assert out.getvalue() == ""
    assert records.records == []
