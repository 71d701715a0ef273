"""One structured log line per job: what operators grep and ship to a log store.

The line is JSON with fixed keys; it never holds a document, a raw answer, a
key or a URL with credentials, only identifiers, counts and timings.
"""

from __future__ import annotations

import json
import logging

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


def log_job(result: CaseResult, *, task_retries: int) -> None:
    """Emit the job's line at INFO (errors at WARNING)."""
    level = logging.INFO if result.extraction_success else logging.WARNING
    # Built only when someone reads it: a worker at WARNING runs thousands of
    # cases a second, and the line cost 2 % of its CPU.
    if log.isEnabledFor(level):
        log.log(level, job_line(result, attempts=result.attempts, task_retries=task_retries))
