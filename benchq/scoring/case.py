"""Score one model answer against its ground truth.

Two families of figures are computed side by side:

* The original's, kept bit for bit so figures stay comparable with the files
  the original system wrote (`true_positives`, `false_positives`,
  `false_negatives`, `issues_detected`, `issues_expected`): issue types are
  compared as *sets*; with nothing detectable expected, every detected issue
  is a false positive; a failed case scores 0/0/0.
* benchq's, beside them (`count_*`, `facts_*`): issues matched one to one
  (a multiset), so two duplicate charges need two findings, and a failed case
  counts every expected issue as missed.

Failures (the call raised, or the answer was not the JSON asked for) are
scored, not dropped: they keep their error message and whatever the call cost.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date, datetime
from functools import lru_cache

from benchq.cases.schema import ExpectedFacts, GroundTruth
from benchq.providers.base import ExtractedFacts, ModelAnswer
from benchq.scoring.schema import CaseResult

__all__ = ["normalize_date", "normalize_issue_type", "score_case", "score_facts"]


def normalize_issue_type(t: str) -> str:
    """Normalise an issue type for comparison: `"Duplicate-Charge "` -> `"duplicate_charge"`.

    The original lower-cased and replaced spaces and `-` with `_`; it did not
    strip, so `" overbilling"` never matched. Stripping first only turns such
    near-misses into the match they were obviously meant to be.
    """
    return t.strip().lower().replace(" ", "_").replace("-", "_")


def score_case(
    *,
    case_id: str,
    truth: GroundTruth,
    answer: ModelAnswer | None,
    error: str | None = None,
    run_id: str = "",
    model_name: str = "",
    pipeline_latency_ms: float = 0.0,
    worker: str | None = None,
    finished_at: str | None = None,
) -> CaseResult:
    """Score one case: compare the model's answer with the ground truth.

    `answer` is None when the model call failed; `error` then says why. A
    case also fails when the answer is not valid JSON (`answer.json_valid`
    False) or when `error` is given alongside an answer (e.g. the answer could
    not be used); the answer then only contributes what it cost (tokens,
    latency, cost, attempts) and its raw output.

    A failed case has `extraction_success` and `json_valid` False, detects
    nothing and, as in the original, scores TP = FP = FN = 0, so it does not
    move the original precision/recall; the occurrence-aware counts instead
    count every detectable expected issue as missed (`count_false_negatives`),
    so benchq's `count_recall` does penalise failures.

    `finished_at` is stored as given (None stays None) to keep this function
    pure; the caller stamps the time.
    """
    expected_list = [normalize_issue_type(i.type) for i in truth.expected_issues if i.should_detect]
    issues_expected = len(truth.expected_issues)

    failure = _failure_message(answer, error)
    if failure is None and answer is not None:
        detected_list = [normalize_issue_type(i.type) for i in answer.issues]
        tp, fp, fn = _set_scores(expected_list, detected_list)
        facts_correct, facts_total = score_facts(truth.expected_facts, answer.facts)
    else:
        # A failed case detected nothing and extracted nothing (original: 0/0/0).
        detected_list = []
        tp, fp, fn = 0, 0, 0
        facts_correct, facts_total = 0, _facts_total(truth.expected_facts)
    ctp, cfp, cfn = _count_scores(expected_list, detected_list)

    return CaseResult(
        document_name=case_id,
        document_type=truth.document_type.value,
        extraction_success=failure is None,
        extraction_latency_ms=answer.latency_ms if answer is not None else 0.0,
        pipeline_latency_ms=pipeline_latency_ms,
        input_tokens=answer.input_tokens if answer is not None else None,
        output_tokens=answer.output_tokens if answer is not None else None,
        total_tokens=answer.total_tokens if answer is not None else None,
        issues_detected=len(detected_list),
        issues_expected=issues_expected,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        json_valid=answer is not None and answer.json_valid,
        error_message=failure,
        run_id=run_id,
        model_name=model_name,
        detected_types=detected_list,
        expected_types=expected_list,
        count_true_positives=ctp,
        count_false_positives=cfp,
        count_false_negatives=cfn,
        facts_correct=facts_correct,
        facts_total=facts_total,
        cost_usd=answer.cost_usd if answer is not None else 0.0,
        cached=answer.cached if answer is not None else False,
        attempts=answer.attempts if answer is not None else 0,
        raw_output=answer.raw_output if answer is not None else "",
        worker=worker,
        finished_at=finished_at,
    )


def _failure_message(answer: ModelAnswer | None, error: str | None) -> str | None:
    """Why the case failed, or None when the answer is usable."""
    if error is not None:
        return error
    if answer is None:
        # The caller should always say why; never store a failure without a reason.
        return "model call failed (no answer and no error message)"
    if not answer.json_valid:
        return answer.parse_error or "answer was not valid JSON"
    return None


def _set_scores(expected: list[str], detected: list[str]) -> tuple[int, int, int]:
    """The original's TP, FP, FN over *sets* of types."""
    e, d = set(expected), set(detected)
    if not e:
        # Original rule: with nothing detectable expected, every reported issue
        # (a count, duplicates included) is a false positive.
        return 0, len(detected), 0
    return len(e & d), len(d - e), len(e - d)


def _count_scores(expected: list[str], detected: list[str]) -> tuple[int, int, int]:
    """Occurrence-aware TP, FP, FN: each finding matches at most one expected issue."""
    e, d = Counter(expected), Counter(detected)
    tp = sum((e & d).values())
    return tp, len(detected) - tp, len(expected) - tp


# --- facts -------------------------------------------------------------------


def score_facts(expected: ExpectedFacts, extracted: ExtractedFacts) -> tuple[int, int]:
    """Count the facts the ground truth states that were extracted correctly: `(correct, total)`.

    Only stated facts count: a fact missing from the ground truth or set to
    null is not asked for, so it is neither a hit nor a miss. The facts are
    those the answer schema asks a model for:

    - patient name (case, spacing, punctuation and word order ignored, so
      "Doe, John" is "John Doe");
    - date of birth and date of service, compared as calendar dates across
      formats;
    - who billed: `facility_name`, or `provider_name` when the truth names
      a provider instead (an EOB, a physician's own bill); either stated
      name matches the extracted `facility_name` (case, spacing and
      punctuation ignored);
    - each expected line item, of any kind (medical, dental, pharmacy,
      claim), matched one to one against the extracted line items on the
      code and the amount charged (to the cent), on whichever of the two
      the truth states: an uncoded facility fee matches on its amount.
      Coded items are matched first, so an uncoded one cannot take the
      extracted line a coded one needs. Other line-item fields are not scored.

    `insurance_company`, `receipt_number` and fields benchq does not know
    are kept in the ground truth but not scored: the answer schema has no
    place for them.
    """
    correct = total = 0
    name = _name_key(expected.patient_name)
    if name is not None:
        total += 1
        correct += _found_equal(_name_key(extracted.patient_name), name)
    for want, got in (
        (expected.patient_dob, extracted.patient_dob),
        (expected.date_of_service, extracted.date_of_service),
    ):
        if normalize_date(want) is not None:
            total += 1
            correct += _same_date(got, want)
    billers = {
        k for k in (_text_key(expected.facility_name), _text_key(expected.provider_name)) if k
    }
    if billers:
        total += 1
        correct += _text_key(extracted.facility_name) in billers
    items_correct, items_total = _score_line_items(expected, extracted)
    return correct + items_correct, total + items_total


def _score_line_items(expected: ExpectedFacts, extracted: ExtractedFacts) -> tuple[int, int]:
    """One-to-one matches of expected line items (any kind) among the extracted ones."""
    wanted = [
        (_code_key(item.item_code()), _cents(item.item_amount())) for item in expected.line_items()
    ]
    wanted = [w for w in wanted if w != (None, None)]  # states nothing to compare
    pool = [(_code_key(i.cpt_code), _cents(i.billed_amount)) for i in extracted.medical_line_items]
    pool += _extra_items(extracted)
    correct = 0
    # Most specific first: a line with both code and amount, then code only, then amount only.
    for code, cents in sorted(wanted, key=lambda w: (w[0] is None, w[1] is None)):
        for k, (got_code, got_cents) in enumerate(pool):
            if (code is None or code == got_code) and (cents is None or cents == got_cents):
                del pool[k]
                correct += 1
                break
    return correct, len(wanted)


#: Line-item lists a model may return beside `medical_line_items` (extra fields of its answer).
_EXTRA_ITEM_LISTS = ("dental_line_items", "pharmacy_line_items", "claim_line_items")
_EXTRA_CODE_KEYS = ("cpt_code", "cdt_code", "ndc_code", "ndc", "code")
_EXTRA_AMOUNT_KEYS = ("billed_amount", "amount")


def _extra_items(extracted: ExtractedFacts) -> list[tuple[str | None, int | None]]:
    """Line items a model put in lists of other kinds; read loosely, never trusted to be typed."""
    out: list[tuple[str | None, int | None]] = []
    extra = extracted.model_extra or {}
    for kind in _EXTRA_ITEM_LISTS:
        items = extra.get(kind)
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, dict):
                continue
            code = next((item[k] for k in _EXTRA_CODE_KEYS if isinstance(item.get(k), str)), None)
            amount = next(
                (
                    item[k]
                    for k in _EXTRA_AMOUNT_KEYS
                    if isinstance(item.get(k), int | float) and not isinstance(item.get(k), bool)
                ),
                None,
            )
            out.append((_code_key(code), _cents(amount)))
    return out


def _facts_total(expected: ExpectedFacts) -> int:
    """How many facts the ground truth states (what a failed case misses)."""
    return score_facts(expected, ExtractedFacts())[1]


_APOSTROPHES = re.compile(r"['\u2019`]")
_NON_WORD = re.compile(r"[^\w]+")


def _found_equal(extracted: object | None, expected: object | None) -> bool:
    # An empty extraction is "not found", never a match, even for an empty truth.
    return extracted is not None and extracted == expected


def _text_key(value: str | None) -> str | None:
    """Case-, spacing- and punctuation-insensitive form of a text field; None when blank."""
    if value is None:
        return None
    # Apostrophes vanish rather than split words: "Mary's" and "Marys" are one name.
    text = _APOSTROPHES.sub("", value.casefold())
    key = " ".join(_NON_WORD.sub(" ", text).split())
    return key or None


def _name_key(value: str | None) -> tuple[str, ...] | None:
    """A person's name as its sorted words, so `Last, First` equals `First Last`."""
    key = _text_key(value)
    return tuple(sorted(key.split())) if key is not None else None


def _code_key(code: str | None) -> str | None:
    """A code without spaces, upper case; None for no code or a placeholder ("N/A", "-")."""
    if code is None:
        return None
    key = "".join(code.split()).upper()
    return None if key in _NO_CODE else key


_NO_CODE = frozenset({"", "-", "--", "N/A", "NA", "NONE", "NULL"})


def _cents(amount: float | None) -> int | None:
    # Compare money in whole cents: 120.1 and 120.10000001 are the same charge.
    if amount is None or not math.isfinite(amount):
        return None
    return round(amount * 100)


# Formats seen on US bills. Numeric day/month orders are read US style
# (month first), as the documents are US bills.
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%m-%d-%Y",
    "%m/%d/%y",
    "%m-%d-%y",
    "%b %d, %Y",
    "%b %d %Y",
    "%B %d, %Y",
    "%B %d %Y",
    "%b. %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%Y%m%d",
)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def normalize_date(value: str | None) -> str | None:
    """A date in any common format as `YYYY-MM-DD`; unparsable text comes back trimmed.

    `2024-03-05`, `03/05/2024`, `3/5/24`, `Mar 5, 2024` and `2024-03-05T10:00`
    all give `2024-03-05`. None and blank give None.
    """
    if value is None:
        return None
    return _normalize_date(value)


# Pure, and called for every date of every case twice (expected and found):
# trying fifteen formats through strptime was 3 % of a worker's CPU.
@lru_cache(maxsize=8192)
def _normalize_date(value: str) -> str | None:
    if _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass  # 2024-02-30: not a date; the formats below refuse it too
    text = " ".join(value.strip().split())
    if not text:
        return None
    # A timestamp is the date of its day; drop the time part.
    candidates = [text, text.split("T", 1)[0], text.split(" ", 1)[0]]
    for candidate in candidates:
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(candidate, fmt).date().isoformat()
            except ValueError:
                continue
    return text.casefold()


def _same_date(extracted: str | None, expected: str | None) -> bool:
    return _found_equal(normalize_date(extracted), normalize_date(expected))
