"""Synthetic billing documents with exact ground truth, in the original suite layout.

`generate_suite(n, seed, out)` writes `out/inputs/<id>.txt` and
`out/expected_outputs/<id>.json`. The output is a pure function of `(n, seed)`:
one `random.Random(seed)` drives every choice, JSON is written with sorted keys,
and nothing depends on the clock, so the same seed gives the same bytes.

Each document is built as data first (`_Doc`: items, planted issues, savings in
integer cents) and only then rendered to text in one of several layouts
(`benchq.cases.render`), so the ground truth is exact by construction and the
wording can vary freely. The documents have the variety of real bills: lines
without a code (facility fees, supplies, lab fees, over-the-counter items),
facilities that price above or below the reference, physicians and insurers
named instead of a facility, each document type's own line-item fields in
the ground truth (`medical_line_items`, `dental_line_items`,
`pharmacy_line_items`, `claim_line_items`).

Scenarios are assigned round-robin per document type (then shuffled), which
guarantees every issue type and look-alike appears once `n` reaches 56. One of
them, balance billing (an in-network provider billing more than the insurer
says the patient owes), is an issue no rule of benchq's baseline looks for: a
real suite holds such issues too.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchq.cases import catalog
from benchq.cases.catalog import FIRST, LAST, PLACES
from benchq.cases.render import render_document
from benchq.cases.schema import Case, DocumentType, GroundTruth

DOC_TYPES: tuple[DocumentType, ...] = tuple(DocumentType)

#: The bundled sample suite is `generate_suite(SAMPLE_SIZE, SAMPLE_SEED, ...)`. The
#: baseline is tuned on another seed (see docs/suites.md), never on this one.
SAMPLE_SIZE = 56
SAMPLE_SEED = 3

#: Scenario schedule per document type; doc k of a type gets entry k mod len.
SCENARIOS: dict[DocumentType, tuple[str, ...]] = {
    DocumentType.medical_bill: (
        "clean", "duplicate", "overbilling", "unbundling", "upcoding", "arithmetic",
        "duplicate~", "overbilling~", "unbundling~", "upcoding~", "arithmetic~", "multi",
        "balance", "balance~",
    ),
    DocumentType.dental_bill: (
        "clean", "duplicate", "overbilling", "unbundling", "arithmetic", "duplicate~",
        "overbilling~", "unbundling~", "arithmetic~", "clean", "multi", "duplicate",
    ),
    DocumentType.pharmacy_receipt: (
        "clean", "duplicate", "overbilling", "arithmetic", "duplicate~", "overbilling~",
        "arithmetic~", "clean", "multi", "duplicate", "overbilling", "arithmetic",
    ),
    DocumentType.insurance_eob: (
        "clean", "duplicate", "overbilling", "unbundling", "arithmetic", "duplicate~",
        "overbilling~", "unbundling~", "clean", "multi", "duplicate", "unbundling",
    ),
}  # fmt: skip

#: Issues a "multi" document may combine, per type (arithmetic is applied last).
_DETECTABLE: dict[DocumentType, tuple[str, ...]] = {
    DocumentType.medical_bill: ("duplicate", "overbilling", "unbundling", "upcoding"),
    DocumentType.dental_bill: ("duplicate", "overbilling", "unbundling"),
    DocumentType.pharmacy_receipt: ("duplicate", "overbilling"),
    DocumentType.insurance_eob: ("duplicate", "overbilling", "unbundling"),
}

_FACILITY_KINDS: dict[DocumentType, tuple[str, ...]] = {
    DocumentType.medical_bill: (
        "Family Medicine", "Medical Center", "Internal Medicine Associates", "Health Clinic",
        "Primary Care", "Urgent Care", "Community Hospital",
    ),
    DocumentType.dental_bill: (
        "Dental Care", "Family Dentistry", "Dental Group", "Smile Dental", "Dental Associates",
    ),
    DocumentType.pharmacy_receipt: (
        "Pharmacy", "Drug Store", "Community Pharmacy", "Apothecary Pharmacy",
    ),
    DocumentType.insurance_eob: (
        "Family Medicine", "Medical Center", "Health Clinic", "Primary Care Partners",
        "Cardiology Associates",
    ),
}  # fmt: skip

#: Codes only an emergency department bills (not drawn for office visits).
_ED_CODES = ("99283", "99284")


@dataclass
class _Item:
    code: str | None
    """None for a line billed without a code (facility fee, supplies, OTC item)."""
    description: str
    day: date
    cents: int
    patient: int
    """Patient responsibility; equal to `cents` except on an EOB."""
    ref: int = 0
    """The catalogue's reference price of the line, in cents."""
    allowed: int = 0
    paid: int = 0
    modifier: str | None = None
    tooth: str | None = None
    surface: str | None = None
    rx: str | None = None
    quantity: int = 1
    touched: bool = False
    """Already used by a planted issue, so another issue picks a different line."""


@dataclass
class _Doc:
    kind: DocumentType
    patient: str | None
    """None on a till receipt for over-the-counter items: it names nobody."""
    dob: date | None
    facility: str
    items: list[_Item] = field(default_factory=list)
    provider: str | None = None
    """A physician or dentist named on the bill; for a physician's bill, instead of a facility."""
    physician_bill: bool = False
    insurer: str | None = None
    """The plan named on the document (always on an EOB)."""
    receipt: str | None = None
    show_ndc: bool = True
    price_level: float = 1.0
    new_patient: bool = False
    minutes: int | None = None
    show_note: bool = False
    reason: str = ""
    coinsurance: float = 0.8
    start: date = date(2024, 1, 2)
    """The first date of service the document was planned with."""
    issues: list[dict[str, Any]] = field(default_factory=list)
    savings: int = 0
    total_delta: int = 0
    """Arithmetic error planted in the stated total (the patient total on an EOB)."""
    adjustments: list[tuple[str, int]] = field(default_factory=list)
    """Payments and discounts listed after the total (negative cents)."""
    insurer_share: int | None = None
    """What the insurer says the patient owes, printed after the payments."""


# --------------------------------------------------------------------- helpers


def _ref_cents(code: str) -> int:
    return catalog.to_cents(catalog.ALL_CODES[code].reference_price)


def _round_price(raw: float, kind: DocumentType) -> int:
    if kind is DocumentType.pharmacy_receipt:
        return max(1, round(raw))
    step = 100 if raw >= 2000 else 25  # statements mostly show round prices
    return max(step, round(raw / step) * step)


def _price(rng: random.Random, ref: int, low: float, high: float, kind: DocumentType) -> int:
    return _round_price(ref * rng.uniform(low, high), kind)


def _set_price(rng: random.Random, doc: _Doc, item: _Item, cents: int) -> None:
    item.cents = cents
    if doc.kind is DocumentType.insurance_eob:
        item.allowed = round(cents * rng.uniform(0.5, 0.85))
        item.paid = round(item.allowed * doc.coinsurance)
        item.patient = item.allowed - item.paid
    else:
        item.patient = cents


def _share(item: _Item, excess: int) -> int:
    """The patient's part of an excess charge on a line (all of it off an EOB)."""
    if item.cents == 0:
        return 0
    return round(item.patient * excess / item.cents)


def _pairs_for(kind: DocumentType) -> list[tuple[str, str]]:
    dental = kind is DocumentType.dental_bill
    return [p for p in catalog.UNBUNDLED_PAIRS if p[0].startswith("D") == dental]


def _conflicts(code: str, items: list[_Item]) -> bool:
    present = {i.code for i in items}
    return code in present or any(
        (a == code and b in present) or (b == code and a in present)
        for a, b in catalog.UNBUNDLED_PAIRS
    )


def _issue(kind: str, description: str, *, detect: bool = True) -> dict[str, Any]:
    return {"type": kind, "description": description, "should_detect": detect}


def _money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _label(item: _Item) -> str:
    return item.code or item.description


def _new_item(rng: random.Random, doc: _Doc, code: str, day: date) -> _Item:
    entry = catalog.ALL_CODES[code]
    item = _Item(code, entry.description, day, 0, 0, ref=_ref_cents(code), quantity=entry.quantity)
    if entry.per_tooth:
        item.tooth = str(rng.choice([2, 3, 14, 15, 18, 19, 30, 31, 12, 5, 20, 29]))
        if code in ("D2140", "D2391"):
            item.surface = rng.choice(["O", "MO", "DO", "B", "MOD"])
    if doc.kind is DocumentType.pharmacy_receipt:
        item.rx = str(rng.randint(1_000_000, 9_999_999))
    level = doc.price_level
    _set_price(rng, doc, item, _price(rng, item.ref, 0.9 * level, 1.15 * level, doc.kind))
    return item


def _uncoded_item(rng: random.Random, doc: _Doc, family: str, day: date) -> _Item:
    description, price = rng.choice(catalog.UNCODED[family])
    ref = catalog.to_cents(price)
    item = _Item(None, description, day, 0, 0, ref=ref)
    cents = ref if family == "pharmacy" else _price(rng, ref, 0.9, 1.2, doc.kind)
    _set_price(rng, doc, item, cents)
    return item


# ------------------------------------------------------------ base documents


def _person(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"{rng.choice(FIRST)} {rng.choice('ABCDEHJKLMRST')}. {rng.choice(LAST)}"
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _base_doc(rng: random.Random, kind: DocumentType, scenario: str) -> _Doc:
    name = _person(rng)
    dob = None
    if rng.random() < 0.85:
        dob = date(1940, 1, 1) + timedelta(days=rng.randint(0, 27_000))
    facility = f"{rng.choice(PLACES)} {rng.choice(_FACILITY_KINDS[kind])}"
    doc = _Doc(kind, name, dob, facility, coinsurance=rng.choice([0.7, 0.8, 0.9]))
    doc.price_level = rng.choice(catalog.PRICE_LEVELS)
    if kind is DocumentType.insurance_eob or rng.random() < 0.3:
        doc.insurer = rng.choice(catalog.INSURERS)
    start = date(2023, 1, 2) + timedelta(days=rng.randint(0, 700))
    days = sorted({start + timedelta(days=rng.choice([0, 0, 0, 3, 7, 14])) for _ in range(3)})
    if rng.random() < 0.6:
        days = days[:1]
    doc.start = days[0]
    if kind is DocumentType.medical_bill and rng.random() < 0.15:
        # A physician's own bill: the doctor, not a facility, is who bills.
        doc.physician_bill = True
        doc.provider = f"{rng.choice(FIRST)} {rng.choice(LAST)}, MD"
    if kind is DocumentType.dental_bill and rng.random() < 0.3:
        doc.provider = f"Dr. {rng.choice(FIRST)} {rng.choice(LAST)}, DDS"
    if kind in (DocumentType.medical_bill, DocumentType.insurance_eob):
        _base_medical(rng, doc, days)
    elif kind is DocumentType.dental_bill:
        _base_dental(rng, doc, days)
    else:
        _base_pharmacy(rng, doc, days, scenario)
    return doc


def _base_medical(rng: random.Random, doc: _Doc, days: list[date]) -> None:
    if rng.random() < 0.85:
        doc.new_patient = rng.random() < 0.3
        family = catalog.EM_NEW if doc.new_patient else catalog.EM_ESTABLISHED
        code = rng.choice(list(family))
        low, high = family[code]
        doc.minutes = rng.randint(low, high)
        doc.show_note = doc.kind is DocumentType.medical_bill and rng.random() < 0.6
        doc.reason = rng.choice(_REASONS)
        doc.items.append(_new_item(rng, doc, code, days[0]))
    elif not doc.physician_bill:
        doc.items.append(_new_item(rng, doc, rng.choice(_ED_CODES), days[0]))
    pool = [c for c in catalog.MEDICAL if catalog.em_level(c) is None and c not in _ED_CODES]
    rng.shuffle(pool)
    for code in pool[: rng.randint(1, 4)]:
        if not _conflicts(code, doc.items):
            doc.items.append(_new_item(rng, doc, code, rng.choice(days)))
    if doc.kind is DocumentType.medical_bill and not doc.physician_bill and rng.random() < 0.4:
        doc.items.append(_uncoded_item(rng, doc, "medical", rng.choice(days)))


def _base_dental(rng: random.Random, doc: _Doc, days: list[date]) -> None:
    doc.items.append(_new_item(rng, doc, rng.choice(["D0120", "D0150", "D0140"]), days[0]))
    pool = [c for c in catalog.DENTAL if c not in ("D0120", "D0150", "D0140")]
    rng.shuffle(pool)
    for code in pool[: rng.randint(1, 3)]:
        if not _conflicts(code, doc.items):
            doc.items.append(_new_item(rng, doc, code, rng.choice(days)))
    if rng.random() < 0.25:
        doc.items.append(_uncoded_item(rng, doc, "dental", days[-1]))


def _base_pharmacy(rng: random.Random, doc: _Doc, days: list[date], scenario: str) -> None:
    doc.show_ndc = rng.random() < 0.7
    if rng.random() < 0.7:
        doc.receipt = f"{rng.randint(100, 9999)}-{rng.randint(10_000, 99_999)}"
    if scenario in ("clean", "arithmetic", "arithmetic~") and rng.random() < 0.3:
        # A till receipt of over-the-counter items: no prescription, no patient named.
        doc.patient = None
        doc.dob = None
        for _ in range(rng.randint(2, 5)):
            doc.items.append(_uncoded_item(rng, doc, "pharmacy", days[0]))
        return
    for code in rng.sample(list(catalog.PHARMACY), rng.randint(1, 4)):
        doc.items.append(_new_item(rng, doc, code, rng.choice(days)))
    if rng.random() < 0.35:
        # Bought at the counter with the first prescription picked up.
        day = min(i.day for i in doc.items)
        for _ in range(rng.randint(1, 2)):
            doc.items.append(_uncoded_item(rng, doc, "pharmacy", day))


_REASONS = (
    "follow-up of hypertension", "sore throat", "medication refill", "review of diabetes",
    "cough and congestion", "low back pain", "annual check of cholesterol", "ear pain",
)  # fmt: skip


# ------------------------------------------------------------------ scenarios


def _pick(rng: random.Random, doc: _Doc, *, em: bool = False, coded: bool = True) -> _Item:
    free = [
        i
        for i in doc.items
        if not i.touched
        and (i.code is not None or not coded)
        and (i.code is None or em or catalog.em_level(i.code) is None)
        and not (i.code is None and doc.kind is DocumentType.pharmacy_receipt)
    ]
    if not free:
        # Every line is used: add a fresh one so the issue has its own line.
        pool = {
            DocumentType.dental_bill: catalog.DENTAL,
            DocumentType.pharmacy_receipt: catalog.PHARMACY,
        }.get(doc.kind, catalog.MEDICAL)
        options = [
            c
            for c in pool
            if catalog.em_level(c) is None and c not in _ED_CODES and not _conflicts(c, doc.items)
        ]
        item = _new_item(rng, doc, rng.choice(options), doc.start)
        doc.items.append(item)
        return item
    return rng.choice(free)


def _duplicate(rng: random.Random, doc: _Doc) -> None:
    # An uncoded line (a facility fee billed twice) can be the duplicate too, off a pharmacy.
    item = _pick(rng, doc, coded=False)
    item.touched = True
    copy = replace(item)
    doc.items.insert(doc.items.index(item) + 1, copy)
    doc.issues.append(
        _issue("duplicate_charge", f"{_label(item)} {item.description} billed twice on {item.day}")
    )
    doc.savings += copy.patient


def _duplicate_lookalike(rng: random.Random, doc: _Doc) -> None:
    item = _pick(rng, doc)
    item.touched = True
    entry = catalog.ALL_CODES[item.code or ""]
    if entry.per_tooth:
        copy = replace(item, tooth=str((int(item.tooth or "1") + 1) % 32 or 1))
        why = "the same procedure on a different tooth"
    elif entry.lab and rng.random() < 0.6:
        copy = replace(item, modifier="91")
        why = "a repeated lab test marked with modifier -91"
    else:
        gap = 30 if doc.kind is DocumentType.pharmacy_receipt else rng.choice([7, 14, 21])
        copy = replace(item, day=item.day + timedelta(days=gap))
        why = "the same service on a different date"
    doc.items.insert(doc.items.index(item) + 1, copy)
    doc.issues.append(
        _issue("duplicate_charge", f"{item.code} appears twice but is {why}", detect=False)
    )


def _overbilling(rng: random.Random, doc: _Doc, *, lookalike: bool = False) -> None:
    if lookalike and doc.kind is DocumentType.medical_bill and rng.random() < 0.5:
        _units_lookalike(rng, doc)
        return
    item = _pick(rng, doc)
    item.touched = True
    ref = item.ref
    if lookalike:
        cents = min(_price(rng, ref, 1.2, 1.4, doc.kind), int(ref * 1.45))
        _set_price(rng, doc, item, cents)
        text = f"{item.code} at {_money(cents)} is slightly above the typical {_money(ref)}"
        doc.issues.append(_issue("overbilling", text, detect=False))
        return
    cents = max(_price(rng, ref, 2.0, 3.5, doc.kind), ref * 2)
    _set_price(rng, doc, item, cents)
    text = f"{item.code} billed at {_money(cents)}, far above the reference {_money(ref)}"
    doc.issues.append(_issue("overbilling", text))
    doc.savings += _share(item, cents - ref)


def _related(x: str | None, y: str | None) -> bool:
    return (x, y) in catalog.UNBUNDLED_PAIRS or (y, x) in catalog.UNBUNDLED_PAIRS


def _units_lookalike(rng: random.Random, doc: _Doc) -> None:
    """A drug billed per unit: the line total is several times the unit reference, legitimately."""
    doc.items = [i for i in doc.items if i.code != "J1100"]
    item = _new_item(rng, doc, "J1100", doc.start)
    item.touched = True
    item.quantity = rng.randint(4, 10)
    _set_price(rng, doc, item, round(item.ref * item.quantity * rng.uniform(0.95, 1.1)))
    doc.items.append(item)
    text = f"J1100 is billed for {item.quantity} units; the price per unit is within reference"
    doc.issues.append(_issue("overbilling", text, detect=False))


def _unbundling(rng: random.Random, doc: _Doc, *, lookalike: bool = False) -> None:
    used = {i.code for i in doc.items if i.touched}
    options = [
        (a, b)
        for a, b in _pairs_for(doc.kind)
        if b not in used and not any(_related(a, c) or _related(b, c) for c in used if c != a)
    ]
    whole_code, part_code = rng.choice(options)
    # Drop untouched lines that would form a second, unplanned pair (or repeat a code).
    doc.items = [
        i
        for i in doc.items
        if i.touched
        or i.code == whole_code
        or not (i.code == part_code or _related(i.code, whole_code) or _related(i.code, part_code))
    ]
    whole = next((i for i in doc.items if i.code == whole_code), None)
    if whole is None:
        whole = _new_item(rng, doc, whole_code, doc.start)
        doc.items.append(whole)
    whole.touched = True
    day = whole.day + timedelta(days=rng.choice([5, 10, 30])) if lookalike else whole.day
    part = _new_item(rng, doc, part_code, day)
    part.touched = True
    doc.items.insert(doc.items.index(whole) + 1, part)
    if lookalike:
        text = f"{part_code} and {whole_code} are billed on different dates of service"
        doc.issues.append(_issue("unbundling", text, detect=False))
        return
    text = f"{part_code} {part.description} is included in {whole_code} billed the same day"
    doc.issues.append(_issue("unbundling", text))
    doc.savings += part.patient


def _upcoding(rng: random.Random, doc: _Doc, *, lookalike: bool = False) -> None:
    doc.items = [i for i in doc.items if i.code is None or catalog.em_level(i.code) is None]
    doc.items = [i for i in doc.items if i.code not in _ED_CODES]
    family = catalog.EM_NEW if doc.new_patient else catalog.EM_ESTABLISHED
    codes = list(family)
    if lookalike:
        billed = codes[-1]
        low, high = family[billed]
        doc.minutes = rng.randint(low, high)
    else:
        correct_index = rng.randint(0, len(codes) - 2)
        billed = codes[rng.randint(correct_index + 1, len(codes) - 1)]
        low, high = family[codes[correct_index]]
        doc.minutes = rng.randint(low, high)
    doc.show_note = True
    doc.reason = doc.reason or rng.choice(_REASONS)
    visit = _new_item(rng, doc, billed, doc.start)
    visit.touched = True
    doc.items.insert(0, visit)
    correct = catalog.em_code_for_minutes(doc.minutes, new_patient=doc.new_patient)
    if lookalike:
        text = f"{billed} is supported by the documented {doc.minutes}-minute visit"
        doc.issues.append(_issue("upcoding", text, detect=False))
        return
    text = f"{billed} billed for a documented {doc.minutes}-minute visit, which supports {correct}"
    doc.issues.append(_issue("upcoding", text))
    doc.savings += max(0, _share(visit, visit.cents - _ref_cents(correct)))


def _arithmetic(rng: random.Random, doc: _Doc, *, lookalike: bool = False) -> None:
    # The patient column is the stated total an error is planted in (billed, off an EOB).
    total = sum(i.patient for i in doc.items)
    if lookalike:
        labels = (
            ("Insurance paid", "Manufacturer coupon")
            if doc.kind is DocumentType.pharmacy_receipt
            else ("Payment received", "Self-pay discount", "Insurance adjustment")
        )
        for label in rng.sample(labels, rng.randint(1, 2)):
            doc.adjustments.append((label, -round(total * rng.uniform(0.1, 0.3))))
        text = "The balance due is lower than the total because of listed payments/discounts"
        doc.issues.append(_issue("arithmetic_error", text, detect=False))
        return
    # Keep the error plausible for the document's size (a $100 slip on a $17 receipt is not).
    steps = [d for d in (100, 500, 900, 1000, 2000, 4500, 5000, 10000) if d <= max(100, total // 2)]
    delta = rng.choice(steps) * rng.choice([1, 1, 1, -1])
    doc.total_delta = delta
    which = "patient responsibility total" if doc.kind is DocumentType.insurance_eob else "total"
    text = f"The stated {which} is off by {_money(abs(delta))} from the sum of the lines"
    doc.issues.append(_issue("arithmetic_error", text))
    doc.savings += max(0, delta)


def _balance(rng: random.Random, doc: _Doc, *, lookalike: bool = False) -> None:
    """An insurer paid; the balance asked of the patient is (or is not) above their share."""
    doc.insurer = doc.insurer or rng.choice(catalog.INSURERS)
    total = sum(i.cents for i in doc.items)
    allowed = round(total * rng.uniform(0.45, 0.7))
    paid = round(allowed * doc.coinsurance)
    doc.insurer_share = allowed - paid
    doc.adjustments.append((f"Insurance payment ({doc.insurer})", -paid))
    if lookalike:
        doc.adjustments.append(("Contractual adjustment", -(total - allowed)))
        text = "The balance equals the patient's share after the insurer's payment and adjustment"
        doc.issues.append(_issue("balance_billing", text, detect=False))
        return
    owed = total - paid
    text = (
        f"The provider bills {_money(owed)} although {doc.insurer} sets the patient's share "
        f"at {_money(doc.insurer_share)}"
    )
    doc.issues.append(_issue("balance_billing", text))
    doc.savings += owed - doc.insurer_share


def _apply(rng: random.Random, doc: _Doc, scenario: str) -> None:
    lookalike = scenario.endswith("~")
    name = scenario.rstrip("~")
    if name == "multi":
        for part in sorted(rng.sample(_DETECTABLE[doc.kind], 2)):
            _apply(rng, doc, part)
        if rng.random() < 0.4:
            _apply(rng, doc, "arithmetic")
    elif name == "duplicate":
        (_duplicate_lookalike if lookalike else _duplicate)(rng, doc)
    elif name == "overbilling":
        _overbilling(rng, doc, lookalike=lookalike)
    elif name == "unbundling":
        _unbundling(rng, doc, lookalike=lookalike)
    elif name == "upcoding":
        _upcoding(rng, doc, lookalike=lookalike)
    elif name == "arithmetic":
        _arithmetic(rng, doc, lookalike=lookalike)
    elif name == "balance":
        _balance(rng, doc, lookalike=lookalike)


# ------------------------------------------------------------------ assembly


def _amount(cents: int) -> int | float:
    """Dollars as JSON writes them: `240` for whole dollars, `36.5` otherwise."""
    return cents // 100 if cents % 100 == 0 else cents / 100


def _line_item(doc: _Doc, item: _Item) -> dict[str, Any]:
    common: dict[str, Any] = {
        "date_of_service": item.day.isoformat(),
        "description": item.description,
    }
    kind = doc.kind
    if kind is DocumentType.pharmacy_receipt:
        out = {**common, "quantity": item.quantity, "amount": _amount(item.cents)}
        if item.code is not None and doc.show_ndc:
            out["ndc_code"] = item.code
        if item.rx is not None:
            out["rx_number"] = item.rx
        return out
    if kind is DocumentType.dental_bill:
        out = {**common, "cdt_code": item.code, "billed_amount": _amount(item.cents)}
        if item.tooth is not None:
            out["tooth_number"] = item.tooth
        out["patient_responsibility"] = _amount(item.patient)
        return out
    if kind is DocumentType.insurance_eob:
        return {
            **common,
            "cpt_code": item.code,
            "billed_amount": _amount(item.cents),
            "allowed_amount": _amount(item.allowed),
            "plan_paid": _amount(item.paid),
            "patient_responsibility": _amount(item.patient),
        }
    return {
        **common,
        "cpt_code": item.code,
        "billed_amount": _amount(item.cents),
        "patient_responsibility": _amount(item.patient),
    }


_ITEM_LISTS: dict[DocumentType, str] = {
    DocumentType.medical_bill: "medical_line_items",
    DocumentType.dental_bill: "dental_line_items",
    DocumentType.pharmacy_receipt: "pharmacy_line_items",
    DocumentType.insurance_eob: "claim_line_items",
}


def _truth(doc: _Doc) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "patient_name": doc.patient,
        "patient_dob": doc.dob.isoformat() if doc.dob else None,
        "date_of_service": min(i.day for i in doc.items).isoformat(),
        _ITEM_LISTS[doc.kind]: [_line_item(doc, i) for i in doc.items],
    }
    if doc.kind is DocumentType.insurance_eob:
        facts["provider_name"] = doc.facility  # an EOB names the provider, not a facility
    elif doc.physician_bill:
        facts["provider_name"] = doc.provider
    else:
        facts["facility_name"] = doc.facility
        if doc.provider is not None:
            facts["provider_name"] = doc.provider
    if doc.insurer is not None:
        facts["insurance_company"] = doc.insurer
    if doc.receipt is not None:
        facts["receipt_number"] = doc.receipt
    return {
        "document_type": doc.kind.value,
        "expected_issues": doc.issues,
        "expected_facts": facts,
        "expected_savings": _amount(doc.savings),
    }


def generate_documents(n: int, seed: int) -> list[tuple[str, str, dict[str, Any]]]:
    """Build `n` synthetic documents in memory: `(id, text, ground-truth dict)`, by id."""
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = random.Random(seed)
    counters = dict.fromkeys(DOC_TYPES, 0)
    plan: list[tuple[DocumentType, str]] = []
    for k in range(n):
        kind = DOC_TYPES[k % len(DOC_TYPES)]
        schedule = SCENARIOS[kind]
        plan.append((kind, schedule[counters[kind] % len(schedule)]))
        counters[kind] += 1
    rng.shuffle(plan)  # ids must not reveal the type or the planted issue
    width = max(3, len(str(n)))
    out = []
    for k, (kind, scenario) in enumerate(plan, start=1):
        doc = _base_doc(rng, kind, scenario)
        _apply(rng, doc, scenario)
        doc.items.sort(key=lambda i: i.day)  # stable: copies stay beside originals
        text = render_document(rng, doc)
        out.append((f"doc_{k:0{width}d}", text, _truth(doc)))
    return out


def generate_cases(n: int, seed: int) -> list[Case]:
    """The same documents as `generate_suite` writes, as validated `Case` objects."""
    return [
        Case(id=case_id, text=text, truth=GroundTruth.model_validate(truth), source="generated")
        for case_id, text, truth in generate_documents(n, seed)
    ]


def generate_suite(n: int, seed: int, out: Path) -> list[str]:
    """Write `n` documents to `out/inputs/*.txt` and `out/expected_outputs/*.json`.

    Deterministic: the same `(n, seed)` writes the same bytes. Existing files of
    the same names are overwritten; other files in `out` are left alone.
    Returns the case ids written, sorted.
    """
    inputs = out / "inputs"
    truths = out / "expected_outputs"
    inputs.mkdir(parents=True, exist_ok=True)
    truths.mkdir(parents=True, exist_ok=True)
    ids = []
    for case_id, text, truth in generate_documents(n, seed):
        # Write bytes, not text, so the platform never translates newlines.
        (inputs / f"{case_id}.txt").write_bytes(text.encode("utf-8"))
        body = json.dumps(truth, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (truths / f"{case_id}.json").write_bytes(body.encode("utf-8"))
        ids.append(case_id)
    return sorted(ids)
