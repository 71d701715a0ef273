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
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    model_validator,
)
from pydantic_core import core_schema

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


@dataclass(frozen=True)
class _NullIsDefault:
    """A field's annotation: `null` there means the field's default (`default()`).

    Checked in pydantic's core after the value is read, not by a validator
    that sees the raw object: such a validator makes pydantic build Python
    dicts of a JSON text before validating them, and reading a job's 128
    cases took twice as long that way (`bench/message_layers.py`).
    """

    default: Callable[[], Any]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        default = self.default
        return core_schema.no_info_after_validator_function(
            lambda value: default() if value is None else value,
            core_schema.nullable_schema(handler(source)),
        )


def _true() -> bool:
    return True


class _Lenient(BaseModel):
    """A ground-truth object: unknown fields kept, `null` meaning "not given"."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _note_unknown(self) -> _Lenient:
        # After validation, so no raw dict is built for it; `model_extra` is
        # exactly what the schema does not define.
        if self.__pydantic_extra__:
            _UNKNOWN_SEEN.set(True)
        return self

    def unknown_fields(self) -> list[str]:
        """Names of the fields this object carries that the schema does not define."""
        return sorted(self.model_extra or {})


#: Set when an object being validated holds a key its class does not define (see
#: `validate_truth`); only ever set to True during a validation, never back.
_UNKNOWN_SEEN: ContextVar[bool] = ContextVar("benchq_unknown_seen", default=False)


class DocumentType(StrEnum):
    """The kinds of billing document a suite holds."""

    medical_bill = "medical_bill"
    dental_bill = "dental_bill"
    pharmacy_receipt = "pharmacy_receipt"
    insurance_eob = "insurance_eob"


class ExpectedIssue(_Lenient):
    """One billing issue the document contains (or deliberately does not flag)."""

    type: str = Field(min_length=1)
    """Issue type, e.g. `duplicate_charge`; normalised before scoring."""
    description: Annotated[str, _NullIsDefault(str)] = ""
    """Human description of the issue, for readers of the suite."""
    should_detect: Annotated[bool, _NullIsDefault(_true)] = True
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

    patient_name: str | None = None
    patient_dob: Text | None = None
    date_of_service: Text | None = None
    facility_name: str | None = None
    provider_name: str | None = None
    """Who billed, when the document names a provider (EOBs, physician bills)."""
    insurance_company: str | None = None
    receipt_number: Text | None = None
    medical_line_items: Annotated[list[MedicalLineItem], _NullIsDefault(list)] = Field(
        default_factory=list
    )
    dental_line_items: Annotated[list[DentalLineItem], _NullIsDefault(list)] = Field(
        default_factory=list
    )
    pharmacy_line_items: Annotated[list[PharmacyLineItem], _NullIsDefault(list)] = Field(
        default_factory=list
    )
    claim_line_items: Annotated[list[ClaimLineItem], _NullIsDefault(list)] = Field(
        default_factory=list
    )

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

    document_type: DocumentType
    expected_issues: Annotated[list[ExpectedIssue], _NullIsDefault(list)] = Field(
        default_factory=list
    )
    expected_facts: Annotated[ExpectedFacts, _NullIsDefault(ExpectedFacts)] = Field(
        default_factory=ExpectedFacts
    )
    expected_savings: Amount | None = 0.0
    """Money the patient should get back if every detectable issue is fixed (null: not stated)."""


def validate_truth(data: Any) -> tuple[GroundTruth, bool]:
    """A ground truth from its JSON data, and whether any object in it holds unknown fields.

    False means none does, so nobody needs to walk the truth looking for
    them (that walk was a fifth of loading a 10,000-case suite); True means
    one does (`_Lenient.unknown_fields` says which).
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
