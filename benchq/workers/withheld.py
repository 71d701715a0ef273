"""Celery's reports of a message it cannot run name the message, never quote its body.

When a worker cannot decode a message (an unknown content type, say from a
benchq version it does not know, or a damaged body), or the message names a
task it does not have or breaks the task protocol, Celery logs the first
1,024 characters of the body and drops or rejects the message. A job's body
is its cases: bills, names and birth dates, in the worker's log. Celery
formats the body for all four reports with one function,
`celery.worker.consumer.consumer.dump_body`; the worker replaces it with one
that gives the body's size only. The rest of each report (the error, the
content type and encoding, the headers: task name, id and the job's
`argsrepr`, which holds ids only) is unchanged.
"""

from __future__ import annotations

from typing import Any

__all__ = ["install", "withheld_body"]


def withheld_body(message: Any, body: Any = None) -> str:
    """What Celery's reports show instead of a message's body: its size."""
    raw = getattr(message, "body", None)
    if isinstance(raw, str):  # kombu hands a text body over decoded
        raw = raw.encode("utf-8", "surrogatepass")
    if not isinstance(raw, bytes | bytearray):
        return "(body withheld, it may hold bills)"
    return f"(body withheld: {len(raw)} bytes, it may hold bills)"


def install() -> None:
    """Put `withheld_body` in place of Celery's `dump_body` in this process (idempotent)."""
    from celery.worker.consumer import consumer

    consumer.dump_body = withheld_body
