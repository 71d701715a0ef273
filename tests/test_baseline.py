"""The rule-based baseline: each rule and each way of writing a bill, on hand-written documents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchq.providers import baseline, baseline_parse, baseline_reference
from benchq.providers.base import ModelAnswer
from benchq.providers.baseline import BaselineProvider

HEADER = """Riverside Family Medicine
12 Oak St, Springfield, IL 62704
PATIENT STATEMENT

Patient: Jane A. Doe     DOB: 01/02/1980
Account #: 12345678
Statement Date: 03/20/2024
"""


def _bill(rows: str, total: str, note: str = "") -> str:
    table = f"Date          CPT        Description          Charge\n{rows}"
    return f"{HEADER}\n{table}\n\nTotal Charges:   {total}\n{note}"


def _types(answer: ModelAnswer) -> list[str]:
    return sorted(i.type for i in answer.issues)


@pytest.fixture(scope="module")
def provider() -> BaselineProvider:
    return BaselineProvider()


CLEAN = _bill(
    "03/05/2024    99213      Office visit         $130.00\n"
    "03/05/2024    85025      CBC with diff         $28.00\n"
    "03/05/2024    36415      Venipuncture          $12.00",
    "$170.00",
)


def test_clean_document_has_no_issues_and_facts_are_extracted(provider: BaselineProvider) -> None:
    answer = provider.analyze(CLEAN)
    assert answer.issues == []
    facts = answer.facts
    assert facts.patient_name == "Jane A. Doe"
    assert facts.patient_dob == "1980-01-02"
    assert facts.date_of_service == "2024-03-05"
    assert facts.facility_name == "Riverside Family Medicine"
    assert [i.cpt_code for i in facts.medical_line_items] == ["99213", "85025", "36415"]
    assert [i.billed_amount for i in facts.medical_line_items] == [130.0, 28.0, 12.0]
    assert provider.kind == "baseline"
    assert answer.json_valid and answer.input_tokens is None and answer.latency_ms >= 0
    raw = json.loads(answer.raw_output)
    assert raw["issues"] == [] and raw["facts"]["patient_name"] == "Jane A. Doe"


def test_duplicate_charge(provider: BaselineProvider) -> None:
    text = _bill(
        "03/05/2024    85025      CBC with diff         $28.00\n"
        "03/05/2024    85025      CBC with diff         $28.00",
        "$56.00",
    )
    answer = provider.analyze(text)
    assert _types(answer) == ["duplicate_charge"]
    issue = answer.issues[0]
    assert issue.code == "85025" and issue.date == "2024-03-05" and issue.max_savings == 28.0
    assert "85025" in issue.evidence
    assert json.loads(answer.raw_output)["issues"][0]["type"] == "duplicate_charge"


def test_repeats_with_modifier_or_other_date_are_not_duplicates(provider: BaselineProvider) -> None:
    text = _bill(
        "03/05/2024    85025      CBC with diff         $28.00\n"
        "03/05/2024    85025-91   CBC with diff         $28.00\n"
        "03/12/2024    85025      CBC with diff         $28.00",
        "$84.00",
    )
    assert provider.analyze(text).issues == []


def test_overbilling_only_well_above_reference(provider: BaselineProvider) -> None:
    text = _bill("03/05/2024    85025      CBC with diff         $95.00", "$95.00")
    answer = provider.analyze(text)
    assert _types(answer) == ["overbilling"]
    assert answer.issues[0].max_savings == 63.0  # the baseline's own reference: 32.00
    slightly = _bill("03/05/2024    85025      CBC with diff         $40.00", "$40.00")
    assert provider.analyze(slightly).issues == []


def test_unbundling_same_day_only(provider: BaselineProvider) -> None:
    rows = (
        "03/05/2024    80053      Comprehensive panel   $45.00\n"
        "{d}    80048      Basic panel           $32.00"
    )
    answer = provider.analyze(_bill(rows.format(d="03/05/2024"), "$77.00"))
    assert _types(answer) == ["unbundling"]
    assert answer.issues[0].code == "80048" and answer.issues[0].max_savings == 32.0
    assert provider.analyze(_bill(rows.format(d="03/19/2024"), "$77.00")).issues == []


def test_upcoding_against_documented_minutes(provider: BaselineProvider) -> None:
    row = "03/05/2024    99215      Office visit         $260.00"
    short = provider.analyze(
        _bill(row, "$260.00", "\nVisit note: follow-up. Total time 10 minutes.")
    )
    assert _types(short) == ["upcoding"]
    assert short.issues[0].max_savings == 170.0  # 10 minutes supports 99212 (90.00)
    long = _bill(row, "$260.00", "\nClinical summary: 45-minute visit for chest pain.")
    assert provider.analyze(long).issues == []


def test_arithmetic_error_and_legitimate_balance(provider: BaselineProvider) -> None:
    rows = (
        "03/05/2024    99213      Office visit         $130.00\n"
        "03/05/2024    36415      Venipuncture          $12.00"
    )
    answer = provider.analyze(_bill(rows, "$152.00"))
    assert _types(answer) == ["arithmetic_error"]
    assert answer.issues[0].max_savings == 10.0
    assert "152.00" in answer.issues[0].evidence
    with_payment = _bill(rows, "$142.00\nPayment received:  -$42.00\nBalance Due:  $100.00")
    assert provider.analyze(with_payment).issues == []


def test_eob_patient_column_and_pharmacy_ndc(provider: BaselineProvider) -> None:
    eob = """Keystone Health
EXPLANATION OF BENEFITS
Patient: Omar Lee
Provider: Lakeview Medical Center

Service Date  Code   Description   Billed   Allowed   Plan Paid   You Owe
2024-02-01    99213  Office visit  $130.00  $90.00    $72.00      $18.00
2024-02-01    85025  CBC           $28.00   $20.00    $16.00      $4.00
Totals                             $158.00  $110.00   $88.00      $32.00
"""
    answer = provider.analyze(eob)
    assert _types(answer) == ["arithmetic_error"]
    assert answer.issues[0].max_savings == 10.0  # patient total 32.00 vs 22.00
    assert answer.facts.facility_name == "Lakeview Medical Center"
    assert [i.patient_responsibility for i in answer.facts.medical_line_items] == [18.0, 4.0]
    receipt = """CareWay Pharmacy
Customer: Lee, Omar

Rx# 6023418  03/05/24  AMOXICILLIN 500 MG CAPSULE  NDC 00093-4155-73  QTY 30  $14.00
Rx# 6023418  03/05/24  AMOXICILLIN 500 MG CAPSULE  NDC 00093-4155-73  QTY 30  $14.00

TOTAL:    $28.00
"""
    answer = provider.analyze(receipt)
    assert _types(answer) == ["duplicate_charge"]
    assert answer.facts.patient_name == "Omar Lee"
    assert answer.issues[0].code == "00093-4155-73" and answer.issues[0].date == "2024-03-05"


def test_amounts_without_cents_and_with_separators(provider: BaselineProvider) -> None:
    text = _bill(
        "03/05/2024    99284      ER visit, high severity      $1,250\n"
        "03/05/2024    71046      Chest X-ray, 2 views           $110\n"
        "03/05/2024    85025      CBC with diff                $32.50",
        "$1,392.50",
    )
    answer = provider.analyze(text)
    assert answer.issues == []
    items = answer.facts.medical_line_items
    assert [(i.cpt_code, i.billed_amount) for i in items] == [
        ("99284", 1250.0),
        ("71046", 110.0),
        ("85025", 32.5),
    ]


def test_uncoded_lines_are_items_and_the_total_adds_up(provider: BaselineProvider) -> None:
    text = _bill(
        "03/05/2024    99213      Office visit         $130.00\n"
        "03/05/2024               Facility Fee          $20.00\n"
        "03/05/2024               Medical supplies      $12.50",
        "$162.50",
    )
    answer = provider.analyze(text)
    assert answer.issues == []  # no arithmetic error: the uncoded lines are counted
    items = answer.facts.medical_line_items
    assert [(i.cpt_code, i.billed_amount) for i in items] == [
        ("99213", 130.0),
        (None, 20.0),
        (None, 12.5),
    ]
    assert items[1].description == "Facility Fee"
    wrong = _bill(
        "03/05/2024    99213      Office visit         $130.00\n"
        "03/05/2024               Facility Fee          $20.00",
        "$170.00",
    )
    assert _types(provider.analyze(wrong)) == ["arithmetic_error"]


def test_a_facility_fee_billed_twice_is_a_duplicate(provider: BaselineProvider) -> None:
    text = _bill(
        "03/05/2024               Facility Fee          $45\n"
        "03/05/2024               Facility Fee          $45\n"
        "03/05/2024    99213      Office visit         $130",
        "$220",
    )
    assert _types(provider.analyze(text)) == ["duplicate_charge"]


def test_no_arithmetic_error_from_lines_it_could_not_read(provider: BaselineProvider) -> None:
    """The total counts a line the baseline cannot place: it must not call the sum wrong."""
    stray_amount = _bill(
        "03/05/2024    99213      Office visit         $130.00\n"
        "                                                $15.00",  # an amount with no words
        "$145.00",
    )
    assert provider.analyze(stray_amount).issues == []
    coded_without_amount = _bill(
        "03/05/2024    99213      Office visit         $130.00\n"
        "03/05/2024    81003      Urinalysis (see attached)",  # its price is elsewhere
        "$142.00",
    )
    assert provider.analyze(coded_without_amount).issues == []
    label_line = _bill(
        "03/05/2024    99213      Office visit         $130.00\n"
        "Supplies: $12.00",  # an item, or information? the sum decides nothing
        "$142.00",
    )
    assert provider.analyze(label_line).issues == []
    # The same bills with everything readable and a wrong total are flagged.
    readable = _bill("03/05/2024    99213      Office visit         $130.00", "$145.00")
    assert _types(provider.analyze(readable)) == ["arithmetic_error"]


def test_wrapped_descriptions_with_the_amount_on_either_line(provider: BaselineProvider) -> None:
    last = _bill(
        "03/05/2024    20610      Arthrocentesis, aspiration or\n"
        "                         injection, major joint      $265.00\n"
        "03/05/2024    J3301      Triamcinolone, per 10 mg     $10.00",
        "$275.00",
    )
    answer = provider.analyze(last)
    assert answer.issues == []
    assert [i.billed_amount for i in answer.facts.medical_line_items] == [265.0, 10.0]
    first = _bill(
        "03/05/2024    J1100      Injection, dexamethasone      $63.00\n"
        "                         sodium phosphate (9 units)\n"
        "03/05/2024    96372      Injection, IM                 $40.00",
        "$103.00",
    )
    # Nine units at the reference 7.00 each: not overbilled, once the wrapped line is read.
    assert provider.analyze(first).issues == []


def test_a_ledger_of_bare_whole_numbers(provider: BaselineProvider) -> None:
    ledger = """Bright Dental
Patient: Noah Castillo

06/01/2024  D0120  Periodic oral evaluation        62
06/01/2024  D0272  Bitewings - two images          48
06/01/2024  D0272  Bitewings - two images          48

Total this visit                                  158
"""
    answer = provider.analyze(ledger)
    assert _types(answer) == ["duplicate_charge"]
    assert [i.billed_amount for i in answer.facts.medical_line_items] == [62.0, 48.0, 48.0]


def test_otc_items_twice_on_a_receipt_are_a_purchase(provider: BaselineProvider) -> None:
    receipt = """GREENLEAF DRUG
03/03/2024  14:22

ACETAMINOPHEN 500MG 100CT        8.99
ACETAMINOPHEN 500MG 100CT        8.99
BANDAGES FABRIC 30CT             4.49

TOTAL                           22.47
"""
    answer = provider.analyze(receipt)
    assert answer.issues == []
    assert answer.facts.date_of_service == "2024-03-03"
    assert [i.billed_amount for i in answer.facts.medical_line_items] == [8.99, 8.99, 4.49]


def test_the_baseline_does_not_know_the_generator() -> None:
    """Importing the baseline loads nothing of the generator (its catalogue, rules, renderer)."""
    code = (
        "import sys, benchq.providers.baseline; "
        "print(sorted(m for m in sys.modules if m.startswith('benchq.cases')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out.replace("'", '"')))
    assert not loaded & {"benchq.cases.catalog", "benchq.cases.generate", "benchq.cases.render"}
    sources = [
        Path(baseline.__file__).read_text(),
        Path(baseline_parse.__file__).read_text(),
        Path(baseline_reference.__file__).read_text(),
    ]
    assert not any("benchq.cases" in src.replace("`benchq.cases.catalog`", "") for src in sources)


def test_a_numbered_label_is_not_an_amount(provider: BaselineProvider) -> None:
    """`Receipt No. 77120` is an identifier: neither a code with a price nor part of a sum."""
    receipt = """CORNER PHARMACY
Customer: Lee, Ann
Receipt No. 77120

Rx 4410987   Filled 11/05/2023
  LISINOPRIL 20MG TAB     qty 90
  Copay: $5.00

Total copay due: $5.00
"""
    answer = provider.analyze(receipt)
    assert answer.issues == []
    assert [i.billed_amount for i in answer.facts.medical_line_items] == [5.0]
