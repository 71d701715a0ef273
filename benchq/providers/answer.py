"""Turning a model's text answer into a `ModelAnswer`, shared by every LLM provider.

A malformed, truncated or off-schema answer is data, not a crash: it comes back
as `json_valid=False` with `parse_error` saying why, and the raw text kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from benchq.providers.base import DetectedIssue, ExtractedFacts

_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```$", re.DOTALL)
_MONEY = re.compile(r"^\s*-?\$?\s*-?[0-9][0-9,]*(\.[0-9]+)?\s*$")

_NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}
_NULLABLE_NUM: dict[str, Any] = {"type": ["number", "null"]}

ANSWER_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["issues", "facts"],
    "properties": {
        "issues": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "type",
                    "summary",
                    "evidence",
                    "code",
                    "date",
                    "recommended_action",
                    "max_savings",
                    "confidence",
                ],
                "properties": {
                    "type": {"type": "string"},
                    "summary": {"type": "string"},
                    "evidence": {"type": "string"},
                    "code": _NULLABLE_STR,
                    "date": _NULLABLE_STR,
                    "recommended_action": {"type": "string"},
                    "max_savings": {"type": "number"},
                    "confidence": {"type": "number"},
                },
            },
        },
        "facts": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "patient_name",
                "patient_dob",
                "date_of_service",
                "facility_name",
                "medical_line_items",
            ],
            "properties": {
                "patient_name": _NULLABLE_STR,
                "patient_dob": _NULLABLE_STR,
                "date_of_service": _NULLABLE_STR,
                "facility_name": _NULLABLE_STR,
                "medical_line_items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": [
                            "cpt_code",
                            "date_of_service",
                            "description",
                            "billed_amount",
                            "patient_responsibility",
                        ],
                        "properties": {
                            "cpt_code": _NULLABLE_STR,
                            "date_of_service": _NULLABLE_STR,
                            "description": {"type": "string"},
                            "billed_amount": _NULLABLE_NUM,
                            "patient_responsibility": _NULLABLE_NUM,
                        },
                    },
                },
            },
        },
    },
}
"""JSON Schema of the answer, in the strict subset OpenAI structured output accepts
(every property required, no extra properties, null spelled as a type)."""

SCHEMA_VERSION = "answer-v1"
"""Changes whenever ANSWER_JSON_SCHEMA does; part of the response cache key."""


@dataclass
class ParsedAnswer:
    """The issues and facts read from one answer, or why they could not be."""

    issues: list[DetectedIssue] = field(default_factory=list)
    facts: ExtractedFacts = field(default_factory=ExtractedFacts)
    json_valid: bool = True
    parse_error: str | None = None


def _strip_fences(text: str) -> str:
    text = text.strip()
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text


def _loads(text: str) -> Any:
    """Parse the JSON document in `text`, tolerating a code fence or prose around it."""
    body = _strip_fences(text)
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        # Models often wrap the object in a sentence; the outermost braces hold it.
        start, end = body.find("{"), body.rfind("}")
        if start == -1 or end <= start:
            raise
        return json.loads(body[start : end + 1])


def _money(value: Any) -> Any:
    """'$1,200.00' -> 1200.0; anything else is left for pydantic to judge."""
    if isinstance(value, str) and _MONEY.match(value):
        return float(value.replace("$", "").replace(",", "").replace(" ", ""))
    return value


def _clean_issue(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    # null for a field with a default means "not given": let the default apply
    out = {k: v for k, v in item.items() if v is not None or k in ("code", "date")}
    if "max_savings" in out:
        out["max_savings"] = _money(out["max_savings"])
    conf = out.get("confidence")
    if isinstance(conf, int | float) and 1.0 < conf <= 100.0:
        out["confidence"] = conf / 100.0  # a percentage, as models often give it
    return out


def _clean_facts(facts: Any) -> Any:
    if not isinstance(facts, dict):
        return facts
    out = dict(facts)
    items = out.get("medical_line_items")
    if items is None:
        out.pop("medical_line_items", None)
    elif isinstance(items, list):
        cleaned = []
        for item in items:
            if isinstance(item, dict):
                item = {k: v for k, v in item.items() if v is not None or k != "description"}
                for key in ("billed_amount", "patient_responsibility"):
                    if key in item:
                        item[key] = _money(item[key])
            cleaned.append(item)
        out["medical_line_items"] = cleaned
    return out


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_answer(raw: str, *, truncated: bool = False) -> ParsedAnswer:
    """Read issues and facts from a model's raw text answer.

    Accepts the object `{"issues": [...], "facts": {...}}` (facts optional), or a
    bare list of issues, optionally in a ```json fence. `truncated` says the
    provider stopped at the token limit; it only sharpens the error message.
    """
    try:
        data = _loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = "answer truncated at the output token limit" if truncated else "not JSON"
        return ParsedAnswer(json_valid=False, parse_error=f"{reason}: {exc}")

    if isinstance(data, list):
        data = {"issues": data}
    if not isinstance(data, dict) or "issues" not in data:
        return ParsedAnswer(
            json_valid=False, parse_error="expected an object with an 'issues' list"
        )
    raw_issues = data.get("issues")
    if not isinstance(raw_issues, list):
        return ParsedAnswer(json_valid=False, parse_error="issues: expected a list")
    try:
        issues = [DetectedIssue.model_validate(_clean_issue(i)) for i in raw_issues]
        raw_facts = data.get("facts")
        facts = (
            ExtractedFacts.model_validate(_clean_facts(raw_facts))
            if raw_facts is not None
            else ExtractedFacts()
        )
    except ValidationError as exc:
        return ParsedAnswer(json_valid=False, parse_error=_describe(exc))
    return ParsedAnswer(issues=issues, facts=facts)
