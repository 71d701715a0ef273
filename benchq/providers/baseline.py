"""A deterministic, local, rule-based detector: the floor every model should beat.

It reads only the document text. Parsing is layout-agnostic: the text is split
into paragraphs; a paragraph holding exactly one billing code is one line item
(key: value blocks, multi-line pharmacy entries), otherwise each line that has
both a code and an amount is one. Totals, payments and balances are recognised
by their leading label and kept apart from the items.

Rules, each the check a human auditor would make with a fee schedule:
- duplicate_charge: same code, modifier, date, amount (and tooth / Rx number)
  more than once, with no modifier that marks a distinct service;
- overbilling: a price above `catalog.OVERBILLING_FACTOR` times the reference;
- unbundling: a component billed with its comprehensive code on the same date;
- upcoding: an E/M level above what the documented visit minutes support;
- arithmetic_error: a stated total that differs from the sum of the lines.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date

from benchq.cases import catalog
from benchq.providers.base import (
    DetectedIssue,
    ExtractedFacts,
    ExtractedLineItem,
    ModelAnswer,
    Provider,
)

_MON = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DATE = re.compile(
    r"(?<![\w/-])(?:"
    r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})"
    r"|(?P<Y>\d{4})-(?P<M>\d{2})-(?P<D>\d{2})"
    rf"|(?P<lmon>{_MON})[a-z]*\.?\s+(?P<ld>\d{{1,2}}),?\s+(?P<ly>\d{{4}})"
    rf"|(?P<dd>\d{{1,2}})-(?P<dmon>{_MON})[a-z]*-(?P<dy>\d{{4}})"
    r")(?![\w/])",
    re.IGNORECASE,
)
_MONEY = re.compile(r"(?<![\w.,/-])(\()?(-)?\$?(\d{1,3}(?:,\d{3})+|\d+)\.(\d{2})(?!\d)")
_NDC = re.compile(r"(?<![\w-])(\d{5}-\d{4}-\d{2})(?![\w-])")
_CODE = re.compile(r"(?<![\w$.,/#-])([A-Z]\d{4}|\d{5})(?:-(\d{2}|[A-Z]{2}))?(?![\w.,/-])")
_MODIFIER = re.compile(
    r"(?<![\w.$])(" + "|".join(sorted(catalog.DISTINCT_MODIFIERS)) + r")(?![\w.])"
)
_TOOTH = re.compile(r"(?:#\s?|\btooth\s*:?\s*)(\d{1,2})(?!\d)", re.IGNORECASE)
_RX = re.compile(r"(?:\bRx\s*(?:#|No\.?)?\s*:?\s*|^\s*)(\d{7})\b", re.IGNORECASE)
_TOTAL = re.compile(r"^\s*(?:grand\s+)?(?:sub)?totals?\b([^:$\d]*)", re.IGNORECASE)
_NOT_ITEM = re.compile(
    r"^\s*(?:balance|amount\s+(?:due|paid)|please\s+pay|patient\s+balance|you\s+pay|payments?\b"
    r"|self-pay|insurance|manufacturer|coupon|discount|adjust|previous|your\s+plan|you\s+may)",
    re.IGNORECASE,
)
_MINUTES = re.compile(r"(\d{1,3})\s*-?\s*(?:minutes?|mins?)\b", re.IGNORECASE)
_PATIENT = re.compile(
    r"^\s*(?:patient(?:\s+name)?|customer|name)\s*:\s*(.+?)(?:\s{2,}|$)",
    re.IGNORECASE | re.MULTILINE,
)
_DOB = re.compile(r"\b(?:dob|date\s+of\s+birth|birth\s*date)\s*:\s*(.+)$", re.I | re.M)
_DOS = re.compile(r"^\s*(?:date\s+of\s+service|service\s+date|dos)\s*:\s*(.+)$", re.I | re.M)
_FACILITY_LABEL = re.compile(
    r"^\s*(?:facility|practice|(?:rendering\s+|billing\s+)?provider(?:\s+name)?)\s*:\s*(.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FACILITY_WORDS = re.compile(
    r"\b(?:medical|medicine|clinic|health|hospital|dental|dentistry|pharmacy|drug|care|"
    r"associates|center|apothecary|partners|smile)\b",
    re.IGNORECASE,
)
_TITLE = re.compile(r"\b(?:statement|invoice|receipt|bill|ledger|explanation|summary)\b", re.I)
_EOB = re.compile(r"explanation\s+of\s+benefits|\bEOB\b|this\s+is\s+not\s+a\s+bill", re.I)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_LABEL = re.compile(r"\b[A-Za-z][A-Za-z .#/]{0,24}:\s*")
_MONTHS = {m: n for n, m in enumerate(_MON.split("|"), start=1)}


@dataclass
class _Line:
    code: str
    modifier: str | None
    day: str | None
    billed: float
    patient: float
    tooth: str | None
    rx: str | None
    evidence: str
    description: str


def _iso(match: re.Match[str]) -> str | None:
    g = match.groupdict()
    try:
        if g["m"]:
            year = int(g["y"])
            year += (2000 if year < 50 else 1900) if year < 100 else 0
            return date(year, int(g["m"]), int(g["d"])).isoformat()
        if g["Y"]:
            return date(int(g["Y"]), int(g["M"]), int(g["D"])).isoformat()
        if g["lmon"]:
            return date(int(g["ly"]), _MONTHS[g["lmon"][:3].lower()], int(g["ld"])).isoformat()
        return date(int(g["dy"]), _MONTHS[g["dmon"][:3].lower()], int(g["dd"])).isoformat()
    except ValueError:  # 02/30/2024 and the like: not a date
        return None


def _first_date(text: str) -> str | None:
    for match in _DATE.finditer(text):
        found = _iso(match)
        if found:
            return found
    return None


def _amounts(text: str) -> list[float]:
    out = []
    for m in _MONEY.finditer(text):
        value = int(m.group(3).replace(",", "")) + int(m.group(4)) / 100
        out.append(-value if (m.group(1) or m.group(2)) else value)
    return out


def _codes(text: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = [(m.group(1), None) for m in _NDC.finditer(text)]
    rest = _NDC.sub(" ", _DATE.sub(" ", text))
    found += [(m.group(1), m.group(2)) for m in _CODE.finditer(rest)]
    return found


def _parse_line(record: str, eob: bool, default_day: str | None) -> _Line | None:
    money = [a for a in _amounts(record) if a >= 0]
    codes = _codes(record)
    if not money or not codes:
        return None
    code, modifier = codes[0]
    stripped = _MONEY.sub(" ", _DATE.sub(" ", record))
    stripped = stripped.replace(code, " ", 1)
    if modifier is None:
        standalone = _MODIFIER.search(stripped)
        modifier = standalone.group(1) if standalone else None
    tooth = _TOOTH.search(record) if code.startswith("D") else None
    rx = _RX.search(record) if "-" in code else None
    description = _LABEL.sub(" ", _TOOTH.sub(" ", stripped))
    description = re.sub(r"[|#]|\b\d+\b|-\d{2}\b", " ", description)
    return _Line(
        code=code,
        modifier=modifier,
        day=_first_date(record) or default_day,
        billed=money[0],
        patient=money[-1] if eob and len(money) >= 4 else money[0],
        tooth=tooth.group(1) if tooth else None,
        rx=rx.group(1) if rx else None,
        evidence=" ".join(record.split()),
        description=" ".join(description.split()),
    )


@dataclass
class _Parsed:
    lines: list[_Line]
    billed_total: tuple[float, str] | None
    patient_total: tuple[float, str] | None


def _parse(text: str, eob: bool, default_day: str | None) -> _Parsed:
    lines: list[_Line] = []
    billed_total: tuple[float, str] | None = None
    patient_total: tuple[float, str] | None = None
    for paragraph in _PARAGRAPH.split(text):
        item_lines = []
        for raw in paragraph.splitlines():
            total = _TOTAL.match(raw)
            amounts = _amounts(raw)
            if total and amounts:
                label = total.group(1).lower()
                evidence = " ".join(raw.split())
                if len(amounts) >= 4:  # an EOB totals row: billed ... patient
                    billed_total = billed_total or (amounts[0], evidence)
                    patient_total = patient_total or (amounts[-1], evidence)
                elif re.search(r"allowed|paid|saving", label):
                    continue  # plan-side columns: not what the patient is billed
                elif re.search(r"\b(?:owe|responsib\w*|patient)\b", label):
                    patient_total = patient_total or (amounts[0], evidence)
                else:
                    billed_total = billed_total or (amounts[0], evidence)
            elif raw.strip() and not _NOT_ITEM.match(raw):
                item_lines.append(raw)
        # A paragraph with exactly one code is one item spread over several lines.
        if len(item_lines) > 1 and len(_codes("\n".join(item_lines))) == 1:
            records = [" ".join(s.strip() for s in item_lines)]
        else:
            records = item_lines
        for record in records:
            parsed = _parse_line(record, eob, default_day)
            if parsed:
                lines.append(parsed)
    return _Parsed(lines, billed_total, patient_total)


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _share(line: _Line, excess: float) -> float:
    if line.billed <= 0:
        return 0.0
    return round(max(0.0, line.patient * excess / line.billed), 2)


def _issue(
    kind: str, line: _Line | None, summary: str, action: str, savings: float, conf: float
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


def _detect(p: _Parsed, minutes: int | None) -> list[DetectedIssue]:
    issues: list[DetectedIssue] = []
    lines = p.lines
    keys = Counter[tuple[object, ...]]()
    for ln in lines:
        if ln.modifier in catalog.DISTINCT_MODIFIERS:
            continue
        key = (ln.code, ln.modifier, ln.day, ln.billed, ln.tooth, ln.rx)
        keys[key] += 1
        if keys[key] == 2:
            summary = f"{ln.code} is billed more than once on {ln.day} for {_money(ln.billed)}"
            action = "Ask the provider to remove the duplicate line"
            issues.append(_issue("duplicate_charge", ln, summary, action, ln.patient, 0.9))
    flagged: set[tuple[str, float]] = set()
    for ln in lines:
        entry = catalog.ALL_CODES.get(ln.code)
        if entry is None or (ln.code, ln.billed) in flagged:
            continue
        if ln.billed > catalog.OVERBILLING_FACTOR * entry.reference_price:
            flagged.add((ln.code, ln.billed))
            summary = (
                f"{ln.code} billed at {_money(ln.billed)}; reference price is "
                f"{_money(entry.reference_price)}"
            )
            savings = _share(ln, ln.billed - entry.reference_price)
            issues.append(
                _issue("overbilling", ln, summary, "Request an itemised price review", savings, 0.7)
            )
    by_day = {(ln.code, ln.day) for ln in lines}
    for whole, part in catalog.UNBUNDLED_PAIRS:
        for ln in lines:
            if ln.code == part and (whole, ln.day) in by_day and ln.modifier != "59":
                summary = f"{part} is a component of {whole}, billed the same day"
                action = f"Ask for {part} to be bundled into {whole}"
                issues.append(_issue("unbundling", ln, summary, action, ln.patient, 0.8))
    if minutes is not None:
        for ln in lines:
            level = catalog.em_level(ln.code)
            if level is None:
                continue
            family, billed_level = level
            supported = catalog.em_code_for_minutes(minutes, new_patient=family is catalog.EM_NEW)
            if billed_level > list(family).index(supported):
                ref = catalog.ALL_CODES[supported].reference_price
                summary = (
                    f"{ln.code} billed for a {minutes}-minute visit, which supports {supported}"
                )
                savings = _share(ln, ln.billed - ref)
                issues.append(
                    _issue("upcoding", ln, summary, "Request review of the E/M level", savings, 0.6)
                )
    for stated, column in ((p.billed_total, "billed"), (p.patient_total, "patient")):
        if stated is None or not lines:
            continue
        actual = round(sum(ln.billed if column == "billed" else ln.patient for ln in lines), 2)
        if abs(stated[0] - actual) > 0.005:
            summary = f"Stated total {_money(stated[0])} differs from line sum {_money(actual)}"
            issue = _issue(
                "arithmetic_error", None, summary, "Ask for a corrected total",
                max(0.0, stated[0] - actual), 0.95,
            )  # fmt: skip
            issue.evidence = stated[1]
            issues.append(issue)
    return issues


def _facts(text: str, lines: list[_Line]) -> ExtractedFacts:
    patient = None
    if m := _PATIENT.search(text):
        patient = m.group(1).strip()
        if "," in patient:  # "Last, First M." -> "First M. Last"
            last, _, first = patient.partition(",")
            patient = f"{first.strip()} {last.strip()}"
    dob = _first_date(m.group(1)) if (m := _DOB.search(text)) else None
    facility = m.group(1) if (m := _FACILITY_LABEL.search(text)) else None
    if facility is None:
        for raw in text.splitlines()[:12]:
            # Document titles ("Dental Invoice") share words with facility names.
            if ":" not in raw and _FACILITY_WORDS.search(raw) and not _TITLE.search(raw):
                facility = raw.strip()
                break
    days = sorted(ln.day for ln in lines if ln.day)
    dos = days[0] if days else (_first_date(m.group(1)) if (m := _DOS.search(text)) else None)
    items = [
        ExtractedLineItem(
            cpt_code=ln.code,
            date_of_service=ln.day,
            description=ln.description,
            billed_amount=ln.billed,
            patient_responsibility=ln.patient,
        )
        for ln in lines
    ]
    return ExtractedFacts(
        patient_name=patient,
        patient_dob=dob,
        date_of_service=dos,
        facility_name=facility,
        medical_line_items=items,
    )


def analyze_text(text: str) -> tuple[list[DetectedIssue], ExtractedFacts]:
    """Run the rules on one document: the issues found and the facts extracted."""
    eob = bool(_EOB.search(text))
    default_day = _first_date(m.group(1)) if (m := _DOS.search(text)) else None
    parsed = _parse(text, eob, default_day)
    minutes_match = _MINUTES.search(text)
    minutes = int(minutes_match.group(1)) if minutes_match else None
    return _detect(parsed, minutes), _facts(text, parsed.lines)


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
