"""Render a planned synthetic document (`generate._Doc`) as plain text.

Real statements differ in layout, labels, date and money formats, and carry
noise (addresses, phone numbers, account numbers, messages). So do these:
amounts with and without cents (`$240`, `$36.50`, a bare `62` in a ledger),
with and without thousands separators, lines without a code, descriptions
wrapped onto a second line (the amount on the first line or the last),
dotted leaders, a physician's letterhead instead of a facility's, and now and
then the slips of a scanned and OCR'd page (`Patlent`, `0ffice`) in labels,
titles and footers. Every such choice is drawn from the caller's
`random.Random`, so rendering stays deterministic, and none of it changes the
facts: the ground truth is built from the plan, not from the text, and the
facts themselves (names, dates, codes, amounts) are never garbled.
"""

from __future__ import annotations

import random
import re
import textwrap
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from benchq.cases.catalog import FIRST, LAST, SPECIALTIES
from benchq.cases.schema import DocumentType

if TYPE_CHECKING:
    from benchq.cases.generate import _Doc, _Item

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_STREETS = [
    "Main", "Oak", "Elm", "Maple", "Cedar", "Lake", "Hill", "Park", "Washington", "Lincoln",
    "River", "Church",
]  # fmt: skip
_CITIES = (
    ("Springfield", "IL", "62704"), ("Fairfield", "OH", "45014"), ("Madison", "WI", "53703"),
    ("Franklin", "TN", "37064"), ("Salem", "OR", "97301"), ("Georgetown", "TX", "78626"),
    ("Arlington", "VA", "22201"), ("Clinton", "IA", "52732"),
)  # fmt: skip
_TITLES: dict[DocumentType, tuple[str, ...]] = {
    DocumentType.medical_bill: (
        "PATIENT STATEMENT", "Itemized Statement", "STATEMENT OF SERVICES", "Patient Bill",
        "ITEMIZED BILL", "Statement of Account",
    ),
    DocumentType.dental_bill: (
        "DENTAL STATEMENT", "Patient Ledger", "Treatment Statement", "Dental Invoice",
    ),
    DocumentType.pharmacy_receipt: (
        "PHARMACY RECEIPT", "Prescription Receipt", "CUSTOMER RECEIPT", "Rx Receipt",
    ),
    DocumentType.insurance_eob: (
        "EXPLANATION OF BENEFITS", "Explanation of Benefits", "EOB - Claim Summary",
    ),
}  # fmt: skip

#: Look-alike characters an OCR engine confuses, applied to one letter of a word.
_OCR_SLIPS = (("i", "l"), ("o", "0"), ("O", "0"), ("l", "1"), ("m", "rn"), ("I", "l"))


class _Style:
    """Per-document formatting choices."""

    def __init__(self, rng: random.Random, kind: DocumentType) -> None:
        styles = ["us", "us", "iso", "long", "dmy"]
        if kind is DocumentType.pharmacy_receipt:
            styles.append("us2")
        self.date_style = rng.choice(styles)
        self.dollar = rng.random() < 0.7
        self.commas = rng.random() < 0.7
        self.paren_negative = rng.random() < 0.3
        # Whole dollars without ".00" ($240): statements do it, receipts and EOBs do not.
        self.whole = kind in (DocumentType.medical_bill, DocumentType.dental_bill) and (
            rng.random() < 0.3
        )
        self.ocr = rng.random() < 0.12
        self.wrap = rng.randint(24, 34) if rng.random() < 0.3 else 0
        self.amount_last = rng.random() < 0.5
        """On a wrapped line, the amount sits on the last line (else on the first)."""

    def date(self, d: date, *, full_year: bool = False) -> str:
        style = "us" if full_year and self.date_style == "us2" else self.date_style
        mon = _MONTHS[d.month - 1]
        if style == "iso":
            return d.isoformat()
        if style == "long":
            return f"{mon} {d.day}, {d.year}"
        if style == "dmy":
            return f"{d.day:02d}-{mon}-{d.year}"
        if style == "us2":
            return f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}"
        return f"{d.month:02d}/{d.day:02d}/{d.year}"

    def money(self, cents: int) -> str:
        dollars = f"{abs(cents) // 100:,}" if self.commas else str(abs(cents) // 100)
        cents_part = "" if self.whole and cents % 100 == 0 else f".{abs(cents) % 100:02d}"
        text = f"{'$' if self.dollar else ''}{dollars}{cents_part}"
        if cents < 0:
            return f"({text})" if self.paren_negative else f"-{text}"
        return text


def _ocr(rng: random.Random, line: str) -> str:
    """One OCR slip in one word of `line` (letters only, so no fact is garbled)."""
    words = list(re.finditer(r"[A-Za-z]{4,}", line))
    if not words:
        return line
    word = rng.choice(words)
    options = [(a, b) for a, b in _OCR_SLIPS if a in word.group()]
    if not options:
        return line
    a, b = rng.choice(options)
    slipped = word.group().replace(a, b, 1)
    return line[: word.start()] + slipped + line[word.end() :]


def _code(item: _Item) -> str:
    if item.code is None:
        return ""
    return f"{item.code}-{item.modifier}" if item.modifier else item.code


def _desc(item: _Item) -> str:
    # Medical lines billed per unit say so; pharmacy quantities have their own column.
    if item.quantity > 1 and item.code is not None and "-" not in item.code:
        return f"{item.description} ({item.quantity} units)"
    return item.description


def _name(rng: random.Random, name: str, kind: DocumentType) -> str:
    if kind in (DocumentType.dental_bill, DocumentType.pharmacy_receipt) and rng.random() < 0.4:
        first, _, last = name.rpartition(" ")
        return f"{last}, {first}"
    return name


def _phone(rng: random.Random) -> str:
    a, b, c = rng.randint(200, 989), rng.randint(200, 999), rng.randint(1000, 9999)
    return rng.choice([f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}"])


def _address(rng: random.Random) -> list[str]:
    city, state, zip_code = rng.choice(_CITIES)
    street = f"{rng.randint(10, 9899)} {rng.choice(_STREETS)} {rng.choice(['St', 'Ave', 'Blvd'])}"
    if rng.random() < 0.5:
        return [f"{street}, {city}, {state} {zip_code}"]
    return [street, f"{city}, {state} {zip_code}"]


def _top(rng: random.Random, doc: _Doc, st: _Style) -> list[str]:
    kind = doc.kind
    title = rng.choice(_TITLES[kind])
    if st.ocr:
        title = _ocr(rng, title)
    if kind is DocumentType.insurance_eob:
        return [doc.insurer or "", *_address(rng), title, "THIS IS NOT A BILL"]
    if doc.physician_bill:
        top = [doc.provider or "", rng.choice(SPECIALTIES), *_address(rng)]
    else:
        fac = rng.choice([doc.facility, doc.facility, f"Facility: {doc.facility}"])
        if kind is DocumentType.dental_bill:
            fac = rng.choice([doc.facility, f"Practice: {doc.facility}"])
        if kind is DocumentType.pharmacy_receipt:
            fac = doc.facility
        top = [fac, *([doc.provider] if doc.provider else []), *_address(rng)]
    if kind is DocumentType.pharmacy_receipt:
        top.insert(1, f"Store #{rng.randint(100, 9999):04d}")
    if rng.random() < 0.7:
        top.append(rng.choice(["Phone: ", "Tel ", ""]) + _phone(rng))
    return [title, *top] if rng.random() < 0.5 else [*top, "", title]


def _patient_block(rng: random.Random, doc: _Doc, st: _Style) -> list[str]:
    if doc.patient is None:
        return []
    kind = doc.kind
    who = _name(rng, doc.patient, kind)
    label = rng.choice(["Patient", "Patient Name", "PATIENT"])
    if kind is DocumentType.pharmacy_receipt:
        label = rng.choice(["Patient", "Customer", "Patient Name"])
    if st.ocr and rng.random() < 0.5:
        label = _ocr(rng, label)
    dob_label = rng.choice(["DOB", "Date of Birth", "Birth Date"])
    dob = st.date(doc.dob, full_year=True) if doc.dob else None
    if dob and rng.random() < 0.4:
        return [f"{label}: {who}     {dob_label}: {dob}"]
    return [f"{label}: {who}", *([f"{dob_label}: {dob}"] if dob else [])]


def _header(rng: random.Random, doc: _Doc, st: _Style, needs_dos: bool) -> list[list[str]]:
    kind = doc.kind
    top = _top(rng, doc, st)
    block = _patient_block(rng, doc, st)
    last = max(i.day for i in doc.items)
    if kind is DocumentType.insurance_eob:
        patient = doc.patient or ""
        member = patient if rng.random() < 0.5 else f"{rng.choice(FIRST)} {patient.split()[-1]}"
        block[0:0] = [f"Member: {member}", f"Member ID: XJH{rng.randint(10**8, 10**9 - 1)}"]
        prov = rng.choice(["Provider", "Rendering Provider", "Provider Name"])
        block += [
            f"{prov}: {doc.facility}",
            f"Claim Number: {last.year}{rng.randint(10**7, 10**8 - 1)}",
            f"Claim Processed: {st.date(date.fromordinal(last.toordinal() + rng.randint(10, 40)))}",
        ]
    elif kind is DocumentType.pharmacy_receipt:
        if doc.receipt is not None:
            block.insert(0, f"{rng.choice(['Receipt #', 'Receipt No.', 'Trans #'])}: {doc.receipt}")
        if doc.patient is not None:
            block.append(f"Pharmacist: {rng.choice(FIRST)} {rng.choice(LAST)}, PharmD")
        if doc.insurer is not None:
            block.append(f"Plan: {doc.insurer}")
    else:
        block.append(
            f"{rng.choice(['Account #', 'Account No.', 'Acct'])}: {rng.randint(10**7, 10**8)}"
        )
        stmt = date.fromordinal(last.toordinal() + rng.randint(5, 25))
        block.append(f"{rng.choice(['Statement Date', 'Bill Date'])}: {st.date(stmt)}")
        if rng.random() < 0.3:
            block.append(f"Guarantor: {rng.choice(FIRST)} {rng.choice(LAST)}")
        if doc.insurer is not None:
            block.append(f"Insurance: {doc.insurer}  Group GRP-{rng.randint(1000, 9999)}")
    if needs_dos or rng.random() < 0.3:
        first = min(i.day for i in doc.items)
        block.append(f"{rng.choice(['Date of Service', 'Service Date', 'DOS'])}: {st.date(first)}")
    return [top, block]


# ------------------------------------------------------------------ item layouts


def _wrapped(st: _Style, text: str, width: int) -> list[str]:
    """`text` in one chunk, or in several when the document wraps long descriptions."""
    if not st.wrap or len(text) <= st.wrap:
        return [text.ljust(width) if width else text]
    chunks = textwrap.wrap(text, st.wrap)
    return [c.ljust(width) for c in chunks]


def _rows(st: _Style, lead: str, desc: list[str], amount: str, amount_width: int) -> list[str]:
    """An item row; with a wrapped description, continuation lines under the description."""
    pad = " " * len(lead)
    if len(desc) == 1:
        return [f"{lead}{desc[0]}{amount:>{amount_width}}"]
    blank = " " * amount_width
    if st.amount_last:
        body = [f"{lead}{desc[0]}".rstrip()] + [f"{pad}{d}".rstrip() for d in desc[1:-1]]
        return [*body, f"{pad}{desc[-1]}{amount:>{amount_width}}"]
    return [f"{lead}{desc[0]}{amount:>{amount_width}}"] + [
        f"{pad}{d}{blank}".rstrip() for d in desc[1:]
    ]


def _table(rng: random.Random, doc: _Doc, st: _Style) -> list[list[str]]:
    dental = doc.kind is DocumentType.dental_bill
    head = (
        rng.choice(["Date", "Svc Date", "DOS", "Service Date"]),
        rng.choice(["Code", "CPT", "CPT/HCPCS", "Proc"]) if not dental else "Code",
        rng.choice(["Description", "Service", "Procedure Description"]),
        rng.choice(["Charge", "Amount", "Billed", "Charges"]) if not dental else "Fee",
    )
    tooth = "Tooth  Surf  " if dental else ""
    width = st.wrap + 2 if st.wrap else 60
    lines = [f"{head[0]:<14}{head[1]:<11}{tooth}{head[2]:<{width}}{head[3]:>12}"]
    if rng.random() < 0.5:
        lines.append("-" * len(lines[0]))
    for i in doc.items:
        t = f"{'#' + i.tooth if i.tooth else '':<7}{i.surface or '':<6}" if dental else ""
        lead = f"{st.date(i.day):<14}{_code(i):<11}{t}"
        lines += _rows(st, lead, _wrapped(st, _desc(i), width), st.money(i.cents), 12)
    return [lines]


def _ledger(rng: random.Random, doc: _Doc, st: _Style) -> list[list[str]]:
    width = st.wrap + 2 if st.wrap else 60
    lines = [
        f"{'Ln':<4}{'Date':<14}{'Proc':<7}{'Mod':<5}{'Units':<7}{'Description':<{width}}"
        f"{'Charge':>12}"
    ]
    for n, i in enumerate(doc.items, start=1):
        lead = f"{n:<4}{st.date(i.day):<14}{i.code or '':<7}{i.modifier or '':<5}{i.quantity:<7}"
        lines += _rows(st, lead, _wrapped(st, i.description, width), st.money(i.cents), 12)
    return [lines]


def _leaders(rng: random.Random, doc: _Doc, st: _Style) -> list[list[str]]:
    """Lines with dotted leaders, grouped under each date of service."""
    blocks = []
    for day in sorted({i.day for i in doc.items}):
        block = [f"{rng.choice(['DOS', 'Date of service', 'Visit'])} {st.date(day)}"]
        for i in (i for i in doc.items if i.day == day):
            code = _code(i)
            tooth = f" #{i.tooth}" if i.tooth else ""
            text = f"  {code:<8} {_desc(i)}{tooth} "
            amount = st.money(i.cents)
            block.append(text + "." * max(3, 64 - len(text) - len(amount)) + " " + amount)
        blocks.append(block)
    return blocks


def _pipes(rng: random.Random, doc: _Doc, st: _Style) -> list[list[str]]:
    with_date = len({i.day for i in doc.items}) > 1 or rng.random() < 0.5
    dental = doc.kind is DocumentType.dental_bill
    cols = (["Date"] if with_date else []) + [rng.choice(["CPT", "Code"]) if not dental else "CDT"]
    cols += (["Tooth"] if dental else []) + ["Description", rng.choice(["Amount", "Charge"])]
    lines = [" | ".join(cols)]
    for i in doc.items:
        cells = ([st.date(i.day)] if with_date else []) + [_code(i)]
        cells += [f"#{i.tooth}" if i.tooth else "-"] if dental else []
        lines.append(" | ".join([*cells, _desc(i), st.money(i.cents)]))
    return [lines]


def _kv(rng: random.Random, doc: _Doc, st: _Style) -> list[list[str]]:
    head = rng.choice(["Service", "Line", "Charge"])
    dkey = rng.choice(["Date of service", "Service date", "Date"])
    ckey = (
        rng.choice(["CPT code", "Procedure", "Code"])
        if doc.kind is not DocumentType.dental_bill
        else "CDT code"
    )
    akey = rng.choice(["Charge", "Amount billed", "Fee"])
    blocks = []
    for n, i in enumerate(doc.items, start=1):
        block = [f"{head} {n}", f"  {dkey}: {st.date(i.day)}"]
        if i.code is not None:
            block.append(f"  {ckey}: {_code(i)}")
        if i.tooth:
            block.append(f"  Tooth: {i.tooth}")
        block.append(f"  Description: {_desc(i)}")
        if doc.kind is DocumentType.insurance_eob:
            block += [
                f"  Amount billed: {st.money(i.cents)}",
                f"  Allowed amount: {st.money(i.allowed)}",
                f"  Plan paid: {st.money(i.paid)}",
                f"  Your responsibility: {st.money(i.patient)}",
            ]
        else:
            block.append(f"  {akey}: {st.money(i.cents)}")
        blocks.append(block)
    return blocks


def _eob_rows(rng: random.Random, doc: _Doc, st: _Style, sep: str) -> list[list[str]]:
    owe = rng.choice(["You Owe", "Your Resp.", "Patient Resp", "You May Owe"])
    cols = ["Service Date", "Code", "Description", "Billed", "Allowed", "Plan Paid", owe]

    def row(cells: list[str]) -> str:
        if sep:
            return sep.join(cells)
        return f"{cells[0]:<14}{cells[1]:<10}{cells[2]:<30}" + "".join(
            f"{c:>13}" for c in cells[3:]
        )

    lines = [row(cols)]
    for i in doc.items:
        desc = i.description if sep else i.description[:28]
        money = [st.money(x) for x in (i.cents, i.allowed, i.paid, i.patient)]
        lines.append(row([st.date(i.day), _code(i), desc, *money]))
    sums = [sum(getattr(i, f) for i in doc.items) for f in ("cents", "allowed", "paid", "patient")]
    sums[3] += doc.total_delta
    lines.append(row(["Totals", "", "", *[st.money(x) for x in sums]]))
    return [lines]


def _pharmacy(rng: random.Random, doc: _Doc, st: _Style, layout: str) -> list[list[str]]:
    upper = rng.random() < 0.5
    rows = []
    for i in doc.items:
        drug = i.description.upper() if upper else i.description
        day, price = st.date(i.day), st.money(i.cents)
        ndc = i.code if (i.code is not None and doc.show_ndc) else None
        if i.code is None:  # an over-the-counter item: a description and a price
            if layout == "blocks":
                rows.append([drug, f"{rng.choice(['Price', 'Amount'])}: {price}"])
            elif layout == "table":
                rows.append([f"{'':<10}{day:<14}{'':<16}{drug:<44}{i.quantity:>5}{price:>12}"])
            else:
                rows.append([f"{drug:<44}{price:>10}"])
            continue
        if layout == "blocks":
            rows.append(
                [
                    f"Rx: {i.rx}    {rng.choice(['Filled', 'Fill Date', 'Date'])}: {day}",
                    drug,
                    (f"NDC: {ndc}   " if ndc else "") + f"Qty: {i.quantity}",
                    f"{rng.choice(['Price', 'Amount', 'Cost'])}: {price}",
                ]
            )
        elif layout == "table":
            rows.append([f"{i.rx:<10}{day:<14}{ndc or '':<16}{drug:<44}{i.quantity:>5}{price:>12}"])
        else:
            code = f"  NDC {ndc}" if ndc else ""
            rows.append([f"Rx# {i.rx}  {day}  {drug}{code}  QTY {i.quantity}  {price}"])
    if layout == "blocks":
        return rows
    head = []
    if layout == "table":
        head = [f"{'Rx No.':<10}{'Fill Date':<14}{'NDC':<16}{'Drug':<44}{'Qty':>5}{'Price':>12}"]
    return [head + [r[0] for r in rows]]


# ----------------------------------------------------------------- assembly


def _totals(rng: random.Random, doc: _Doc, st: _Style) -> list[str]:
    total = sum(i.cents for i in doc.items) + doc.total_delta
    if doc.kind is DocumentType.pharmacy_receipt:
        label = rng.choice(["Subtotal", "TOTAL", "Total"])
        due = rng.choice(["You Pay", "Amount Paid", "Balance"])
    else:
        label = rng.choice(["Total Charges", "TOTAL CHARGES", "Total", "Total Billed"])
        due = rng.choice(["Balance Due", "Amount Due", "Patient Balance", "Please Pay"])
    lines = [f"{label + ':':<24}{st.money(total):>14}"]
    for adj_label, cents in doc.adjustments:
        lines.append(f"{adj_label + ':':<24}{st.money(cents):>14}")
    if doc.insurer_share is not None:
        lines.append(f"Patient responsibility per your plan: {st.money(doc.insurer_share)}")
    if doc.adjustments or rng.random() < 0.5:
        balance = total + sum(c for _, c in doc.adjustments)
        lines.append(f"{due + ':':<24}{st.money(balance):>14}")
    return lines


def _note(rng: random.Random, doc: _Doc) -> list[str]:
    m, why = doc.minutes, doc.reason
    who = "New" if doc.new_patient else "Established"
    begin = rng.randint(8 * 60, 16 * 60)
    start, end = _clock(begin), _clock(begin + (m or 0))
    return [
        rng.choice(
            [
                f"Visit note: {who} patient seen for {why}. Total time {m} minutes.",
                f"Clinical summary: {m}-minute visit for {why}.",
                f"Provider notes: face-to-face time {m} min; reason for visit: {why}.",
                f"Encounter summary - reason: {why}; time spent with patient: {m} minutes.",
                # No minute count: only a reader who subtracts clock times sees the length.
                f"Visit for {why}. Checked in {start}, checked out {end}.",
            ]
        )
    ]


def _clock(minute_of_day: int) -> str:
    hour, minute = divmod(minute_of_day, 60)
    return f"{(hour - 1) % 12 + 1}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


def _footer(rng: random.Random, doc: _Doc, st: _Style) -> list[str]:
    biller = doc.provider if doc.physician_bill and doc.provider else doc.facility
    slug = re.sub(r"[^a-z]", "", biller.lower())
    pool = [
        f"Thank you for choosing {biller}.",
        f"Questions about this statement? Call {_phone(rng)}.",
        f"Pay online at www.{slug}.com/pay",
        "Payment is due within 30 days of the statement date.",
        "Please detach and return the bottom portion with your payment.",
    ]
    if doc.kind is DocumentType.pharmacy_receipt:
        pool = [
            "Keep this receipt for your FSA/HSA records.",
            "Ask your pharmacist about lower-cost generic options.",
            f"Refills: call {_phone(rng)} or use our app.",
        ]
    if doc.kind is DocumentType.insurance_eob:
        pool = [
            "Your provider may bill you for the amount shown as your responsibility.",
            f"To appeal this decision call Member Services at {_phone(rng)}.",
            "Keep this notice for your records.",
        ]
    lines = rng.sample(pool, rng.randint(1, len(pool)))
    if st.ocr:
        lines = [_ocr(rng, ln) for ln in lines]
    return lines


def render_document(rng: random.Random, doc: _Doc) -> str:
    """Render `doc` as text in a randomly chosen layout; ends with one newline."""
    st = _Style(rng, doc.kind)
    layouts: dict[DocumentType, tuple[str, ...]] = {
        DocumentType.medical_bill: ("table", "pipes", "kv", "ledger", "leaders"),
        DocumentType.dental_bill: ("table", "pipes", "kv", "leaders"),
        DocumentType.pharmacy_receipt: ("receipt", "blocks", "table"),
        DocumentType.insurance_eob: ("table", "pipes", "kv"),
    }
    layout = rng.choice(layouts[doc.kind])
    if doc.kind is DocumentType.pharmacy_receipt:
        items = _pharmacy(rng, doc, st, layout)
    elif doc.kind is DocumentType.insurance_eob:
        items = (
            _kv(rng, doc, st)
            if layout == "kv"
            else _eob_rows(rng, doc, st, " | " if layout == "pipes" else "")
        )
    else:
        render: dict[str, Callable[[random.Random, _Doc, _Style], list[list[str]]]] = {
            "table": _table, "pipes": _pipes, "kv": _kv, "ledger": _ledger, "leaders": _leaders,
        }  # fmt: skip
        items = render[layout](rng, doc, st)
    # A receipt prints no date beside a counter item: its date goes in the header.
    needs_dos = (layout == "pipes" and not items[0][0].startswith("Date")) or any(
        i.code is None for i in doc.items if doc.kind is DocumentType.pharmacy_receipt
    )
    paragraphs = _header(rng, doc, st, needs_dos)
    note = [_note(rng, doc)] if doc.show_note and doc.minutes is not None else []
    paragraphs += note if rng.random() < 0.3 else []
    paragraphs += items
    if doc.kind is DocumentType.insurance_eob:
        if layout == "kv":
            paragraphs.append(_eob_kv_totals(doc, st))
    else:
        paragraphs.append(_totals(rng, doc, st))
    if note and note[0] not in paragraphs:
        paragraphs += note
    paragraphs.append(_footer(rng, doc, st))
    return "\n\n".join("\n".join(p).rstrip() for p in paragraphs if p) + "\n"


def _eob_kv_totals(doc: _Doc, st: _Style) -> list[str]:
    sums = [sum(getattr(i, f) for i in doc.items) for f in ("cents", "allowed", "paid", "patient")]
    sums[3] += doc.total_delta
    labels = ["Total billed", "Total allowed", "Total plan paid", "Total you owe"]
    return [f"{label + ':':<20}{st.money(x):>14}" for label, x in zip(labels, sums, strict=True)]
