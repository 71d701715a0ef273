"""Ground-truth and case schemas, in the original on-disk format.

The field names are those of the original system's `expected_outputs/*.json`
files, so existing suites load unchanged. Real suites vary, so the schema
refuses only what cannot be a ground truth:

- every fact may be missing or `null` (a fact the truth does not state is
  simply not scored);
- line items come in four kinds, each with its own fields:
  `medical_line_items` (`cpt_code`), `dental_line_items` (`cdt_code`),
  `pharmacy_line_items` (an `amount`, often no code) and `claim_line_items`
  (insurance EOBs: billed, allowed, paid, patient responsibility); any of
  them may lack a code (a facility fee) or an amount;
- amounts are JSON numbers with or without cents (`240`, `240.5`), or
  strings as a bill prints them (`"$1,250.00"`); never `true`, never NaN;
- codes and receipt numbers may be strings or integers (`99213`);
- unknown fields are kept (`extra="allow"`), at every level.

A `Case` travels in queue messages as JSON; producers and workers must run
the same version of this module.
"""

from __future__ import annotations

import math
import re
from contextvars import ContextVar
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    AliasChoices,
    AliasPath,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

_AMOUNT = re.compile(r"^\s*(-)?\s*\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*$")


def _amount(value: Any) -> Any:
    """An amount as a float: numbers as they are, `"$1,250.00"` read as a bill prints it."""
    if type(value) is float and math.isfinite(value):
        return value  # what JSON gives for most amounts, on the shortest path
    if isinstance(value, bool):
        # JSON true/false is not money; pydantic would quietly read it as 1.0/0.0.
        raise ValueError("expected an amount such as 240 or 1250.00, not a boolean")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("expected a finite amount")
        return float(value)
    if isinstance(value, str):
        match = _AMOUNT.match(value)
        if match is None:
            raise ValueError(f"expected an amount such as 240 or $1,250.00, got {value!r}")
        sign, whole, frac = match.groups()
        number = float(whole.replace(",", "") + (f".{frac}" if frac else ""))
        return -number if sign else number
    return value  # let pydantic name the type it expected


def _text(value: Any) -> Any:
    """Codes and numbers written as JSON integers (`99213`) are read as their text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Amount = Annotated[float, BeforeValidator(_amount)]
"""Money in dollars, from a number or a printed amount; finite, never a boolean."""

Text = Annotated[str, BeforeValidator(_text)]
"""A string; a JSON integer is accepted and read as its digits."""


class _Lenient(BaseModel):
    """A ground-truth object: unknown fields kept, `null` meaning "not given"."""

    model_config = ConfigDict(extra="allow")

    #: Fields whose `null` means "use the default" (lists and flags cannot be None).
    _NULL_IS_DEFAULT: ClassVar[frozenset[str]] = frozenset()
    #: `_accepted_keys` of the class, kept on it: looked up for every object validated.
    _ACCEPTED_KEYS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._ACCEPTED_KEYS = _accepted_keys(cls)

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if not cls._ACCEPTED_KEYS.issuperset(data):
            _UNKNOWN_SEEN.set(True)
        # `None in values()` first: most objects have no null, and rebuilding
        # each one's dict was a sixth of loading a suite.
        if cls._NULL_IS_DEFAULT and None in data.values():
            return {k: v for k, v in data.items() if not (v is None and k in cls._NULL_IS_DEFAULT)}
        return data

    def unknown_fields(self) -> list[str]:
        """Names of the fields this object carries that the schema does not define."""
        return sorted(self.model_extra or {})


#: Set when an object being validated holds a key its class does not define (see
#: `validate_truth`); only ever set to True during a validation, never back.
_UNKNOWN_SEEN: ContextVar[bool] = ContextVar("benchq_unknown_seen", default=False)


def _accepted_keys(model: type[BaseModel]) -> frozenset[str]:
    """The keys pydantic reads into `model`'s fields; any other key becomes an extra.

    Never larger than what pydantic accepts, so a key outside it may be a
    false alarm (it costs a walk of the object) but an extra is never missed.
    Anything this does not follow (an alias path) gives the empty set.
    Computed once per class, as it is defined (`_Lenient._ACCEPTED_KEYS`).
    """
    keys: set[str] = set()
    by_name = bool(model.model_config.get("populate_by_name"))
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        if alias is None:
            keys.add(info.alias or name)
            if info.alias and by_name:
                keys.add(name)
            continue
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        if any(isinstance(c, AliasPath) for c in choices):
            return frozenset()
        keys.update(c for c in choices if isinstance(c, str))
        if by_name:
            keys.add(name)
    return frozenset(keys)


class DocumentType(StrEnum):
    """The kinds of billing document a suite holds."""

    medical_bill = "medical_bill"
    dental_bill = "dental_bill"
    pharmacy_receipt = "pharmacy_receipt"
    insurance_eob = "insurance_eob"


class ExpectedIssue(_Lenient):
    """One billing issue the document contains (or deliberately does not flag)."""

    _NULL_IS_DEFAULT = frozenset({"description", "should_detect"})

    type: str = Field(min_length=1)
    """Issue type, e.g. `duplicate_charge`; normalised before scoring."""
    description: str = ""
    """Human description of the issue, for readers of the suite."""
    should_detect: bool = True
    """False for look-alikes a model should *not* flag (they still count in `issues_expected`)."""


class _LineItem(_Lenient):
    """Fields every kind of line item may carry."""

    date_of_service: Text | None = None
    description: str | None = None
    patient_responsibility: Amount | None = None
    """What the patient is asked to pay for the line (on an EOB: after the plan paid)."""

    def item_code(self) -> str | None:
        """The line's billing code, whatever the kind calls it; None when it has none."""
        return None

    def item_amount(self) -> float | None:
        """The amount charged for the line; None when the truth does not state it."""
        return None


class MedicalLineItem(_LineItem):
    """A line of a medical bill."""

    cpt_code: Text | None = None
    """CPT or HCPCS code; None for uncoded lines (facility fee, supplies)."""
    billed_amount: Amount | None = None

    def item_code(self) -> str | None:
        return self.cpt_code

    def item_amount(self) -> float | None:
        return self.billed_amount


ExpectedLineItem = MedicalLineItem
"""The name this class had when only medical line items were read."""


class DentalLineItem(_LineItem):
    """A line of a dental bill."""

    cdt_code: Text | None = None
    """CDT code (`D0120`); None for uncoded lines (a lab fee)."""
    tooth_number: Text | None = Field(
        default=None, validation_alias=AliasChoices("tooth_number", "tooth")
    )
    billed_amount: Amount | None = None

    def item_code(self) -> str | None:
        return self.cdt_code

    def item_amount(self) -> float | None:
        return self.billed_amount


class PharmacyLineItem(_LineItem):
    """A line of a pharmacy receipt: a prescription fill or an over-the-counter item."""

    ndc_code: Text | None = Field(default=None, validation_alias=AliasChoices("ndc_code", "ndc"))
    """National Drug Code, when the receipt prints one (often it does not)."""
    rx_number: Text | None = None
    quantity: float | None = None
    amount: Amount | None = None
    """The price of the line."""
    billed_amount: Amount | None = None
    """Read when a suite names the price as other kinds do and gives no `amount`."""

    def item_code(self) -> str | None:
        return self.ndc_code

    def item_amount(self) -> float | None:
        return self.amount if self.amount is not None else self.billed_amount


class ClaimLineItem(_LineItem):
    """A line of an insurance EOB: what was billed, allowed, paid and left to the patient."""

    cpt_code: Text | None = None
    billed_amount: Amount | None = None
    allowed_amount: Amount | None = None
    plan_paid: Amount | None = Field(
        default=None, validation_alias=AliasChoices("plan_paid", "insurance_paid")
    )
    provider_name: str | None = None
    insurance_company: str | None = None

    def item_code(self) -> str | None:
        return self.cpt_code

    def item_amount(self) -> float | None:
        return self.billed_amount


AnyLineItem = MedicalLineItem | DentalLineItem | PharmacyLineItem | ClaimLineItem

#: The line-item lists of `ExpectedFacts`, in the order they are scored.
LINE_ITEM_KINDS: tuple[str, ...] = (
    "medical_line_items",
    "dental_line_items",
    "pharmacy_line_items",
    "claim_line_items",
)


class ExpectedFacts(_Lenient):
    """Facts a reader should extract from the document; each may be missing or null."""

    _NULL_IS_DEFAULT = frozenset(LINE_ITEM_KINDS)

    patient_name: str | None = None
    patient_dob: Text | None = None
    date_of_service: Text | None = None
    facility_name: str | None = None
    provider_name: str | None = None
    """Who billed, when the document names a provider (EOBs, physician bills)."""
    insurance_company: str | None = None
    receipt_number: Text | None = None
    medical_line_items: list[MedicalLineItem] = Field(default_factory=list)
    dental_line_items: list[DentalLineItem] = Field(default_factory=list)
    pharmacy_line_items: list[PharmacyLineItem] = Field(default_factory=list)
    claim_line_items: list[ClaimLineItem] = Field(default_factory=list)

    def line_items(self) -> list[AnyLineItem]:
        """Every expected line item, of whatever kind, in file order per kind."""
        out: list[AnyLineItem] = []
        out += self.medical_line_items
        out += self.dental_line_items
        out += self.pharmacy_line_items
        out += self.claim_line_items
        return out


class GroundTruth(_Lenient):
    """The contents of one `expected_outputs/<name>.json` file."""

    _NULL_IS_DEFAULT = frozenset({"expected_issues", "expected_facts"})

    document_type: DocumentType
    expected_issues: list[ExpectedIssue] = Field(default_factory=list)
    expected_facts: ExpectedFacts = Field(default_factory=ExpectedFacts)
    expected_savings: Amount | None = 0.0
    """Money the patient should get back if every detectable issue is fixed (null: not stated)."""


def validate_truth(data: Any) -> tuple[GroundTruth, bool]:
    """A ground truth from its JSON data, and whether any object in it may hold unknown fields.

    False means none does, so nobody needs to walk the truth looking for
    them (that walk was a fifth of loading a 10,000-case suite); True means
    one may (`_Lenient.unknown_fields` says which).
    """
    token = _UNKNOWN_SEEN.set(False)
    try:
        truth = GroundTruth.model_validate(data)
        return truth, _UNKNOWN_SEEN.get()
    finally:
        _UNKNOWN_SEEN.reset(token)


#: What a case id may be: safe as a file name, a log field and a URL part.
CASE_ID_PATTERN = r"[A-Za-z0-9._-]{1,128}"


class Case(BaseModel):
    """One benchmark case: a document and its ground truth.

    A case is self-contained so it can travel in a queue message to a worker
    on any machine; the worker never needs the suite's files.
    """

    id: str = Field(pattern=f"^{CASE_ID_PATTERN}$")
    """Stable identifier: the input file's stem, or the JSONL `id`."""
    text: str
    """The document, as plain text."""
    truth: GroundTruth
    source: str | None = None
    """Where the case was read from (file path, or `file:line` for JSONL)."""


class Suite(BaseModel):
    """A loaded suite: its cases in a stable order, and what was skipped."""

    name: str
    cases: list[Case]
    skipped: list[str] = Field(default_factory=list)
    """Inputs that had no ground truth (each was warned about once)."""
    warnings: list[str] = Field(default_factory=list)
    """Everything worth a reader's attention that did not stop the suite loading."""
