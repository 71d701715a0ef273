"""Bounds on what a result file or a push flag may hold, as pydantic field types.

A monitoring record or push flag lands in the store and on the dashboard as
it is, so every text is bounded and free of control characters, and every
number is a real JSON number (never a boolean or a string), finite, and in a
range that a database column holds: `precision: true`, `NaN`, a 20 MB
`model_version` or a count of 1e20 is refused with the field named, before
anything is written. `scan_json` bounds a whole parsed document the same way
(depth, text length, number size) for fields no model names.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

#: Largest count a record may hold; an `integer` column holds up to 2**31 - 1.
MAX_COUNT = 1_000_000_000
#: Largest magnitude of any number in an input file (a float keeps 15 digits).
MAX_MAGNITUDE = 1e15
#: Deepest nesting of objects and arrays a result file needs is 4; this leaves room.
MAX_DEPTH = 32
#: Longest text anywhere in an input file when no field says otherwise.
MAX_TEXT = 65_536

_WHITESPACE = frozenset("\t\n\r")


def _bad_char(text: str, allowed: frozenset[str]) -> str | None:
    """The first control character (or lone surrogate) not in `allowed`, if any."""
    for char in text:
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            return char
    return None


def check_text(
    text: str, max_length: int, *, blank: bool = True, allowed: frozenset[str] = frozenset()
) -> str:
    """`text` if it fits the bounds; `ValueError` saying what is wrong otherwise."""
    if len(text) > max_length:
        raise ValueError(f"must be at most {max_length} characters, got {len(text)}")
    if not blank and not text.strip():
        raise ValueError("must not be empty")
    char = _bad_char(text, allowed)
    if char is not None:
        raise ValueError(f"must not contain control character U+{ord(char):04X}")
    return text


def Label(max_length: int) -> AfterValidator:
    """A version label, name or id: 1 to `max_length` characters, not blank, one line."""
    return AfterValidator(lambda v: check_text(v, max_length, blank=False))


def Line(max_length: int) -> AfterValidator:
    """One line of text of at most `max_length` characters (may be empty)."""
    return AfterValidator(lambda v: check_text(v, max_length))


def Text(max_length: int) -> AfterValidator:
    """Free text of at most `max_length` characters; tabs and newlines allowed."""
    return AfterValidator(lambda v: check_text(v, max_length, allowed=_WHITESPACE))


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def number_check(low: float, high: float, *, integer: bool = False) -> Callable[[Any], Any]:
    """A validator: a JSON number (not a boolean, not text), finite, within [low, high].

    With `integer`, a whole number; `150.0` is taken as 150, `150.5` refused.
    The range is checked before any conversion, so 1e30 or 10**400 are refused,
    never converted into something a database column cannot hold.
    """
    what = "a whole number" if integer else "a number"

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be {what}, not {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}, got {value:g}")
        if integer:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"must be a whole number, got {value}")
            return int(value)
        return value

    return check


def Number(low: float, high: float) -> BeforeValidator:
    """A finite JSON number within [low, high]; booleans and text refused."""
    return BeforeValidator(number_check(low, high))


#: A share on a 0-1 scale: precision, recall, F1.
Fraction = Annotated[float, Number(0.0, 1.0)]
#: A count of documents, issues, errors: a whole number in [0, MAX_COUNT].
Count = Annotated[int, BeforeValidator(number_check(0, MAX_COUNT, integer=True))]


def _extra_value(value: Any) -> Any:
    """A metric no field names: a bounded number, a boolean, null or a short text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return number_check(-MAX_MAGNITUDE, MAX_MAGNITUDE)(value)
    if isinstance(value, str):
        return check_text(value, 256)
    raise ValueError(f"must be a number, a boolean, null or a short text, not {_kind(value)}")


#: The value of an extra metric (`accuracy`, `true_negatives`, ...).
ExtraMetric = Annotated[Any, BeforeValidator(_extra_value)]


def scan_json(data: Any) -> str | None:
    """The first problem of a parsed JSON document that no schema would catch, or None.

    Nesting deeper than `MAX_DEPTH`, a non-finite number or one larger than
    `MAX_MAGNITUDE`, a text longer than `MAX_TEXT` or holding a control
    character other than tab and newline; named by its path, e.g.
    `individual_results[3].error_message: must be at most 65536 characters`.
    Iterative, so no document can exhaust the interpreter's stack.
    """
    for path, depth, value in _walk(data):
        if depth > MAX_DEPTH:
            return f"{path or '(top level)'}: nested deeper than {MAX_DEPTH} levels"
        try:
            if isinstance(value, str):
                check_text(value, MAX_TEXT, allowed=_WHITESPACE)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                number_check(-MAX_MAGNITUDE, MAX_MAGNITUDE)(value)
        except ValueError as exc:
            return f"{path or '(top level)'}: {exc}"
    return None


def _walk(data: Any) -> Iterator[tuple[str, int, Any]]:
    """(path, depth, value) of every value and object key, depth first, without recursion."""
    stack: list[tuple[str, int, Any]] = [("", 0, data)]
    while stack:
        path, depth, value = stack.pop()
        yield path, depth, value
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                # A hostile key must not make the error message as long as itself.
                name = key if len(key) <= 40 else f"{key[:40]}..."
                child = f"{path}.{name}" if path else name
                yield child, depth + 1, key
                stack.append((child, depth + 1, item))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((f"{path}[{index}]", depth + 1, value[index]))
