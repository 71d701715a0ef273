"""One structured log line per case: what operators grep and ship to a log store.

The line is JSON with fixed keys; it never holds a document, a raw answer, a
key or a URL with credentials, only identifiers, counts and timings.

A task's lines are logged together: consecutive lines of one level make one
log record, its message the lines joined by newlines, so the handler
formats and writes once per task instead of once per case. The stream holds
the same lines in the same order; a record per case cost a worker 24-30 us
of CPU per case at 128 cases a task (`benchq run`, 10,000 cases at 256 in
flight), a record per task 9-11 us.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from benchq.scoring.schema import CaseResult

log = logging.getLogger("benchq.jobs")


def job_line(result: CaseResult, *, attempts: int, task_retries: int) -> str:
    """The JSON log line of one finished job."""
    return json.dumps(
        {
            "event": "case_done",
            "run_id": result.run_id,
            "model": result.model_name,
            "case": result.document_name,
            "status": "ok" if result.extraction_success else "error",
            "json_valid": result.json_valid,
            "attempts": attempts,
            "task_retries": task_retries,
            "cached": result.cached,
            "latency_ms": round(result.pipeline_latency_ms, 3),
            "cost_usd": round(result.cost_usd, 8),
            # The error's class only: messages may quote a provider's reply.
            "error": (result.error_message or "").split(":", 1)[0] or None,
        },
        sort_keys=True,
    )


def log_jobs(results: Iterable[CaseResult], *, task_retries: int) -> None:
    """Log each result's line, in order: INFO, or WARNING for a failed case.

    Consecutive lines of one level go out as one record (see the module's
    docstring). A line is built only when its level is enabled: a worker at
    WARNING runs thousands of cases a second, and building every line cost
    2 % of its CPU.
    """
    level = logging.NOTSET
    lines: list[str] = []
    for result in results:
        this = logging.INFO if result.extraction_success else logging.WARNING
        if this != level:
            _emit(level, lines)
            level, lines = this, []
        if log.isEnabledFor(this):
            lines.append(job_line(result, attempts=result.attempts, task_retries=task_retries))
    _emit(level, lines)


def _emit(level: int, lines: list[str]) -> None:
    if lines:
        log.log(level, "\n".join(lines))
