"""Parsing model answers, and the retry rules, as plain functions."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from typing import Any

import pytest

from benchq.errors import ConfigError, ProviderRejected, ProviderRetryable
from benchq.providers.answer import ANSWER_JSON_SCHEMA, parse_answer
from benchq.providers.prompts import available_versions, load_prompt
from benchq.providers.retry import RetryPolicy, call_with_retry_async, parse_retry_after

ISSUE = {"type": "overbilling", "summary": "s", "evidence": "e", "confidence": 0.7}


def test_object_with_issues_and_facts() -> None:
    parsed = parse_answer(json.dumps({"issues": [ISSUE], "facts": {"patient_name": "A"}}))
    assert parsed.json_valid and parsed.issues[0].type == "overbilling"
    assert parsed.facts.patient_name == "A"


@pytest.mark.parametrize(
    "raw",
    [
        "```json\n" + json.dumps({"issues": [ISSUE]}) + "\n```",
        "```\n" + json.dumps({"issues": [ISSUE]}) + "```",
        "Here is my audit:\n" + json.dumps({"issues": [ISSUE]}) + "\nHope it helps.",
        json.dumps([ISSUE]),
    ],
)
def test_fences_prose_and_bare_lists_are_tolerated(raw: str) -> None:
    parsed = parse_answer(raw)
    assert parsed.json_valid and len(parsed.issues) == 1


def test_common_model_quirks_are_normalised() -> None:
    raw = {
        "issues": [
            {
                "type": "duplicate_charge",
                "summary": None,
                "confidence": 85,
                "max_savings": "$1,200.50",
            }
        ],
        "facts": {
            "patient_name": None,
            "medical_line_items": [{"description": None, "billed_amount": "$99.00"}],
        },
    }
    parsed = parse_answer(json.dumps(raw))
    assert parsed.json_valid, parsed.parse_error
    issue = parsed.issues[0]
    assert issue.confidence == pytest.approx(0.85) and issue.max_savings == 1200.5
    assert issue.summary == ""
    assert parsed.facts.medical_line_items[0].billed_amount == 99.0


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", "not JSON"),
        ('{"issues": [', "not JSON"),
        ('{"findings": []}', "'issues'"),
        ('{"issues": {}}', "expected a list"),
        ('{"issues": [{"summary": "no type"}]}', "type"),
        ('{"issues": [{"type": "x", "confidence": 400}]}', "confidence"),
        ("42", "'issues'"),
    ],
)
def test_invalid_answers_say_why(raw: str, error: str) -> None:
    parsed = parse_answer(raw)
    assert not parsed.json_valid and parsed.issues == []
    assert error in (parsed.parse_error or "")


def test_truncation_is_named() -> None:
    assert "truncated" in (parse_answer('{"issues": [', truncated=True).parse_error or "")


def test_schema_is_strict_mode_compatible() -> None:
    def walk(node: dict[str, Any]) -> None:
        if node.get("type") == "object":
            props = node["properties"]
            assert node["additionalProperties"] is False
            assert set(node["required"]) == set(props)
            for child in props.values():
                walk(child)
        if "items" in node:
            walk(node["items"])

    walk(ANSWER_JSON_SCHEMA)


def test_prompt_is_a_versioned_file() -> None:
    assert "v1" in available_versions()
    prompt = load_prompt("v1")
    assert "JSON" in prompt.text and len(prompt.digest) == 16
    with pytest.raises(ConfigError, match=r"prompt_version 'v9'.*known: v1"):
        load_prompt("v9")
    with pytest.raises(ConfigError):
        load_prompt("../etc/passwd")


def test_retry_after_header_forms() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (parse_retry_after({"Retry-After": future}) or 0) <= 30
    assert parse_retry_after({}) is None and parse_retry_after({"Retry-After": "soon"}) is None


def test_retry_stops_at_once_on_rejection_and_on_too_long_retry_after() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(max_attempts=5, initial_delay=0.01, max_retry_after=60, sleep=record)
    calls = 0

    async def rejected() -> None:
        nonlocal calls
        calls += 1
        raise ProviderRejected("401")

    with pytest.raises(ProviderRejected):
        asyncio.run(call_with_retry_async(rejected, policy))
    assert calls == 1

    async def come_back_tomorrow() -> None:
        raise ProviderRetryable("429", retry_after=86400)

    with pytest.raises(ProviderRetryable):
        asyncio.run(call_with_retry_async(come_back_tomorrow, policy))
    assert waits == []  # a worker is not parked for a day


def test_retry_reports_attempts_and_every_failure() -> None:
    seen: list[BaseException] = []
    outcomes: list[Exception | None] = [ProviderRetryable("a"), ProviderRetryable("b"), None]

    async def flaky() -> str:
        outcome = outcomes.pop(0)
        if outcome:
            seen.append(outcome)
            raise outcome
        return "ok"

    policy = RetryPolicy(max_attempts=3, initial_delay=0.01)
    assert asyncio.run(call_with_retry_async(flaky, policy)) == ("ok", 3)
    assert [str(e) for e in seen] == ["a", "b"]
