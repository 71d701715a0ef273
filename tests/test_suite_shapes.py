"""Suites in the original layout as people write them: the hand-written suite loads, every shape.

`tests/suites/handwritten` was written by hand (not by benchq's generator): medical,
dental, pharmacy and EOB documents, facts missing or null, fields benchq does not
know, amounts without cents and with thousands separators, uncoded lines, wrapped
lines, an OCR'd scan.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchq.cases.schema import Case, DocumentType, GroundTruth
from benchq.cases.suite import check_suite, load_suite
from benchq.errors import SuiteError

HANDWRITTEN = Path(__file__).parent / "suites" / "handwritten"


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return {c.id: c for c in load_suite(HANDWRITTEN).cases}


def test_the_whole_suite_loads_with_warnings_only_for_unknown_fields() -> None:
    report = check_suite(HANDWRITTEN)
    assert report.errors == []
    assert len(report.cases) == 15
    assert {c.truth.document_type for c in report.cases} == set(DocumentType)
    warned = {Path(w.path).name: w.detail for w in report.warnings}
    assert warned == {
        "clinic_ocr_scan.json": "fields benchq does not know, kept as they are: source_note",
        "ortho_wrapped_lines.json": "fields benchq does not know, kept as they are: "
        "notes, expected_issues[0].severity",
    }


def test_medical_amounts_without_cents_separators_and_uncoded_lines(
    cases: dict[str, Case],
) -> None:
    er = cases["er_visit_facility_fee"].truth.expected_facts
    assert [(i.cpt_code, i.billed_amount) for i in er.medical_line_items] == [
        ("99284", 1250.0),
        (None, 240.0),
        ("71046", 186.0),
        ("85025", 42.0),
        ("36415", 18.0),
        (None, 36.5),
    ]
    assert er.patient_dob is None  # the key is absent
    hospital = cases["hospital_arithmetic"].truth.expected_facts.medical_line_items
    assert hospital[0].billed_amount == 2140.0  # written as the string "2,140.00"
    assert hospital[4].item_code() is None and hospital[4].item_amount() == 1560.0


def test_dental_items_keep_their_own_fields(cases: dict[str, Case]) -> None:
    facts = cases["dental_crown"].truth.expected_facts
    assert facts.medical_line_items == []
    items = facts.dental_line_items
    assert [i.cdt_code for i in items] == ["D2740", "D2950", "D2950", None, "D0220"]
    assert [i.tooth_number for i in items[:3]] == ["30", "30", "31"]  # 30 was a JSON integer
    assert [i.item_amount() for i in items] == [1195.0, 285.0, 285.0, 160.0, 32.0]
    assert facts.provider_name == "Dr. Paul Whitman DDS"
    assert facts.insurance_company == "Delta Coastal"
    ledger = cases["dental_duplicate_xray"].truth.expected_facts
    assert ledger.patient_dob is None  # written as null
    assert [i.item_code() for i in ledger.line_items()][3:5] == ["D0272", "D0272"]


def test_pharmacy_items_have_an_amount_and_often_no_code(cases: dict[str, Case]) -> None:
    otc = cases["pharmacy_otc"].truth.expected_facts
    assert otc.patient_name is None
    assert otc.receipt_number == "0412-118-55309"
    assert [(i.ndc_code, i.amount) for i in otc.pharmacy_line_items] == [
        (None, 8.99),
        (None, 4.49),
        (None, 6.58),
        (None, 12.99),
    ]
    fills = cases["pharmacy_duplicate_fill"].truth.expected_facts
    assert fills.receipt_number == "77120"  # a JSON integer, read as its digits
    assert [i.item_code() for i in fills.pharmacy_line_items] == [
        "00378-2127-77",
        "00378-2127-77",
        "68180-0514-03",
    ]  # written as "ndc"
    assert fills.pharmacy_line_items[0].rx_number == "4410923"


def test_eob_claim_items_provider_and_insurer_instead_of_facility(cases: dict[str, Case]) -> None:
    eob = cases["eob_clean"].truth.expected_facts
    assert eob.facility_name is None
    assert eob.provider_name == "Lakeshore Women's Health Associates"
    assert eob.insurance_company == "Summit Mutual Health Plan"
    lines = eob.claim_line_items
    assert [(i.cpt_code, i.billed_amount, i.allowed_amount) for i in lines] == [
        ("99396", 295.0, 182.4),
        ("88142", 96.0, 31.1),
        ("99213", 160.0, 98.7),
    ]
    assert [i.plan_paid for i in lines] == [182.4, 31.1, 78.96]  # the last as insurance_paid
    assert [i.patient_responsibility for i in lines] == [0.0, 0.0, 19.74]


def test_null_and_missing_values_and_unknown_fields(cases: dict[str, Case]) -> None:
    physician = cases["physician_bill_provider"].truth
    assert physician.expected_facts.facility_name is None
    assert physician.expected_savings is None  # null: not stated
    assert cases["eob_clean"].truth.expected_savings == 0.0  # absent: the default
    ortho = cases["ortho_wrapped_lines"].truth
    assert ortho.model_extra == {"notes": "written from a real statement layout; amounts changed"}
    assert ortho.expected_issues[0].model_extra == {"severity": "high"}
    assert cases["balance_billing"].truth.expected_issues[0].should_detect is True  # omitted


def test_every_case_survives_the_queue_message_round_trip(cases: dict[str, Case]) -> None:
    # Cases travel to workers as model_dump(mode="json"); nothing may be lost or renamed away.
    for case in cases.values():
        message = json.loads(json.dumps(case.model_dump(mode="json", exclude={"source"})))
        back = Case.model_validate(message)
        assert back == case.model_copy(update={"source": None}), case.id


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "not a boolean"),
        ("about $40", "expected an amount"),
        ([40], "valid number"),
    ],
)
def test_amounts_that_are_not_money_are_refused(value: object, message: str) -> None:
    data = {
        "document_type": "pharmacy_receipt",
        "expected_facts": {"pharmacy_line_items": [{"amount": value}]},
    }
    with pytest.raises(ValueError, match=message):
        GroundTruth.model_validate(data)


def test_a_ground_truth_may_be_almost_empty(tmp_path: Path) -> None:
    (tmp_path / "inputs").mkdir()
    (tmp_path / "expected_outputs").mkdir()
    (tmp_path / "inputs" / "a.txt").write_text("Receipt\n")
    (tmp_path / "expected_outputs" / "a.json").write_text(
        '{"document_type": "pharmacy_receipt", "expected_issues": null, "expected_facts": null}'
    )
    (case,) = load_suite(tmp_path).cases
    assert case.truth.expected_issues == []
    assert case.truth.expected_facts.line_items() == []
    (tmp_path / "expected_outputs" / "a.json").write_text('{"expected_issues": []}')
    with pytest.raises(SuiteError, match=r"a\.json: document_type: Field required"):
        load_suite(tmp_path)
