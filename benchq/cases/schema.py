"""Ground-truth and case schemas, in the original on-disk format.

The field names are those of the original system's `expected_outputs/*.json`
files, so existing suites load unchanged.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class DocumentType(StrEnum):
    """The kinds of billing document a suite holds."""

    medical_bill = "medical_bill"
    dental_bill = "dental_bill"
    pharmacy_receipt = "pharmacy_receipt"
    insurance_eob = "insurance_eob"


class ExpectedIssue(BaseModel):
    """One billing issue the document contains (or deliberately does not flag)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1)
    """Issue type, e.g. `duplicate_charge`; normalised before scoring."""
    description: str = ""
    """Human description of the issue, for readers of the suite."""
    should_detect: bool = True
    """False for look-alikes a model should *not* flag (they still count in `issues_expected`)."""


class ExpectedLineItem(BaseModel):
    """One billed line as it appears on the document."""

    model_config = ConfigDict(extra="allow")

    cpt_code: str
    """Procedure, dental (CDT) or drug (NDC) code."""
    date_of_service: str | None = None
    description: str = ""
    billed_amount: float
    patient_responsibility: float | None = None


class ExpectedFacts(BaseModel):
    """Facts a reader should extract from the document."""

    model_config = ConfigDict(extra="allow")

    patient_name: str
    patient_dob: str | None = None
    date_of_service: str
    facility_name: str
    medical_line_items: list[ExpectedLineItem] = Field(default_factory=list)


class GroundTruth(BaseModel):
    """The contents of one `expected_outputs/<name>.json` file."""

    model_config = ConfigDict(extra="allow")

    document_type: DocumentType
    expected_issues: list[ExpectedIssue] = Field(default_factory=list)
    expected_facts: ExpectedFacts
    expected_savings: float = 0.0
    """Money the patient should get back if every detectable issue is fixed."""


class Case(BaseModel):
    """One benchmark case: a document and its ground truth.

    A case is self-contained so it can travel in a queue message to a worker
    on any machine; the worker never needs the suite's files.
    """

    id: str = Field(min_length=1)
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
