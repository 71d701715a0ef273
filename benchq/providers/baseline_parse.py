"""Reading a billing document's text into line items, stated totals and facts.

Layout-agnostic and forgiving, because real bills are:

- amounts with or without cents and thousands separators (`$1,250.00`,
  `$240`, `1,560.00`, `36.50`), negative as `-$25` or `($25.00)`; a ledger
  that prints bare whole numbers (`62`) is read as such when no line of it
  carries a money amount;
- a line item may have a code (CPT/HCPCS, CDT, NDC) or none (a facility
  fee, supplies, an over-the-counter item);
- a paragraph holding one code (or one priced description) is one item
  spread over several lines (key: value blocks, pharmacy blocks); otherwise
  each line is one, and a description wrapped onto the next line is joined
  to its line, wherever the amount sits;
- totals, balances, payments and adjustments are told apart by their
  leading label; only the lines before the first total are items.

Lines that carry an amount but fit none of these are kept as `unparsed`, so
the arithmetic rule can refuse to judge a total it cannot fully explain.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

_MON = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_MONTHS = {m: n for n, m in enumerate(_MON.split("|"), start=1)}
DATE = re.compile(
    r"(?<![\w/-])(?:"
    r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})"
    r"|(?P<Y>\d{4})-(?P<M>\d{2})-(?P<D>\d{2})"
    rf"|(?P<lmon>{_MON})[a-z]*\.?\s+(?P<ld>\d{{1,2}}),?\s+(?P<ly>\d{{4}})"
    rf"|(?P<dd>\d{{1,2}})-(?P<dmon>{_MON})[a-z]*-(?P<dy>\d{{4}})"
    r")(?![\w/])",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"(?<![\w.,/:#-])(?P<open>\()?(?P<neg>-)?\s?(?P<dollar>\$)?\s?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d{2})?|\d+\.\d{2}|(?<=\$)\d+|(?<=\$\s)\d+)"
    r"(?P<close>\))?(?![\w%/]|[.,]\d)"
)
_LABELLED_BARE = re.compile(
    r"\b(?:fee|charges?|amount(?:\s+billed)?|price|cost|billed|tota[l1]s?)\s*:?\s*"
    r"(?P<neg>-)?(?P<num>\d{1,6})\s*$",
    re.IGNORECASE,
)
# Set off by two spaces, a column bar or a dotted leader (`... 181`); never `No. 77120`.
_BARE = re.compile(r"(?:(?<=\s\s)|(?<=\|\s)|(?<=\.\.\s))(?P<neg>-)?(?P<num>\d{1,6})\s*$")
_NDC = re.compile(r"(?<![\w-])(\d{4,5}-\d{3,4}-\d{1,2})(?![\w-])")
_CODE = re.compile(r"(?<![\w$.,/#:-])([A-Z]\d{4}|\d{5})(?:-(\d{2}|[A-Z]{2}))?(?![\w.,/:]|-\d{3})")
_STATE_ZIP = re.compile(r"\b(?:[A-Z]{2}|box|Box|BOX)\s+\d{5}\b")
_TOOTH = re.compile(r"(?:#\s?|\btooth\s*:?\s*)(\d{1,2})(?!\d)", re.IGNORECASE)
_RX = re.compile(r"\bRx\s*(?:#|No\.?)?\s*:?\s*(\d{6,8})\b|^\s*(\d{7})\s", re.IGNORECASE)
_UNITS = re.compile(r"\((\d{1,3})\s*units?\)|\(x\s*(\d{1,3})\)|\bqty:?\s*(\d{1,4})\b", re.I)
_AT_PRICE = re.compile(r"^\s*\d+\s*@\s*\$?\d")

_TOTAL_LABEL = re.compile(
    r"^\s*(?:grand\s+|claim\s+)?(?:sub)?tota[l1]s?\b|^\s*charges\s+total|^\s*balance\s+due"
    r"|^\s*(?:patient\s+|your\s+|account\s+)?balance\b(?!\s+forward)|^\s*amount\s+(?:due|paid)"
    r"|^\s*please\s+pay|^\s*you\s+pay|^\s*your\s+(?:estimated\s+)?(?:portion|share)",
    re.IGNORECASE,
)
_ADJUSTMENT = re.compile(
    r"^\s*(?:payments?|paid|insurance|adjust|contractual|discount|coupon|copay\s+paid|write"
    r"|credit|balance\s+forward|previous\s+balance|prior\s+balance|tax|sliding|estimated"
    r"|self-pay|manufacturer|visa|mastercard|amex|discover|cash|change|debit|hsa|fsa|savings"
    r"|you\s+saved|deductible|plan\s+paid|amount\s+saved)",
    re.IGNORECASE,
)
_DOS_LABEL = re.compile(
    r"^\s*(?:date\s+of\s+service|dates?\s+of\s+service|service\s+dates?|dos|visit"
    r"|admit/service\s+date|itemized\s+charges\s+for\s+visit\s+of)\b",
    re.IGNORECASE,
)
_PAY_LABELS = re.compile(r"copay|you\s+pay|price|amount|cost|charge|fee|billed", re.I)
_PLAN_LABELS = re.compile(
    r"allowed|plan\s+paid|paid\s+by\s+plan|insurance\s+paid|plan\s+pays", re.IGNORECASE
)
_PATIENT_LABELS = re.compile(
    r"responsib|you\s+owe|your\s+resp|patient\s+resp|you\s+may\s+owe", re.IGNORECASE
)


def iso_date(match: re.Match[str]) -> str | None:
    """The date a `DATE` match names, as `YYYY-MM-DD`; None when it is no calendar date."""
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
    except ValueError:  # 02/30/2024 and the like
        return None


@functools.lru_cache(maxsize=8192)
def first_date(text: str) -> str | None:
    """The first calendar date in `text`, as `YYYY-MM-DD` (cached)."""
    if not _DIGIT.search(text) or not _may_hold_date(text):
        return None
    for match in DATE.finditer(text):
        found = iso_date(match)
        if found:
            return found
    return None


_DIGIT = re.compile(r"\d")
_MODIFIER_HINT = re.compile(r"\b(?:59|76|77|91|X[EPSU])\b")
_FOUR_DIGITS = re.compile(r"\d{4}")


def _may_hold_date(text: str) -> bool:
    # A cheap test first: DATE is the parser's most expensive expression.
    if "/" in text or "-" in text:
        return True
    lower = text.lower()
    return any(month in lower for month in _MONTHS)


@functools.lru_cache(maxsize=8192)
def _scrub_dates(text: str) -> str:
    """`text` with its dates blanked out (same length), so no date is read as money."""
    if not _may_hold_date(text):
        return text
    return DATE.sub(lambda m: " " * len(m.group()), text)


@dataclass(frozen=True)
class Amount:
    """A money amount found in a line, with the label text just before it."""

    value: float
    label: str
    start: int


@functools.lru_cache(maxsize=8192)
def amounts(text: str, *, bare: bool = False) -> tuple[Amount, ...]:
    """The money amounts of one line (or record), in order; `bare` reads a trailing `62` too.

    Cached: the parser asks about the same line several times (is it a total,
    an item, a wrapped line?), and the regular expressions were most of its time.
    """
    found: list[Amount] = []
    if not _DIGIT.search(text):
        return ()
    scrubbed = _scrub_dates(text)
    last = 0
    for m in _MONEY.finditer(scrubbed):
        value = float(m.group("num").replace(",", ""))
        negative = m.group("neg") or (m.group("open") and m.group("close"))
        found.append(Amount(-value if negative else value, text[last : m.start()], m.start()))
        last = m.end()
    if not found and (b := _LABELLED_BARE.search(scrubbed)) and (bare or ":" in b.group()):
        # `Fee: 80`: the label says it is money, whatever the rest of the document does.
        value = float(b.group("num"))
        found.append(Amount(-value if b.group("neg") else value, text[: b.start("num")], b.start()))
    elif not found and bare:
        b = _BARE.search(scrubbed)
        if b:
            value = float(b.group("num"))
            found.append(Amount(-value if b.group("neg") else value, text[: b.start()], b.start()))
    return tuple(found)


@functools.lru_cache(maxsize=8192)
def codes(text: str) -> tuple[tuple[str, str | None], ...]:
    """Billing codes in `text` as `(code, modifier)`: NDCs first, then CPT/HCPCS/CDT (cached)."""
    if not _FOUR_DIGITS.search(text):
        return ()  # every code kind has four digits in a row
    found: list[tuple[str, str | None]] = [(m.group(1), None) for m in _NDC.finditer(text)]
    rest = _NDC.sub(" ", _scrub_dates(_STATE_ZIP.sub(" ", text)))
    rest = _MONEY.sub(" ", rest)
    found += [(m.group(1), m.group(2)) for m in _CODE.finditer(rest)]
    return tuple(found)


@dataclass
class Line:
    """One line item as read from the document."""

    code: str | None
    modifier: str | None
    day: str | None
    billed: float
    patient: float
    tooth: str | None
    rx: str | None
    units: int
    description: str
    evidence: str


@dataclass
class Stated:
    """A total the document states, and which column of the items it sums."""

    value: float
    column: str
    """`billed` (charges) or `patient` (what the patient owes, on an EOB)."""
    evidence: str


@dataclass
class Bill:
    """What `parse` read: items, stated totals, and amounts it could not place."""

    lines: list[Line] = field(default_factory=list)
    totals: list[Stated] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    """Amount-bearing lines before the totals that are neither items nor known labels."""
    unplaced: list[float] = field(default_factory=list)
    """Amounts of `label: amount` lines read as information, not items (maybe items)."""
    eob: bool = False
    pharmacy: bool = False


_EOB = re.compile(r"explanation\s+of\s+benef|\bEOB\b|this\s+is\s+not\s+a\s+bill", re.I)
_PHARMACY = re.compile(r"\bRx\b|\bNDC\b|pharmac|\bdrug\b|receipt", re.I)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_LABEL = re.compile(
    r"\b(?:date\s+of\s+service|service\s+date|fill\s+date|amount\s+billed|allowed\s+amount"
    r"|plan\s+paid|paid\s+by\s+plan|your\s+responsibility|patient\s+responsibility|cpt\s+code"
    r"|cdt\s+code|[A-Za-z]+)\s*:\s*",
    re.IGNORECASE,
)
_HEADER_WORDS = re.compile(
    r"\b(?:description|service|procedure|charges?|amount|fee|code|price|drug|qty|units?)\b", re.I
)


_TOTAL_STARTS = ("tot", "sub", "gra", "cla", "cha", "bal", "pat", "you", "acc", "amo", "ple")


def _is_total(raw: str) -> bool:
    # Most lines fail on their first letters, before the expression runs.
    return raw.lstrip()[:3].lower() in _TOTAL_STARTS and bool(_TOTAL_LABEL.match(raw))


def _total_column(label: str) -> str | None:
    """Which column a total's label sums: billed, patient, or None (plan side, balance)."""
    low = label.lower()
    if _PLAN_LABELS.search(low) or re.search(r"\ballowed\b|\bpaid\b", low):
        return None
    if re.search(r"owe|responsib|copay", low):
        return "patient"
    if re.search(r"balance|due|please\s+pay|you\s+pay|portion|share", low):
        return None  # after payments and adjustments: not a sum of the lines
    return "billed"


def _units_column(header: str) -> tuple[int, int] | None:
    match = re.search(r"\b(units?|qty)\b", header, re.IGNORECASE)
    return (match.start(), match.end()) if match else None


def parse(text: str) -> Bill:
    """Read items, stated totals and unplaced amounts from a document's text."""
    bill = Bill(eob=bool(_EOB.search(text)), pharmacy=bool(_PHARMACY.search(text)))
    bare = _bare_mode(text)
    doc_day = None
    for raw in text.splitlines():
        if _DOS_LABEL.match(raw) and (d := first_date(raw)):
            doc_day = d
            break
    in_items = True
    units_at: tuple[int, int] | None = None
    for paragraph in _PARAGRAPH.split(text):
        rows = paragraph.splitlines()
        default_day = doc_day
        body: list[str] = []
        for raw in rows:
            if not _DIGIT.search(raw) and _HEADER_WORDS.search(raw):  # a column header
                units_at = _units_column(raw) or units_at
            if _is_total(raw) and amounts(raw, bare=bare):
                _read_totals(bill, raw, bare)
                if not re.match(r"^\s*sub", raw, re.IGNORECASE):
                    in_items = False
                continue
            if _DOS_LABEL.match(raw) and not amounts(raw, bare=bare):
                default_day = first_date(raw) or default_day
            body.append(raw)
        if not in_items and not any(codes(r) and amounts(r, bare=bare) for r in body):
            continue
        records = _records(body, bare, bill)
        for record, lines_of in records:
            _read_record(bill, record, lines_of, bare, default_day, units_at)
    return bill


def _bare_mode(text: str) -> bool:
    """True when items print whole dollars as bare numbers (`181`, a ledger's `62`).

    Evidence: a coded line with no money amount that ends in a number set off
    by spaces or a dotted leader, or a line ending in such a number exactly
    where other lines' money amounts end (a right-aligned amount column). Then
    a trailing bare number counts as an amount on any line without money.
    """
    rows = [_scrub_dates(ln).rstrip() for ln in text.splitlines()]
    money_ends = {len(r) for r in rows if r.strip() and _MONEY.fullmatch(r.split()[-1])}
    for row in rows:
        if amounts(row) or not _BARE.search(row):
            continue
        if codes(row) or len(row) in money_ends:
            return True
    return False


_LABELLED = re.compile(r"^\s*[A-Za-z][^:$\d]{0,40}:\s*\S")


def _records(body: list[str], bare: bool, bill: Bill) -> list[tuple[str, list[str]]]:
    """Group a paragraph's lines into records: one per item, wrapped lines joined.

    A coded line whose amount never comes is recorded in `bill.unparsed`.
    """
    content = [r for r in body if r.strip()]
    priced = [r for r in content if amounts(r, bare=bare)]
    n_codes = sum(len(codes(r)) for r in content)
    blocky = all(_LABELLED.match(r) for r in priced)
    one_priced_item = n_codes == 0 and len(priced) == 1 and bool(_PAY_LABELS.search(priced[0]))
    if len(content) > 1 and priced and ((n_codes == 1 and (len(priced) == 1 or blocky))
                                        or (one_priced_item and blocky)):  # fmt: skip
        # One item spread over several lines (key: value blocks, pharmacy blocks).
        return [(" ".join(r.strip() for r in content), content)]
    groups: list[list[str]] = []
    pending: list[str] = []
    for raw in content:
        has_amount = bool(amounts(raw, bare=bare))
        starts_item = bool(codes(raw)) or bool(first_date(raw))
        indented = raw.startswith("    ") or raw.startswith("\t")
        if pending and not starts_item and indented:
            # A wrapped description; the amount may come on its last line.
            pending.append(raw)
            if has_amount:
                groups.append(pending)
                pending = []
            continue
        if pending:
            bill.unparsed.append(" ".join(r.strip() for r in pending))
        pending = []
        if starts_item and not has_amount and codes(raw):
            pending = [raw]
        elif has_amount:
            groups.append([raw])
        elif indented and groups and not starts_item:
            groups[-1].append(raw)  # the rest of a description wrapped after its amount
    if pending:
        bill.unparsed.append(" ".join(r.strip() for r in pending))
    return [(" ".join(r.strip() for r in g), g) for g in groups]


def _read_totals(bill: Bill, raw: str, bare: bool) -> None:
    found = amounts(raw, bare=bare)
    evidence = " ".join(raw.split())
    if len(found) >= 4 and not any(re.search("[A-Za-z]", a.label) for a in found[1:]):
        # An EOB totals row: billed, allowed, paid, patient columns.
        bill.totals.append(Stated(found[0].value, "billed", evidence))
        bill.totals.append(Stated(found[-1].value, "patient", evidence))
        return
    for a in found:
        column = _total_column(a.label)
        if column is not None and a.value >= 0:
            bill.totals.append(Stated(a.value, column, evidence))


def _read_record(
    bill: Bill,
    record: str,
    lines_of: list[str],
    bare: bool,
    default_day: str | None,
    units_at: tuple[int, int] | None,
) -> None:
    # Amounts line by line: a description wrapped after its amount must not hide it.
    found = [a for raw in lines_of for a in amounts(raw, bare=bare)]
    if _ADJUSTMENT.match(record) or _AT_PRICE.match(record) or _is_total(record):
        return
    if not found:
        bill.unparsed.append(record)
        return
    money = [a for a in found if a.value >= 0]
    if not money:
        return  # a payment or credit
    item_codes = codes(record)
    description = _description(record, item_codes)
    if not item_codes:
        if len(re.findall(r"[A-Za-z]", description)) < 3:
            bill.unparsed.append(record)
            return
        if len(lines_of) == 1 and re.search(r":\s*$", money[0].label):
            # `Label: $12.00` on its own line: information (an allowed amount, a
            # copay), or maybe an item; kept apart so arithmetic does not guess.
            bill.unplaced.append(money[0].value)
            return
    code, modifier = item_codes[0] if item_codes else (None, None)
    billed, patient = _columns(money, bill.eob)
    if modifier is None and code is not None and _MODIFIER_HINT.search(record):
        # A modifier in a column of its own (a ledger's `Mod`), once the code is taken out.
        rest = " ".join(
            _BARE.sub(" ", _LABELLED_BARE.sub(" ", _MONEY.sub(" ", DATE.sub(" ", raw))))
            for raw in lines_of
        ).replace(code, " ", 1)
        standalone = re.search(r"(?<![\w.$#-])(59|76|77|91|X[EPSU])(?![\w.])", rest)
        modifier = standalone.group(1) if standalone else None
    tooth = _TOOTH.search(record) if code is None or code.startswith("D") else None
    rx = _RX.search(record)
    bill.lines.append(
        Line(
            code=code,
            modifier=modifier,
            day=first_date(record) or default_day,
            billed=billed,
            patient=patient,
            tooth=tooth.group(1) if tooth else None,
            rx=(rx.group(1) or rx.group(2)) if rx else None,
            units=_units(record, lines_of, units_at),
            description=description,
            evidence=" ".join(record.split()),
        )
    )


def _columns(money: list[Amount], eob: bool) -> tuple[float, float]:
    """(billed, patient) from a record's amounts, by their labels where they have them."""
    labelled = [a for a in money if a.label.strip()]
    pay = [a for a in labelled if _PAY_LABELS.search(a.label) and not _PLAN_LABELS.search(a.label)]
    owe = [a for a in labelled if _PATIENT_LABELS.search(a.label)]
    if eob:
        billed = next((a.value for a in pay if re.search(r"bill|charge", a.label, re.I)), None)
        return (
            billed if billed is not None else money[0].value,
            owe[-1].value if owe else money[-1].value if len(money) >= 4 else money[0].value,
        )
    if pay:
        # A copay or price beats the plan's share (`Insurance paid: $41.20  Copay: $10.00`).
        value = pay[-1].value
        return value, value
    chosen = [a for a in money if not _PLAN_LABELS.search(a.label)] or money
    return chosen[0].value, chosen[0].value


def _units(record: str, lines_of: list[str], units_at: tuple[int, int] | None) -> int:
    match = _UNITS.search(record)
    if match:
        return max(1, int(next(g for g in match.groups() if g)))
    if units_at is not None:
        # The number printed under the header's Units/Qty column.
        start, end = units_at
        for raw in lines_of:
            for token in re.finditer(r"\S+", raw):
                if token.start() < end and token.end() > start and token.group().isdigit():
                    return max(1, int(token.group()))
    return 1


_NOISE = re.compile(r"[|#]|\.{3,}|\b\d+\b|-\d{2}\b")


def _description(record: str, item_codes: Sequence[tuple[str, str | None]]) -> str:
    """The words of a record: no date, amount, code, tooth, label or stray number."""
    text = _scrub_dates(record)
    if "." in text or "$" in text or "," in text:  # what every money token has (bare: below)
        text = _MONEY.sub(" ", text)
    for code, _ in item_codes:
        text = text.replace(code, " ", 1)
    if "#" in text or "ooth" in text:
        text = _TOOTH.sub(" ", text)
    if ":" in text:
        text = _LABEL.sub(" ", text)
    return " ".join(_NOISE.sub(" ", text).split())
