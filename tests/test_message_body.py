"""benchq's task body format: Celery's (args, kwargs, embed), a job's JSON text carried as it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kombu.exceptions import ContentDisallowed, DecodeError, EncodeError
from kombu.serialization import dumps as kombu_dumps
from kombu.serialization import loads as kombu_loads

from benchq.cases.generate import generate_cases
from benchq.cases.suite import load_suite
from benchq.jobs import body
from benchq.jobs.messages import CaseBatch, decode, encode

EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": {"task": "x", "args": [1]}}


ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "suite", [ROOT / "tests" / "suites" / "handwritten", ROOT / "benchq" / "cases" / "sample"]
)
def test_bills_written_by_people_travel_byte_for_byte(suite: Path) -> None:
    # The hand-written suite (bills as people write them: quotes, tabs,
    # accents, long lines) and the bundled sample in the original's layout.
    cases = load_suite(suite).cases
    assert cases
    text = encode(CaseBatch(run_id="r", model_name="m", store="s", cases=cases))
    args, kwargs, embed = body.loads(body.dumps(((text,), {}, EMBED)))
    assert args == [text] and (kwargs, embed) == ({}, EMBED)
    assert decode(CaseBatch, args[0]).cases == cases


def _job_text() -> str:
    batch = CaseBatch(run_id="r1", model_name="m", store="s", cases=generate_cases(4, seed=3))
    return encode(batch)


def test_a_job_body_comes_back_equal_with_its_text_unescaped() -> None:
    text = _job_text()
    assert len(text) >= body.RAW_MIN_CHARS and '"' in text and "\\n" in text
    written = body.dumps(((text,), {"k": 1}, EMBED))
    head, _, tail = written.partition("\n")
    assert tail == text  # carried as it is: no layer of escaping
    assert "\n" not in head
    assert body.loads(written) == ([text], {"k": 1}, EMBED)
    assert body.loads(written.encode()) == ([text], {"k": 1}, EMBED)
    assert body.loads(memoryview(written.encode())) == ([text], {"k": 1}, EMBED)
    # Celery's JSON would have escaped every quote of the text once more.
    assert len(written) < len(json.dumps([[text], {"k": 1}, EMBED]))


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("short", 3, None),
        ({"a": "x" * 5000},),  # a long text inside a dict stays in the header
        ("x" * 2000, "line\nbreak\r\n\u2028 é \x00" * 200, 7),  # the longest text is carried
        ("\n" * 3000,),  # a text of newlines: only the header's end splits
        ("", "{" * 1500),
    ],
)
def test_any_task_body_comes_back_equal(args: tuple[Any, ...]) -> None:
    kwargs = {"when": "later", "text": "a\nb"}
    written = body.dumps((args, kwargs, EMBED))
    assert body.loads(written) == (list(args), kwargs, EMBED)


def test_through_kombu_the_content_type_names_the_format() -> None:
    body.register()
    body.register()  # idempotent
    text = _job_text()
    content_type, encoding, data = kombu_dumps(((text,), {}, EMBED), serializer=body.SERIALIZER)
    assert (content_type, encoding) == (body.CONTENT_TYPE, "utf-8")
    accept = {"application/json", body.CONTENT_TYPE}
    assert kombu_loads(data, content_type, encoding, accept=accept) == ([text], {}, EMBED)
    # A consumer that accepts only JSON refuses it (workers list both).
    with pytest.raises(ContentDisallowed):
        kombu_loads(data, content_type, encoding, accept={"application/json"})


def test_what_is_not_a_task_body_cannot_be_written() -> None:
    body.register()
    with pytest.raises(EncodeError):
        kombu_dumps({"not": "a tuple"}, serializer=body.SERIALIZER)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("", "not JSON"),
        ("not json\n{}", "not JSON"),
        ('{"a": 1}', "not \\[args"),
        ("[[], {}, {}]", "not \\[args"),
        ("[[], {}, {}, null]\ntrailing text", "no argument for it"),
        ("[[null], {}, {}, 0]", "not in the body"),
        ("[[null], {}, {}, 3]\ntext", "not in the body"),
        ("[[null], {}, {}, -1]\ntext", "not in the body"),
        ('[[null], {}, {}, "0"]\ntext', "not in the body"),
        ("[[null, null], {}, {}, true]\ntext", "not in the body"),
        ('[{"a": 1}, {}, {}, null]', "args is not a list"),
        (b"\xff\xfe", "utf-8"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),  # deep nesting: refused, not a crash
    ],
)
def test_a_body_this_format_did_not_write_is_refused_saying_why(data: Any, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        body.loads(data)
