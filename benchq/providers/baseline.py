"""A deterministic, local, rule-based detector: the floor every model should beat.

It reads only the document text (`benchq.providers.baseline_parse`) and judges
it with its own reference knowledge (`benchq.providers.baseline_reference`: a
hand-compiled fee table, bundled code pairs, office-visit times). It knows
nothing of benchq's synthetic generator, so its score on a generated suite is
a measurement, not a replay of the generator's rules.

Rules, each the check a human auditor would make:

- duplicate_charge: the same service (code, or description for an uncoded
  line; modifier, date, amount, tooth, prescription number) more than once,
  with no modifier that marks a distinct service; uncoded lines on a
  pharmacy receipt are never duplicates (two of an item is a purchase);
- overbilling: a price, per unit where the line says how many, above
  `OVERBILLING_FACTOR` times the reference; a drug on a receipt against its
  price per tablet times the quantity;
- unbundling: a component billed with its comprehensive code on the same date;
- upcoding: an office-visit level above what the documented minutes support
  (stated as minutes, or as check-in and check-out times);
- arithmetic_error: a stated total that differs from the sum of its lines,
  judged only when every amount-bearing line before the totals was read and
  no line of uncertain standing (`Label: $12.00`) explains the difference.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter

from benchq.providers import baseline_reference as ref
from benchq.providers.base import (
    DetectedIssue,
    ExtractedFacts,
    ExtractedLineItem,
    ModelAnswer,
    Provider,
)
from benchq.providers.baseline_parse import DATE, Bill, Line, first_date, parse

_MINUTES = re.compile(
    r"(?:time|spent|visit|face-to-face|duration)\D{0,40}?(\d{1,3})\s*(?:minutes?|mins?)\b"
    r"|(\d{1,3})\s*-?\s*minute\s+(?:visit|encounter|appointment)",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"(?:checked\s+in|arrived|time\s+in|start(?:ed)?)\D{0,12}?(\d{1,2}):(\d{2})\s*([AP]M)"
    r".{0,40}?(?:checked\s+out|left|time\s+out|end(?:ed)?)\D{0,12}?(\d{1,2}):(\d{2})\s*([AP]M)",
    re.IGNORECASE,
)


def _ocr_tolerant(word: str) -> str:
    """A pattern for `word` that also matches its usual OCR misreadings (`Patlent`, `Narne`)."""
    swaps = {"i": "[il1]", "l": "[l1i]", "o": "[o0]", "m": "(?:m|rn)", "e": "[e]"}
    return "".join(swaps.get(ch, re.escape(ch)) for ch in word)


_PATIENT = re.compile(
    rf"^\s*(?:{_ocr_tolerant('patient')}(?:\s+{_ocr_tolerant('name')})?|{_ocr_tolerant('customer')})"
    r"\b[\s.:]*?(?:[.:]\s*)(.+?)(?:\s{2,}|$)",
    re.IGNORECASE | re.MULTILINE,
)
_MEMBER = re.compile(r"^\s*(?:member|subscriber)\s*:\s*(.+?)(?:\s{2,}|$)", re.I | re.M)
_DOB = re.compile(
    r"\b(?:dob|d0b|date\s+of\s+birth|birth\s*date|birthdate)\b\s*[.:]*\s*(.+)$", re.I | re.M
)
_DOS = re.compile(
    r"^\s*(?:date\s+of\s+service|dates?\s+of\s+service|service\s+dates?|dos|visit"
    r"|admit/service\s+date)\b\s*[.:]?\s*(.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_NOT_SERVICE_DATE = re.compile(r"birth|dob|d0b|statement|bill\s+date|processed|printed", re.I)
_FACILITY_LABEL = re.compile(
    r"^\s*(?:facility|practice|(?:rendering\s+|billing\s+)?provider(?:\s+name)?)\s*:\s*(.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FACILITY_WORDS = re.compile(
    r"\b(?:medical|medicine|clinic|health|hospital|dental|dentistry|pharmacy|drug|care|"
    r"associates|center|centre|apothecary|partners|smile|smiles|practice|imaging|surgery|"
    r"orthopa?edic\w*|pediatric\w*|radiology|laboratory|labs?|urgent)\b"
    r"|,\s*(?:MD|DO|DDS|DMD|NP|PA-C)\b",
    re.IGNORECASE,
)
_TITLE = re.compile(
    r"\b(?:statement|invoice|receipt|bill|ledger|explanation|summary|not\s+a\s+bill)\b", re.I
)


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _share(line: Line, excess: float) -> float:
    if line.billed <= 0:
        return 0.0
    return round(max(0.0, line.patient * excess / line.billed), 2)


def _issue(
    kind: str, line: Line | None, summary: str, action: str, savings: float, conf: float
) -> DetectedIssue:
    return DetectedIssue(
        type=kind,
        summary=summary,
        evidence=line.evidence if line else "",
        code=line.code if line else None,
        date=line.day if line else None,
        recommended_action=action,
        max_savings=round(savings, 2),
        confidence=conf,
    )


def _duplicates(bill: Bill) -> list[DetectedIssue]:
    issues = []
    seen = Counter[tuple[object, ...]]()
    for ln in bill.lines:
        if ln.modifier in ref.DISTINCT_MODIFIERS:
            continue
        if ln.code is None and ln.rx is None and bill.pharmacy:
            continue  # two of an over-the-counter item is a purchase, not a billing error
        what = ln.code or ln.description.lower()
        key = (what, ln.modifier, ln.day, ln.billed, ln.tooth, ln.rx)
        seen[key] += 1
        if seen[key] == 2:
            summary = f"{what} is billed more than once on {ln.day} for {_money(ln.billed)}"
            action = "Ask the provider to remove the duplicate line"
            issues.append(_issue("duplicate_charge", ln, summary, action, ln.patient, 0.9))
    return issues


def _reference_price(ln: Line, bill: Bill) -> float | None:
    """What the line should cost at most-typical prices, for all its units; None if unknown."""
    if ln.code is not None and (fee := ref.FEES.get(ln.code)) is not None:
        return fee.price * ln.units
    if bill.pharmacy and (unit := ref.drug_unit_price(ln.evidence)) is not None:
        return unit * ln.units
    return None


def _overbilling(bill: Bill) -> list[DetectedIssue]:
    issues = []
    flagged: set[tuple[str | None, float]] = set()
    for ln in bill.lines:
        expected = _reference_price(ln, bill)
        if expected is None or (ln.code, ln.billed) in flagged:
            continue
        if ln.billed > ref.OVERBILLING_FACTOR * expected:
            flagged.add((ln.code, ln.billed))
            what = ln.code or ln.description
            summary = f"{what} billed at {_money(ln.billed)}; a typical price is {_money(expected)}"
            savings = _share(ln, ln.billed - expected)
            action = "Request an itemised price review"
            issues.append(_issue("overbilling", ln, summary, action, savings, 0.7))
    return issues


def _unbundling(bill: Bill) -> list[DetectedIssue]:
    issues = []
    by_day = {(ln.code, ln.day) for ln in bill.lines if ln.code}
    for whole, part in ref.BUNDLED:
        for ln in bill.lines:
            if ln.code == part and (whole, ln.day) in by_day and ln.modifier not in ("59", "XU"):
                summary = f"{part} is a component of {whole}, billed the same day"
                action = f"Ask for {part} to be bundled into {whole}"
                issues.append(_issue("unbundling", ln, summary, action, ln.patient, 0.8))
    return issues


def _documented_minutes(text: str) -> int | None:
    lower = text.lower()
    # Cheap tests first: these expressions scan the whole document.
    if "min" in lower and (m := _MINUTES.search(text)):
        return int(m.group(1) or m.group(2))
    if ("am" in lower or "pm" in lower) and (c := _CLOCK.search(text)):
        h1, m1, p1, h2, m2, p2 = c.groups()

        def minutes(h: str, m: str, p: str) -> int:
            return (int(h) % 12 + (12 if p.upper() == "PM" else 0)) * 60 + int(m)

        span = minutes(h2, m2, p2) - minutes(h1, m1, p1)
        return span if 0 < span < 240 else None
    return None


def _upcoding(bill: Bill, minutes: int | None) -> list[DetectedIssue]:
    if minutes is None:
        return []
    issues = []
    for ln in bill.lines:
        family = ref.em_family(ln.code or "")
        if family is None:
            continue
        supported = ref.supported_level(family, minutes)
        if list(family).index(ln.code or "") > list(family).index(supported):
            fee = ref.FEES[supported].price
            summary = f"{ln.code} billed for a {minutes}-minute visit, which supports {supported}"
            savings = _share(ln, ln.billed - fee)
            action = "Request review of the visit level"
            issues.append(_issue("upcoding", ln, summary, action, savings, 0.6))
    return issues


def _arithmetic(bill: Bill) -> list[DetectedIssue]:
    if not bill.lines or bill.unparsed:
        # A line that carries an amount but could not be read may be what the total
        # counts: judging the sum without it would invent an error.
        return []
    issues = []
    done: set[str] = set()
    for stated in bill.totals:
        if stated.column in done:
            continue
        done.add(stated.column)
        column = [ln.billed if stated.column == "billed" else ln.patient for ln in bill.lines]
        actual = round(sum(column), 2)
        gap = round(stated.value - actual, 2)
        if abs(gap) <= 0.005 or any(abs(abs(gap) - u) <= 0.005 for u in bill.unplaced):
            continue
        summary = f"Stated total {_money(stated.value)} differs from line sum {_money(actual)}"
        issue = _issue(
            "arithmetic_error", None, summary, "Ask for a corrected total", max(0.0, gap), 0.95
        )
        issue.evidence = stated.evidence
        issues.append(issue)
    return issues


def detect(bill: Bill, text: str) -> list[DetectedIssue]:
    """Every rule on a parsed document."""
    return [
        *_duplicates(bill),
        *_overbilling(bill),
        *_unbundling(bill),
        *_upcoding(bill, _documented_minutes(text)),
        *_arithmetic(bill),
    ]


def _person(raw: str) -> str:
    name = re.sub(r"\(.*?\)", " ", raw).strip(" .:")
    if "," in name:  # "Last, First M." -> "First M. Last"
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}"
    return " ".join(name.split())


def _facility(text: str) -> str | None:
    if m := _FACILITY_LABEL.search(text):
        return m.group(1)
    for raw in text.splitlines()[:12]:
        line = raw.strip()
        # Document titles ("Dental Invoice") share words with facility names.
        if line and ":" not in line and _FACILITY_WORDS.search(line) and not _TITLE.search(line):
            return line
    return None


def _service_date(text: str, bill: Bill) -> str | None:
    days = sorted(ln.day for ln in bill.lines if ln.day)
    if days:
        return days[0]
    if m := _DOS.search(text):
        return first_date(m.group(1))
    for raw in text.splitlines():
        if not _NOT_SERVICE_DATE.search(raw) and DATE.search(raw):
            return first_date(raw)
    return None


def extract_facts(text: str, bill: Bill) -> ExtractedFacts:
    """Patient, dates, who billed and the line items, as read from the text."""
    patient = None
    if m := _PATIENT.search(text) or _MEMBER.search(text):
        patient = _person(m.group(1)) or None
    dob = first_date(m.group(1)) if (m := _DOB.search(text)) else None
    items = [
        ExtractedLineItem(
            cpt_code=ln.code,
            date_of_service=ln.day,
            description=ln.description,
            billed_amount=ln.billed,
            patient_responsibility=ln.patient,
        )
        for ln in bill.lines
    ]
    return ExtractedFacts(
        patient_name=patient,
        patient_dob=dob,
        date_of_service=_service_date(text, bill),
        facility_name=_facility(text),
        medical_line_items=items,
    )


def analyze_text(text: str) -> tuple[list[DetectedIssue], ExtractedFacts]:
    """Run the rules on one document: the issues found and the facts extracted."""
    bill = parse(text)
    return detect(bill, text), extract_facts(text, bill)


class BaselineProvider(Provider):
    """Rule-based detector; no network, no model, same answer for the same text."""

    kind = "baseline"

    def analyze(self, document: str) -> ModelAnswer:
        """Analyse `document` with the rules; the answer includes the JSON it stands for."""
        start = time.perf_counter()
        issues, facts = analyze_text(document)
        raw = json.dumps(
            {
                "issues": [i.model_dump(mode="json") for i in issues],
                "facts": facts.model_dump(mode="json"),
            }
        )
        latency_ms = (time.perf_counter() - start) * 1000.0
        return ModelAnswer(
            issues=issues, facts=facts, raw_output=raw, json_valid=True, latency_ms=latency_ms
        )
