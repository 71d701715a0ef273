"""The synthetic generator and the bundled sample suite."""

from __future__ import annotations

import filecmp
import re
from collections import Counter
from pathlib import Path

import pytest

from benchq.cases.generate import SAMPLE_SEED, SAMPLE_SIZE, generate_cases, generate_suite
from benchq.cases.schema import AnyLineItem, Case, DocumentType
from benchq.cases.suite import load_suite, sample_suite_path

ISSUE_TYPES = {
    "duplicate_charge",
    "overbilling",
    "unbundling",
    "upcoding",
    "arithmetic_error",
    "balance_billing",
}
# Amounts with or without cents, with or without thousands separators.
_MONEY = re.compile(r"(?<![\d.,])\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?(?![\d,])")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _cents_in(text: str) -> set[int]:
    return {
        int(m.group(1).replace(",", "")) * 100 + int(m.group(2) or 0) for m in _MONEY.finditer(text)
    }


def _detect(case: Case) -> set[str]:
    return {i.type for i in case.truth.expected_issues if i.should_detect}


def _lookalikes(case: Case) -> set[str]:
    return {i.type for i in case.truth.expected_issues if not i.should_detect}


def test_same_seed_same_bytes_different_seed_different(tmp_path: Path) -> None:
    ids_a = generate_suite(30, 11, tmp_path / "a")
    ids_b = generate_suite(30, 11, tmp_path / "b")
    generate_suite(30, 12, tmp_path / "c")
    assert ids_a == ids_b and len(ids_a) == 30
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert len(a) == 60
    assert a == b
    assert a.keys() == c.keys()
    assert sum(a[k] != c[k] for k in a) > 50  # nearly every document changes
    assert all(v.endswith(b"\n") for v in a.values())


def test_generated_suite_loads_and_covers_types_and_issues(tmp_path: Path) -> None:
    generate_suite(56, 5, tmp_path)
    suite = load_suite(tmp_path)
    assert len(suite.cases) == 56
    assert {c.truth.document_type for c in suite.cases} == set(DocumentType)
    detect = set().union(*(_detect(c) for c in suite.cases))
    look = set().union(*(_lookalikes(c) for c in suite.cases))
    assert detect == ISSUE_TYPES
    assert look == ISSUE_TYPES
    assert any(not c.truth.expected_issues for c in suite.cases)
    assert any(len(_detect(c)) >= 2 for c in suite.cases)


@pytest.fixture(scope="module")
def many() -> list[Case]:
    return generate_cases(240, 2024)


def test_ground_truth_matches_the_text(many: list[Case]) -> None:
    for case in many:
        facts = case.truth.expected_facts
        text = case.text
        items = facts.line_items()
        assert items, case.id
        for item in items:
            code = item.item_code()
            assert code is None or code in text, (case.id, code)
            amount = item.item_amount()
            assert amount is not None and round(amount * 100) in _cents_in(text), (case.id, item)
        if facts.patient_name is not None:
            first, _, last = facts.patient_name.rpartition(" ")
            assert facts.patient_name in text or f"{last}, {first}" in text, case.id
        biller = facts.facility_name or facts.provider_name
        assert biller is not None and biller in text, case.id
        for name in (facts.provider_name, facts.insurance_company, facts.receipt_number):
            assert name is None or name in text, (case.id, name)
        assert facts.date_of_service == min(i.date_of_service or "" for i in items)
        billed = sum(round((i.item_amount() or 0) * 100) for i in items)
        is_eob = case.truth.document_type is DocumentType.insurance_eob
        if "arithmetic_error" not in _detect(case) or is_eob:
            # The stated billed total is printed and equals the sum of the lines.
            assert billed in _cents_in(text), case.id
        if not _detect(case):
            assert case.truth.expected_savings == 0.0, case.id
        else:
            assert (case.truth.expected_savings or 0) >= 0.0


def test_each_document_type_has_its_own_line_items_and_facts(many: list[Case]) -> None:
    lists = {
        DocumentType.medical_bill: "medical_line_items",
        DocumentType.dental_bill: "dental_line_items",
        DocumentType.pharmacy_receipt: "pharmacy_line_items",
        DocumentType.insurance_eob: "claim_line_items",
    }
    for case in many:
        facts = case.truth.expected_facts
        own = lists[case.truth.document_type]
        for kind in lists.values():
            assert bool(getattr(facts, kind)) == (kind == own), (case.id, kind)
        if case.truth.document_type is DocumentType.insurance_eob:
            assert facts.facility_name is None and facts.provider_name, case.id
            assert facts.insurance_company, case.id
            assert all(i.allowed_amount is not None for i in facts.claim_line_items)
    by_kind = Counter(c.truth.document_type for c in many)
    assert min(by_kind.values()) == 60
    physician_bills = [
        c for c in many if c.truth.expected_facts.facility_name is None
        and c.truth.document_type is DocumentType.medical_bill
    ]  # fmt: skip
    assert len(physician_bills) >= 3
    assert all(c.truth.expected_facts.provider_name for c in physician_bills)
    till_receipts = [c for c in many if c.truth.expected_facts.patient_name is None]
    assert till_receipts and all(
        c.truth.document_type is DocumentType.pharmacy_receipt for c in till_receipts
    )
    uncoded = [i for c in many for i in c.truth.expected_facts.line_items() if not i.item_code()]
    assert len(uncoded) >= 40
    dental = [i for c in many for i in c.truth.expected_facts.dental_line_items]
    assert all(i.cdt_code is None or i.cdt_code.startswith("D") for i in dental)
    assert any(i.tooth_number for i in dental)


def test_savings_of_a_lone_duplicate_is_the_repeated_line(many: list[Case]) -> None:
    checked = 0
    for case in many:
        if _detect(case) != {"duplicate_charge"}:
            continue
        items = case.truth.expected_facts.line_items()

        def key(i: AnyLineItem) -> tuple[object, ...]:
            return (i.item_code() or i.description, i.date_of_service, i.item_amount())

        keys = Counter(key(i) for i in items)
        repeated = [i for i in items if keys[key(i)] > 1]
        assert repeated, case.id
        owed = repeated[0].patient_responsibility
        assert case.truth.expected_savings == (
            owed if owed is not None else repeated[0].item_amount()
        )
        checked += 1
    assert checked >= 10


def test_layouts_and_formats_vary(many: list[Case]) -> None:
    texts = [c.text for c in many]
    markers = {
        "pipes": " | ",
        "key-value": "  Description: ",
        "eob columns": "Allowed",
        "ndc": "NDC",
        "cdt": "D0",
        "modifier": "-91",
        "iso date": "-0",
        "month name": ", 2024",
        "rx": "Rx",
        "dotted leaders": " ....",
        "facility fee": "Facility Fee",
        "physician": ", MD\n",
        "dentist": ", DDS\n",
        "receipt number": "Receipt",
    }
    for name, marker in markers.items():
        assert any(marker in t for t in texts), name
    assert len({t.splitlines()[0] for t in texts}) > 20  # headers differ
    # Amounts without cents ($240) and with thousands separators ($1,331.75).
    assert any(re.search(r"\$\d+(?![\d.,])", t) for t in texts)
    assert any(re.search(r"\$\d{1,3},\d{3}\.\d{2}", t) for t in texts)
    # A description wrapped onto the next line, under its own column.
    assert any(re.search(r"\n {20,}[a-z][^$\n]*\n", t) for t in texts)
    # OCR slips in labels and footers.
    assert any("Patlent" in t or "PATlENT" in t or "Beneflts" in t for t in texts)


def test_bundled_sample_suite_is_in_sync_and_covers_everything(tmp_path: Path) -> None:
    regenerated = tmp_path / "sample"
    generate_suite(SAMPLE_SIZE, SAMPLE_SEED, regenerated)
    sample = sample_suite_path()
    for sub in ("inputs", "expected_outputs"):
        cmp = filecmp.dircmp(sample / sub, regenerated / sub)
        assert not cmp.left_only and not cmp.right_only
        _, mismatch, errors = filecmp.cmpfiles(
            sample / sub, regenerated / sub, cmp.common_files, shallow=False
        )
        assert not mismatch and not errors, mismatch
    suite = load_suite(sample)
    assert len(suite.cases) >= 40
    assert {c.truth.document_type for c in suite.cases} == set(DocumentType)
    assert set().union(*(_detect(c) for c in suite.cases)) == ISSUE_TYPES
    assert set().union(*(_lookalikes(c) for c in suite.cases)) == ISSUE_TYPES
    assert sum(1 for c in suite.cases if not c.truth.expected_issues) >= 4
    by_type = Counter(c.truth.document_type for c in suite.cases)
    assert min(by_type.values()) >= 10


def test_rejects_empty_request(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_suite(0, 1, tmp_path)
