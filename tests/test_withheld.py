"""What a worker's reports give instead of a message body it cannot run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchq.workers.withheld import withheld_body

BILL = "PATIENT: Zoë Müller   DOB: 1961-02-03   MEMBER ID: XQ-7741"


@pytest.mark.parametrize("raw", [BILL, BILL.encode(), bytearray(BILL.encode())])
def test_the_body_is_given_as_its_size_in_bytes_never_its_text(raw: object) -> None:
    text = withheld_body(SimpleNamespace(body=raw), raw)
    assert f"{len(BILL.encode())} bytes" in text  # bytes, not characters: ë and ü are two each
    assert "Zoë" not in text and "1961" not in text and "XQ-7741" not in text


def test_a_message_without_a_body_it_can_measure_still_withholds_it() -> None:
    assert withheld_body(SimpleNamespace(body=None)) == "(body withheld, it may hold bills)"
    assert withheld_body(object()) == "(body withheld, it may hold bills)"
