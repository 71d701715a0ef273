"""The synthetic generator and the bundled sample suite."""

from __future__ import annotations

import filecmp
import re
from collections import Counter
from pathlib import Path

import pytest

from benchq.cases.generate import SAMPLE_SEED, SAMPLE_SIZE, generate_cases, generate_suite
from benchq.cases.schema import Case, DocumentType
from benchq.cases.suite import load_suite, sample_suite_path

ISSUE_TYPES = {"duplicate_charge", "overbilling", "unbundling", "upcoding", "arithmetic_error"}
_MONEY = re.compile(r"(?<![\d.,])\$?(\d{1,3}(?:,\d{3})+|\d+)\.(\d{2})(?!\d)")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _cents_in(text: str) -> set[int]:
    return {int(m.group(1).replace(",", "")) * 100 + int(m.group(2)) for m in _MONEY.finditer(text)}


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
    generate_suite(48, 5, tmp_path)
    suite = load_suite(tmp_path)
    assert len(suite.cases) == 48
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
        items = facts.medical_line_items
        assert items, case.id
        for item in items:
            assert item.cpt_code in text, (case.id, item.cpt_code)
            assert round(item.billed_amount * 100) in _cents_in(text), (case.id, item)
        first, _, last = facts.patient_name.rpartition(" ")
        assert facts.patient_name in text or f"{last}, {first}" in text, case.id
        assert facts.facility_name in text, case.id
        assert facts.date_of_service == min(i.date_of_service or "" for i in items)
        billed = sum(round(i.billed_amount * 100) for i in items)
        is_eob = case.truth.document_type is DocumentType.insurance_eob
        if "arithmetic_error" not in _detect(case) or is_eob:
            # The stated billed total is printed and equals the sum of the lines.
            assert billed in _cents_in(text), case.id
        if not _detect(case):
            assert case.truth.expected_savings == 0.0, case.id
        else:
            assert case.truth.expected_savings >= 0.0


def test_savings_of_a_lone_duplicate_is_the_repeated_line(many: list[Case]) -> None:
    checked = 0
    for case in many:
        if _detect(case) != {"duplicate_charge"}:
            continue
        items = case.truth.expected_facts.medical_line_items
        keys = Counter((i.cpt_code, i.date_of_service, i.billed_amount) for i in items)
        repeated = [i for i in items if keys[(i.cpt_code, i.date_of_service, i.billed_amount)] > 1]
        assert repeated, case.id
        assert case.truth.expected_savings == repeated[0].patient_responsibility
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
    }
    for name, marker in markers.items():
        assert any(marker in t for t in texts), name
    assert len({t.splitlines()[0] for t in texts}) > 20  # headers differ


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
