"""What a job that failed for good says about itself: where and what, never the bill."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from benchq.cases.generate import generate_cases
from benchq.jobs.messages import CaseBatch, describe_failure


def test_a_refused_job_message_is_described_without_the_bill_it_carries() -> None:
    (case,) = generate_cases(1, seed=5)
    payload = CaseBatch(
        run_id="r1", model_name="openai", store="sqlite:///x.db", cases=[case]
    ).model_dump(mode="json")
    # A producer of another benchq version sending the bill as its lines:
    # pydantic quotes the input it refused, name and birth date included.
    payload["cases"][0]["text"] = ["PATIENT: Jane Roe", "DOB: 1961-02-03"]
    with pytest.raises(ValidationError) as caught:
        CaseBatch.model_validate(payload)
    exc = caught.value
    assert "Jane Roe" in str(exc)  # what describe_failure must keep out

    shown = describe_failure(exc)
    assert "Jane Roe" not in shown and "1961" not in shown
    assert "cases.0.text: Input should be a valid string" in shown
    assert shown.startswith("ValidationError: 1 error(s) in CaseBatch")


def test_other_failures_keep_their_message() -> None:
    assert describe_failure(KeyError("ghost")) == "KeyError: 'ghost'"
