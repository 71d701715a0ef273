"""Per-case scoring: the original's set rules, failures as data, benchq's additions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from benchq.cases.schema import GroundTruth
from benchq.providers.base import (
    DetectedIssue,
    ExtractedFacts,
    ExtractedLineItem,
    ModelAnswer,
)
from benchq.scoring.case import normalize_date, normalize_issue_type, score_case, score_facts
from benchq.scoring.schema import ORIGINAL_CASE_FIELDS, CaseResult

FACTS: dict[str, Any] = {
    "patient_name": "John Doe",
    "patient_dob": "1980-01-02",
    "date_of_service": "2024-03-05",
    "facility_name": "St. Mary's Hospital",
    "medical_line_items": [
        {"cpt_code": "99213", "billed_amount": 150.0},
        {"cpt_code": "99213", "billed_amount": 150.0},
        {"cpt_code": "80053", "billed_amount": 45.5},
    ],
}


def truth(*issues: tuple[str, bool], facts: dict[str, Any] | None = None) -> GroundTruth:
    """Ground truth with the given (type, should_detect) issues."""
    return GroundTruth.model_validate(
        {
            "document_type": "medical_bill",
            "expected_issues": [
                {"type": t, "description": "", "should_detect": sd} for t, sd in issues
            ],
            "expected_facts": facts or FACTS,
        }
    )


def answer(*types: str, **kwargs: Any) -> ModelAnswer:
    """A valid answer reporting one issue per given type."""
    return ModelAnswer(issues=[DetectedIssue(type=t) for t in types], **kwargs)


def score(t: GroundTruth, a: ModelAnswer | None, **kwargs: Any) -> CaseResult:
    return score_case(case_id="bill_001", truth=t, answer=a, **kwargs)


# --- normalisation -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("duplicate_charge", "duplicate_charge"),
        ("Duplicate Charge", "duplicate_charge"),
        ("DUPLICATE-CHARGE", "duplicate_charge"),
        ("  Balance-billing\t", "balance_billing"),
        ("up-coding mixed_Style", "up_coding_mixed_style"),
        ("", ""),
    ],
)
def test_normalize_issue_type(raw: str, expected: str) -> None:
    assert normalize_issue_type(raw) == expected


def test_types_are_normalised_before_matching() -> None:
    r = score(truth(("Duplicate Charge", True)), answer("duplicate-charge"))
    assert (r.true_positives, r.false_positives, r.false_negatives) == (1, 0, 0)
    assert r.detected_types == ["duplicate_charge"]
    assert r.expected_types == ["duplicate_charge"]


# --- the original's set scoring ----------------------------------------------


def test_overlapping_sets() -> None:
    t = truth(("duplicate_charge", True), ("overbilling", True), ("unbundling", True))
    r = score(t, answer("duplicate_charge", "overbilling", "upcoding", "balance_billing"))
    # E ∩ D = {duplicate_charge, overbilling}; D - E = {upcoding, balance_billing};
    # E - D = {unbundling}.
    assert (r.true_positives, r.false_positives, r.false_negatives) == (2, 2, 1)
    assert r.issues_detected == 4
    assert r.issues_expected == 3


def test_duplicate_detections_count_once_in_set_scoring() -> None:
    t = truth(("duplicate_charge", True))
    r = score(t, answer("duplicate_charge", "Duplicate Charge", "upcoding", "upcoding"))
    assert (r.true_positives, r.false_positives, r.false_negatives) == (1, 1, 0)
    # ... but every reported issue is counted as detected.
    assert r.issues_detected == 4


def test_nothing_expected_counts_every_detection_as_false_positive() -> None:
    r = score(truth(), answer("upcoding", "upcoding", "overbilling"))
    # A count, not a set: the duplicate upcoding counts twice.
    assert (r.true_positives, r.false_positives, r.false_negatives) == (0, 3, 0)
    assert r.issues_expected == 0


def test_only_should_detect_false_expected_behaves_as_nothing_expected() -> None:
    t = truth(("overbilling", False), ("overbilling", False))
    r = score(t, answer("overbilling", "overbilling"))
    assert (r.true_positives, r.false_positives, r.false_negatives) == (0, 2, 0)
    # Look-alikes still count as expected issues (original rule).
    assert r.issues_expected == 2
    assert r.expected_types == []


def test_should_detect_false_excluded_from_expected_set_but_counted() -> None:
    t = truth(("duplicate_charge", True), ("overbilling", False))
    r = score(t, answer("duplicate_charge", "overbilling"))
    # overbilling is not in E, so flagging the look-alike is a false positive.
    assert (r.true_positives, r.false_positives, r.false_negatives) == (1, 1, 0)
    assert r.issues_expected == 2
    assert r.expected_types == ["duplicate_charge"]


def test_nothing_detected() -> None:
    t = truth(("duplicate_charge", True), ("unbundling", True))
    r = score(t, answer())
    assert (r.true_positives, r.false_positives, r.false_negatives) == (0, 0, 2)
    assert r.extraction_success and r.json_valid
    assert r.error_message is None


def test_nothing_expected_nothing_detected() -> None:
    r = score(truth(), answer())
    assert (r.true_positives, r.false_positives, r.false_negatives) == (0, 0, 0)
    assert (r.count_true_positives, r.count_false_positives, r.count_false_negatives) == (0, 0, 0)


# --- occurrence-aware counts -------------------------------------------------


def test_counts_match_issues_one_to_one() -> None:
    t = truth(("duplicate_charge", True), ("duplicate_charge", True), ("unbundling", True))
    r = score(t, answer("duplicate_charge", "upcoding", "upcoding"))
    # Set scoring forgives the second duplicate; counting does not.
    assert (r.true_positives, r.false_positives, r.false_negatives) == (1, 1, 1)
    assert (r.count_true_positives, r.count_false_positives, r.count_false_negatives) == (1, 2, 2)
    assert r.expected_types == ["duplicate_charge", "duplicate_charge", "unbundling"]
    assert r.detected_types == ["duplicate_charge", "upcoding", "upcoding"]


def test_counts_surplus_detections_are_false_positives() -> None:
    t = truth(("duplicate_charge", True))
    r = score(t, answer("duplicate_charge", "duplicate_charge"))
    assert (r.true_positives, r.false_positives) == (1, 0)
    assert (r.count_true_positives, r.count_false_positives, r.count_false_negatives) == (1, 1, 0)


# --- failures ------------------------------------------------------------------


def test_failed_call_is_scored_as_data() -> None:
    t = truth(("duplicate_charge", True), ("overbilling", True), ("unbundling", False))
    r = score(t, None, error="ProviderRetryable: 429 Too Many Requests", pipeline_latency_ms=812.0)
    assert r.extraction_success is False
    assert r.json_valid is False
    assert r.error_message == "ProviderRetryable: 429 Too Many Requests"
    # The original scored a failed case 0/0/0 (it neither helps nor hurts its recall) ...
    assert (r.true_positives, r.false_positives, r.false_negatives) == (0, 0, 0)
    # ... benchq's counts record every detectable expected issue as missed.
    assert (r.count_true_positives, r.count_false_positives, r.count_false_negatives) == (0, 0, 2)
    assert r.issues_detected == 0
    assert r.issues_expected == 3
    assert r.detected_types == []
    assert r.expected_types == ["duplicate_charge", "overbilling"]
    assert (r.input_tokens, r.output_tokens, r.total_tokens) == (None, None, None)
    assert r.extraction_latency_ms == 0.0
    assert r.pipeline_latency_ms == 812.0
    assert r.attempts == 0 and r.raw_output == "" and r.cost_usd == 0.0
    assert (r.facts_correct, r.facts_total) == (0, 7)


def test_failed_call_without_message_still_says_it_failed() -> None:
    r = score(truth(), None)
    assert r.extraction_success is False
    assert r.error_message


def test_invalid_json_answer_fails_but_keeps_its_cost() -> None:
    a = ModelAnswer(
        issues=[DetectedIssue(type="duplicate_charge")],  # ignored: the answer is unusable
        json_valid=False,
        parse_error="Expecting ',' delimiter: line 3 column 5",
        raw_output='{"issues": [',
        input_tokens=900,
        output_tokens=40,
        latency_ms=1234.5,
        cost_usd=0.002,
        attempts=2,
    )
    r = score(truth(("duplicate_charge", True)), a)
    assert r.extraction_success is False
    assert r.json_valid is False
    assert r.error_message == "Expecting ',' delimiter: line 3 column 5"
    assert (r.true_positives, r.false_positives, r.false_negatives) == (0, 0, 0)
    assert r.count_false_negatives == 1
    assert r.issues_detected == 0 and r.detected_types == []
    # What the call cost is real even though the answer was unusable.
    assert (r.input_tokens, r.output_tokens, r.total_tokens) == (900, 40, 940)
    assert r.extraction_latency_ms == 1234.5
    assert r.cost_usd == 0.002 and r.attempts == 2
    assert r.raw_output == '{"issues": ['


def test_invalid_json_without_parse_error_gets_a_message() -> None:
    r = score(truth(), ModelAnswer(json_valid=False))
    assert r.error_message == "answer was not valid JSON"


def test_error_alongside_an_answer_fails_the_case() -> None:
    r = score(truth(("overbilling", True)), answer("overbilling"), error="scoring aborted")
    assert r.extraction_success is False
    assert r.error_message == "scoring aborted"
    assert r.true_positives == 0 and r.issues_detected == 0


# --- what is copied from the answer and the caller ---------------------------------


def test_usage_and_context_fields() -> None:
    a = answer(
        "overbilling",
        input_tokens=1000,
        output_tokens=200,
        latency_ms=950.0,
        cost_usd=0.0125,
        cached=True,
        attempts=3,
        raw_output='{"issues": []}',
    )
    r = score_case(
        case_id="bill_042",
        truth=truth(("overbilling", True)),
        answer=a,
        run_id="run-1",
        model_name="openai",
        pipeline_latency_ms=1010.0,
        worker="w1@host",
        finished_at="2024-03-05T10:00:00Z",
    )
    assert r.document_name == "bill_042"
    assert r.document_type == "medical_bill"
    assert (r.input_tokens, r.output_tokens, r.total_tokens) == (1000, 200, 1200)
    assert (r.extraction_latency_ms, r.pipeline_latency_ms) == (950.0, 1010.0)
    assert r.cost_usd == 0.0125 and r.cached is True and r.attempts == 3
    assert r.raw_output == '{"issues": []}'
    assert (r.run_id, r.model_name, r.worker) == ("run-1", "openai", "w1@host")
    assert r.finished_at == "2024-03-05T10:00:00Z"
    assert r.json_valid is True and r.extraction_success is True


def test_total_tokens_when_only_one_side_reported() -> None:
    r = score(truth(), answer(output_tokens=50))
    assert (r.input_tokens, r.output_tokens, r.total_tokens) == (None, 50, 50)


def test_no_tokens_reported_stays_none() -> None:
    r = score(truth(), answer())
    assert (r.input_tokens, r.output_tokens, r.total_tokens) == (None, None, None)


def test_original_fields_in_order() -> None:
    r = score(truth(("overbilling", True)), answer("overbilling"))
    data = r.original()
    assert tuple(data) == ORIGINAL_CASE_FIELDS
    assert "detected_types" not in data


# --- facts --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-05",
        "2024/03/05",
        "03/05/2024",
        "3/5/2024",
        "03-05-2024",
        "03/05/24",
        "Mar 5, 2024",
        "March 5, 2024",
        "Mar. 5, 2024",
        "5 March 2024",
        "05-Mar-2024",
        " 2024-03-05T10:30:00 ",
        "03/05/2024 10:30",
        "20240305",
    ],
)
def test_normalize_date_formats(raw: str) -> None:
    assert normalize_date(raw) == "2024-03-05"


def test_normalize_date_unparsable_and_blank() -> None:
    assert normalize_date("sometime in  March") == "sometime in march"
    assert normalize_date("   ") is None
    assert normalize_date(None) is None


@pytest.mark.parametrize("raw", ["2024-02-30", "2023-13-01", "0000-01-01", "2024-02-29"])
def test_iso_shaped_dates_read_as_the_formats_read_them(raw: str) -> None:
    # The ISO shortcut must agree with strptime's reading, impossible dates included.
    def by_formats(text: str) -> str:
        try:
            return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
        except ValueError:
            return text

    assert normalize_date(raw) == by_formats(raw)
    assert normalize_date("2024-02-30") == "2024-02-30"  # not a date: kept as written


def test_facts_all_correct_across_formats() -> None:
    extracted = ExtractedFacts(
        patient_name="DOE,  john",
        patient_dob="01/02/1980",
        date_of_service="Mar 5, 2024",
        facility_name="st marys hospital",
        medical_line_items=[
            ExtractedLineItem(cpt_code="80053", billed_amount=45.50),
            ExtractedLineItem(cpt_code=" 99213", billed_amount=150.000001),
            ExtractedLineItem(cpt_code="99213", billed_amount=150),
        ],
    )
    assert score_facts(truth().expected_facts, extracted) == (7, 7)


def test_facts_partial() -> None:
    extracted = ExtractedFacts(
        patient_name="Jane Doe",  # wrong person
        patient_dob=None,  # missing
        date_of_service="2024-03-06",  # wrong day
        facility_name="St. Mary's Hospital",
        medical_line_items=[
            # One 99213 found once: the duplicate line is not matched twice.
            ExtractedLineItem(cpt_code="99213", billed_amount=150.0),
            ExtractedLineItem(cpt_code="80053", billed_amount=45.0),  # wrong amount
            ExtractedLineItem(cpt_code=None, billed_amount=45.5),  # no code
        ],
    )
    assert score_facts(truth().expected_facts, extracted) == (2, 7)


def test_facts_without_dob_in_truth_are_not_counted() -> None:
    facts = {**FACTS, "patient_dob": None, "medical_line_items": []}
    t = truth(facts=facts)
    assert score_facts(t.expected_facts, ExtractedFacts(patient_dob="1980-01-02")) == (0, 3)


def test_empty_extraction_never_matches() -> None:
    facts = {**FACTS, "facility_name": ""}
    t = truth(facts=facts)
    correct, _ = score_facts(t.expected_facts, ExtractedFacts(facility_name=""))
    assert correct == 0


def test_facts_land_in_case_result() -> None:
    a = answer(facts=ExtractedFacts(patient_name="John Doe", facility_name="St Mary's Hospital"))
    r = score(truth(), a)
    assert (r.facts_correct, r.facts_total) == (2, 7)


def test_facts_the_truth_does_not_state_are_neither_hit_nor_miss() -> None:
    stated_nothing = truth(
        facts={"patient_name": None, "date_of_service": None, "facility_name": "  "}
    ).expected_facts
    full = ExtractedFacts(
        patient_name="John Doe", date_of_service="2024-03-05", facility_name="Clinic"
    )
    assert score_facts(stated_nothing, full) == (0, 0)
    # A failed case misses exactly the stated facts: here, none.
    r = score(truth(facts={"patient_name": None}), None, error="boom")
    assert (r.facts_correct, r.facts_total) == (0, 0)
    only_name = truth(facts={"patient_name": "John Doe", "patient_dob": None}).expected_facts
    assert score_facts(only_name, full) == (1, 1)
    assert score_facts(only_name, ExtractedFacts()) == (0, 1)


def test_provider_name_stands_for_the_facility_when_the_truth_names_one() -> None:
    eob = truth(
        facts={"provider_name": "Lakeview Medical Center", "insurance_company": "Keystone"}
    ).expected_facts
    assert score_facts(eob, ExtractedFacts(facility_name="LAKEVIEW medical center")) == (1, 1)
    assert score_facts(eob, ExtractedFacts(facility_name="Keystone")) == (0, 1)
    both = truth(
        facts={"facility_name": "Harbor Dental", "provider_name": "Dr. Paul Whitman DDS"}
    ).expected_facts
    # One fact (who billed), satisfied by either name.
    assert score_facts(both, ExtractedFacts(facility_name="Dr Paul Whitman DDS")) == (1, 1)
    assert score_facts(both, ExtractedFacts(facility_name="Harbor Dental")) == (1, 1)


def test_line_items_of_every_kind_are_scored_on_what_they_state() -> None:
    facts = truth(
        facts={
            "dental_line_items": [
                {"cdt_code": "D2740", "billed_amount": 1195},
                {"cdt_code": None, "description": "Lab fee", "billed_amount": 160},
            ],
            "pharmacy_line_items": [{"description": "Bandages", "amount": "4.49"}],
            "claim_line_items": [{"cpt_code": "99213", "billed_amount": 160.0}],
            "medical_line_items": [{"cpt_code": "36415"}, {"description": "nothing stated"}],
        }
    ).expected_facts
    extracted = ExtractedFacts(
        medical_line_items=[
            ExtractedLineItem(cpt_code="D2740", billed_amount=1195.0),
            ExtractedLineItem(cpt_code=None, billed_amount=160.0),  # the uncoded lab fee
            ExtractedLineItem(cpt_code="N/A", billed_amount=4.49),  # a placeholder is no code
            ExtractedLineItem(cpt_code="99213", billed_amount=160.0),
            ExtractedLineItem(cpt_code="36415", billed_amount=12.0),  # truth states no amount
        ]
    )
    # Five items state something; the one stating nothing is not counted.
    assert score_facts(facts, extracted) == (5, 5)
    assert score_facts(facts, ExtractedFacts()) == (0, 5)


def test_coded_items_are_matched_before_uncoded_ones_take_their_line() -> None:
    facts = truth(
        facts={
            "medical_line_items": [
                {"cpt_code": None, "billed_amount": 20.0},  # listed first on purpose
                {"cpt_code": "87880", "billed_amount": 20.0},
            ]
        }
    ).expected_facts
    one_line = ExtractedFacts(
        medical_line_items=[ExtractedLineItem(cpt_code="87880", billed_amount=20.0)]
    )
    # The coded expectation gets the only line; the facility fee is the miss.
    assert score_facts(facts, one_line) == (1, 2)
    both = ExtractedFacts(
        medical_line_items=[
            ExtractedLineItem(cpt_code="87880", billed_amount=20.0),
            ExtractedLineItem(cpt_code=None, billed_amount=20.0),
        ]
    )
    assert score_facts(facts, both) == (2, 2)


def test_line_items_a_model_returns_under_other_kinds_count_too() -> None:
    facts = truth(
        facts={"dental_line_items": [{"cdt_code": "D0272", "billed_amount": 48}]}
    ).expected_facts
    extracted = ExtractedFacts.model_validate(
        {
            "dental_line_items": [
                {"cdt_code": "d0272", "billed_amount": 48.0},
                "junk",
                {"amount": True},
            ]
        }
    )
    assert score_facts(facts, extracted) == (1, 1)
