"""How a task message's body is written: `(args, kwargs, embed)`, one JSON text as it is.

A job's cases and a hand-over's results travel as one JSON text
(`messages.encode`). Under Celery's JSON serializer that text is a string
inside the body's JSON, so every quote and backslash in it is escaped; the
Redis transport then escapes the body again inside its envelope, and once
more in the copy it keeps of a delivered message until it is acknowledged.
Each layer's escaping grows what the next one writes and reads.

This format (`SERIALIZER`, content type `CONTENT_TYPE`) writes the body as
one line of JSON, the header `[args, kwargs, embed, index]`, where `index`
says which positional argument was taken out of `args`, then a newline and
that argument's text as it is. The header is written by kombu's JSON
encoder (the types Celery's embedded signatures hold) and never holds a raw
newline, so the first newline ends it. Only a text argument of at least
`RAW_MIN_CHARS` characters is taken out: a short one costs nothing to escape.

Only the messages that carry such a text use it (`run_cases` jobs and
`save_cases` hand-overs, and their retries); the chain's steps, control
messages and results stay Celery's JSON. Workers still accept plain JSON
bodies, as earlier versions sent jobs; a worker of an earlier version does
not accept this content type, so a fleet is upgraded workers first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kombu.exceptions import DecodeError
from kombu.serialization import registry
from kombu.utils import json as kombu_json

__all__ = ["CONTENT_TYPE", "RAW_MIN_CHARS", "SERIALIZER", "dumps", "loads", "register"]

SERIALIZER = "benchq-json"
CONTENT_TYPE = "application/x-benchq-json"
#: Text arguments shorter than this stay inside the header.
RAW_MIN_CHARS = 1024

# kombu's JSON (it writes and reads the types Celery's signatures hold), typed here.
_json_dumps: Callable[[Any], str] = kombu_json.dumps
_json_loads: Callable[[str], Any] = kombu_json.loads
_register: Callable[..., None] = registry.register


def dumps(body: Any) -> str:
    """The body text of Celery's `(args, kwargs, embed)`; its longest text argument left raw."""
    args, kwargs, embed = body  # anything else is kombu's EncodeError
    args = list(args)
    index: int | None = None
    for i, arg in enumerate(args):
        if not isinstance(arg, str) or len(arg) < RAW_MIN_CHARS:
            continue
        if index is None or len(arg) > len(args[index]):
            index = i
    if index is None:
        return _json_dumps([args, kwargs, embed, None])
    raw = args[index]
    args[index] = None
    return f"{_json_dumps([args, kwargs, embed, index])}\n{raw}"


def loads(data: str | bytes | bytearray | memoryview) -> Any:
    """Celery's `(args, kwargs, embed)` back from a body `dumps` wrote.

    Raises `DecodeError` (kombu's, which Celery reports and rejects the
    message with) for a body this format did not write.
    """
    try:
        text = bytes(data).decode("utf-8") if not isinstance(data, str) else data
    except UnicodeDecodeError as exc:
        raise DecodeError(f"{CONTENT_TYPE}: not utf-8: {exc}") from exc
    head, newline, raw = text.partition("\n")
    try:
        header = _json_loads(head)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"{CONTENT_TYPE}: the header line is not JSON: {exc}") from exc
    if not isinstance(header, list) or len(header) != 4:
        raise DecodeError(f"{CONTENT_TYPE}: the header is not [args, kwargs, embed, index]")
    args, kwargs, embed, index = header
    if not isinstance(args, list):
        raise DecodeError(f"{CONTENT_TYPE}: args is not a list")
    if index is None:
        if newline:
            raise DecodeError(f"{CONTENT_TYPE}: text after the header, and no argument for it")
        return args, kwargs, embed
    if not newline or type(index) is not int or not 0 <= index < len(args):
        raise DecodeError(f"{CONTENT_TYPE}: argument {index!r} of {len(args)} is not in the body")
    args[index] = raw
    return args, kwargs, embed


def register() -> None:
    """Make the format known to kombu in this process (idempotent)."""
    _register(SERIALIZER, dumps, loads, content_type=CONTENT_TYPE, content_encoding="utf-8")
