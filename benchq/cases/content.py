"""Checks on what a suite file says, before any of it becomes a case.

- Text may hold printable characters and whitespace (tab, newline, carriage
  return, form feed, vertical tab), nothing else of the control ranges: a
  NUL byte is accepted by SQLite and refused by PostgreSQL mid-run, and no
  bill needs one.
- JSON is parsed strictly: nesting deeper than `MAX_JSON_DEPTH` (a ground
  truth needs four levels) is refused before the parser can recurse, and so
  are `NaN`, `Infinity` and numbers too large to be finite, which Python's
  parser accepts and no other JSON reader does.
- Case ids are `[A-Za-z0-9._-]{1,128}`, not made of dots alone: they become
  file names, log fields and URL parts.

Every check raises `ContentError` with a one-line detail and, where it is
known, the line number.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from benchq.cases.schema import CASE_ID_PATTERN
from benchq.errors import BenchqError

#: Deepest JSON nesting read; a ground truth needs 4 (truth, facts, list, item).
MAX_JSON_DEPTH = 32

# C0 and C1 control characters and DEL, minus \t \n \v \f \r.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL"}
# Strings are skipped whole, so brackets and words inside them do not count.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|NaN|-?Infinity')
_CASE_ID = re.compile(CASE_ID_PATTERN)


class ContentError(BenchqError):
    """Content that cannot be accepted; `detail` is one line, `line` 1-based or None."""

    def __init__(self, detail: str, line: int | None = None) -> None:
        self.detail = detail
        self.line = line
        super().__init__(detail)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def control_character(text: str) -> tuple[str, int, int] | None:
    """The first forbidden control character as `(name, line, column)`, or None."""
    match = _CONTROL.search(text)
    if match is None:
        return None
    code = ord(match.group())
    name = f"U+{code:04X}" + (f" ({_CONTROL_NAMES[code]})" if code in _CONTROL_NAMES else "")
    start = match.start()
    line = _line_of(text, start)
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return name, line, column


def check_text(text: str, *, line_offset: int = 0) -> None:
    """Raise `ContentError` if `text` holds a control character other than whitespace."""
    found = control_character(text)
    if found is not None:
        name, line, column = found
        raise ContentError(
            f"control character {name} at line {line + line_offset}, column {column}: "
            "only printable text and whitespace are allowed",
            line=line + line_offset if line_offset else None,
        )


def _scan(text: str) -> None:
    if (
        text.count("[") + text.count("{") <= MAX_JSON_DEPTH
        and "NaN" not in text
        and "Infinity" not in text
    ):
        # Cannot nest too deep (brackets inside strings only over-count) nor
        # hold a non-finite literal: most ground truths, skipped in C speed.
        return
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise ContentError(
                    f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
                    line=_line_of(text, match.start()),
                )
        elif token in "]}":
            depth -= 1
        elif not token.startswith('"'):
            raise ContentError(
                f"non-finite number {token}: JSON numbers must be finite",
                line=_line_of(text, match.start()),
            )


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number {literal} is too large to be finite")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-finite number {name}: JSON numbers must be finite")


def parse_json(text: str) -> Any:
    """Parse JSON strictly (depth, finite numbers); raise `ContentError` with the line."""
    _scan(text)
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ContentError(f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from exc
    except RecursionError as exc:  # the scan should make this unreachable
        raise ContentError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:  # a non-finite number, or an integer of thousands of digits
        raise ContentError(f"invalid JSON: {exc}") from exc


# What a JSON text must contain for its strings to hold a control character:
# one written raw (C1 and DEL may be; C0 may not, strictly parsed), or as an
# escape (`\u0000`-`\u001f`, `\u007f`-`\u009f`, `\b`). Over-matches
# (an escaped backslash before `u0000`, or tabs written `\u0009`) only cost
# the walk of `check_strings`.
_MAY_HOLD_CONTROL = re.compile(
    r"[\x00-\x08\x0e-\x1f\x7f-\x9f]|\\(?:u00[0189][0-9a-fA-F]|u007[fF]|b)"
)


# Every text `_MAY_HOLD_CONTROL` matches holds one of these characters (a raw
# control character, or the backslash of an escape); a scan for one class of
# characters is three times faster than the pattern with its alternatives.
_RAW_OR_ESCAPE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\\]")


def may_hold_control(text: str) -> bool:
    """False when no string parsed from the JSON `text` can hold a control character.

    One scan of the text in C, instead of walking every parsed string: a
    ground truth without one needs no `check_strings`.
    """
    if _RAW_OR_ESCAPE.search(text) is None:
        return False
    return _MAY_HOLD_CONTROL.search(text) is not None


def check_strings(data: Any, path: str = "") -> None:
    """Raise `ContentError` naming the field of the first string holding a control character."""
    if isinstance(data, str):
        found = control_character(data)
        if found is not None:
            name, _, _ = found
            raise ContentError(f"{path or '(value)'}: control character {name} in text")
    elif isinstance(data, dict):
        for key, value in data.items():
            child = f"{path}.{key}" if path else str(key)
            check_strings(key, f"{child} (the key)")
            check_strings(value, child)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            check_strings(value, f"{path}[{index}]")


def _show(value: str) -> str:
    if len(value) <= 40:
        return repr(value)
    return f"{value[:40]!r}... ({len(value):,} characters)"


def check_case_id(case_id: object) -> str:
    """The case id if it is allowed; raise `ContentError` otherwise."""
    if not isinstance(case_id, str) or not case_id:
        raise ContentError("id: a non-empty string is required")
    if not _CASE_ID.fullmatch(case_id) or set(case_id) == {"."}:
        raise ContentError(
            f"case id {_show(case_id)} is not allowed: use 1 to 128 letters, digits, "
            "'.', '_' or '-' (and not dots alone)"
        )
    return case_id
