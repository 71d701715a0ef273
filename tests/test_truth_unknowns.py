"""The shortcut that spares loading a walk of every ground truth for unknown fields.

`validate_truth` says whether any object of a truth holds a field the
schema does not define; only then is the truth walked. It must never say
"none" wrongly (a warning lost), and says "some" only when there are.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from benchq.cases.generate import generate_cases
from benchq.cases.schema import (
    LINE_ITEM_KINDS,
    ClaimLineItem,
    DentalLineItem,
    ExpectedFacts,
    ExpectedIssue,
    GroundTruth,
    MedicalLineItem,
    PharmacyLineItem,
    validate_truth,
)
from benchq.cases.suite import _unknown_fields, sample_suite_path

ROOT = Path(__file__).resolve().parent.parent
TRUTH_FILES = sorted(
    [
        *(ROOT / "tests" / "suites" / "handwritten" / "expected_outputs").glob("*.json"),
        *(sample_suite_path() / "expected_outputs").glob("*.json"),
    ]
)


def _objects(data: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every JSON object of a truth, with where it is."""
    found = [(where, data)] if isinstance(data, dict) else []
    items: Any = data.items() if isinstance(data, dict) else []
    if isinstance(data, list):
        items = enumerate(data)
    for key, value in items:
        found += _objects(value, f"{where}/{key}")
    return found


def _agrees(data: dict[str, Any]) -> tuple[bool, list[str]]:
    truth, flagged = validate_truth(data)
    unknown = _unknown_fields(truth)
    assert flagged or not unknown, f"unknown fields {unknown} missed by the shortcut"
    assert flagged == bool(unknown), "flagged a truth without unknown fields"
    return flagged, unknown


def test_written_truths_have_the_same_warnings_with_the_shortcut() -> None:
    assert len(TRUTH_FILES) >= 15 + 56  # the hand-written suite and the sample, both found
    for path in TRUTH_FILES:
        _agrees(json.loads(path.read_text()))


def _base_truths() -> list[dict[str, Any]]:
    written = [json.loads(p.read_text()) for p in TRUTH_FILES]
    generated = [c.truth.model_dump(mode="json") for c in generate_cases(40, seed=3)]
    return written + generated


def test_an_unknown_key_in_any_object_is_seen() -> None:
    checked = 0
    for base in _base_truths():
        _agrees(base)
        for where, _ in _objects(base):
            data = copy.deepcopy(base)
            target = data
            for part in [p for p in where.split("/") if p]:
                target = target[int(part) if isinstance(target, list) else part]
            if "benchq_note" in target:
                continue
            target["benchq_note"] = "added"
            flagged, unknown = _agrees(data)
            if any(name.endswith("benchq_note") for name in unknown):
                assert flagged
                checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("dental_line_items", "tooth"),
        ("dental_line_items", "tooth_number"),
        ("pharmacy_line_items", "ndc"),
        ("pharmacy_line_items", "ndc_code"),
        ("claim_line_items", "insurance_paid"),
        ("claim_line_items", "plan_paid"),
    ],
)
def test_alias_spellings_are_known_and_not_flagged(kind: str, key: str) -> None:
    data = {
        "document_type": "medical_bill",
        "expected_facts": {kind: [{"description": "x", "billed_amount": 10, key: "7"}]},
    }
    assert _agrees(data) == (False, [])


def test_what_the_schema_does_not_define_is_flagged_at_every_level() -> None:
    data = {
        "document_type": "medical_bill",
        "reviewer": "kim",
        "expected_issues": [{"type": "duplicate_charge", "severity": "high"}],
        "expected_facts": {"ward": "3B", "medical_line_items": [{"cpt_code": "1", "units": 2}]},
    }
    flagged, unknown = _agrees(data)
    assert flagged
    assert unknown == [
        "reviewer",
        "expected_issues[0].severity",
        "expected_facts.ward",
        "expected_facts.medical_line_items[0].units",
    ]


_NULL_MEANS_DEFAULT: list[tuple[type, dict[str, Any], str, Any]] = [
    (GroundTruth, {"document_type": "medical_bill"}, "expected_issues", []),
    (GroundTruth, {"document_type": "medical_bill"}, "expected_facts", ExpectedFacts()),
    (ExpectedIssue, {"type": "duplicate_charge"}, "description", ""),
    (ExpectedIssue, {"type": "duplicate_charge"}, "should_detect", True),
    *((ExpectedFacts, {}, kind, []) for kind in LINE_ITEM_KINDS),
]


@pytest.mark.parametrize(("model", "base", "field", "default"), _NULL_MEANS_DEFAULT)
def test_null_means_the_default_from_json_and_from_python(
    model: type[Any], base: dict[str, Any], field: str, default: Any
) -> None:
    data = {**base, field: None}
    for read in (model.model_validate(data), model.model_validate_json(json.dumps(data))):
        assert getattr(read, field) == default
        assert not read.model_extra
        # and written back as an object without the field is, never as null
        written = json.loads(read.model_dump_json())[field]
        assert written is not None
        assert written == json.loads(model.model_validate(base).model_dump_json())[field]


def test_a_wrong_type_is_still_refused_where_null_means_the_default() -> None:
    with pytest.raises(ValidationError, match="expected_issues"):
        GroundTruth.model_validate({"document_type": "medical_bill", "expected_issues": "none"})
    with pytest.raises(ValidationError, match="should_detect"):
        ExpectedIssue.model_validate_json('{"type": "x", "should_detect": "maybe"}')


def test_reading_a_truth_from_json_builds_no_python_dict_first() -> None:
    # Reading a job's cases is JSON mode: a validator that saw the raw object
    # would make pydantic build Python dicts of the JSON first (twice as slow).
    for model in (GroundTruth, ExpectedFacts, ExpectedIssue, MedicalLineItem, DentalLineItem,
                  PharmacyLineItem, ClaimLineItem):  # fmt: skip
        decorators = model.__pydantic_decorators__
        assert not [d for d in decorators.model_validators.values() if d.info.mode != "after"]
        assert not decorators.field_validators
