"""How a job's payload travels: one JSON text, read back whole, shown as ids only."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from benchq.cases.generate import generate_cases
from benchq.jobs.messages import (
    CaseBatch,
    SaveCases,
    decode,
    describe_args,
    describe_failure,
    encode,
)
from benchq.scoring.schema import CaseResult


def _batch() -> CaseBatch:
    return CaseBatch(
        run_id="r1", model_name="openai", store="sqlite:///x.db", cases=generate_cases(3, seed=9)
    )


def test_a_job_travels_as_json_text_and_comes_back_equal() -> None:
    batch = _batch()
    text = encode(batch)
    assert isinstance(text, str)
    assert decode(CaseBatch, text) == batch
    assert decode(CaseBatch, text.encode()) == batch


def test_a_dict_from_an_earlier_version_is_still_read() -> None:
    # Messages queued by a producer of the previous version carry a dict.
    batch = _batch()
    assert decode(CaseBatch, batch.model_dump(mode="json")) == batch


def test_the_cases_source_path_can_be_left_out() -> None:
    batch = _batch().model_copy(deep=True)
    batch.cases[0].source = "/home/someone/bills/doc_1.json"
    text = encode(batch, exclude={"cases": {"__all__": {"source"}}})
    assert "/home/someone" not in text
    assert decode(CaseBatch, text).cases[0].source is None


def test_a_bad_json_text_fails_validation_naming_where_not_quoting_the_bill() -> None:
    payload = json.loads(encode(_batch()))
    payload["cases"][0]["text"] = ["PATIENT: Jane Roe", "DOB: 1961-02-03"]
    with pytest.raises(ValidationError) as caught:
        decode(CaseBatch, json.dumps(payload))
    shown = describe_failure(caught.value)
    assert "Jane Roe" not in shown and "1961" not in shown
    assert "cases.0.text" in shown
    with pytest.raises(ValidationError):
        decode(CaseBatch, '{"run_id": "r1", "cases": [')  # cut short in transit


def test_a_job_is_shown_as_its_ids_however_it_is_carried() -> None:
    batch = _batch()
    ids = [c.id for c in batch.cases]
    expected = repr(({"run_id": "r1", "model_name": "openai", "cases": ids},))
    assert describe_args((batch,)) == expected
    assert describe_args((encode(batch),)) == expected
    assert describe_args((batch.model_dump(mode="json"),)) == expected
    for shown in (describe_args((batch,)), describe_args((encode(batch),))):
        for case in batch.cases:
            assert case.text not in shown


def test_saved_results_are_shown_as_their_case_names() -> None:
    result = CaseResult(document_name="doc_7", document_type="medical_bill", run_id="r1",
                        model_name="openai", raw_output="PATIENT: Jane Roe",
                        extraction_success=True)  # fmt: skip
    message = SaveCases(run_id="r1", model_name="openai", store="s", results=[result])
    expected = repr(({"run_id": "r1", "model_name": "openai", "cases": ["doc_7"]},))
    assert describe_args((message,)) == expected
    assert describe_args((encode(message),)) == expected
    assert decode(SaveCases, encode(message)) == message


def test_text_that_is_not_a_message_shows_only_when_short() -> None:
    assert describe_args(("r1", 3, None)) == repr(("r1", 3, None))
    bill = "PATIENT: Jane Roe, DOB 1961-02-03. " * 20
    assert describe_args((bill,)) == repr(("str",))
    # JSON-looking text that does not parse is not shown either
    assert describe_args(('{"run_id": "r1", "text": "Jane Roe' + "x" * 10,)) == repr(("str",))
    assert describe_args((b'{"cases": [{"id": "a"}]}',)) == repr(({"cases": ["a"]},))
