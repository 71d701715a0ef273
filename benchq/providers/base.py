"""The interface every model backend implements, and the answer it returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from benchq.providers import aio


class DetectedIssue(BaseModel):
    """One issue a model reports, in the schema all providers share."""

    model_config = ConfigDict(extra="allow")

    type: str
    """Issue type, e.g. `duplicate_charge` (normalised before scoring)."""
    summary: str = ""
    evidence: str = ""
    """The text of the document that shows the issue."""
    code: str | None = None
    """The billing code involved, if any."""
    date: str | None = None
    recommended_action: str = ""
    max_savings: float = 0.0
    """The most the patient could save if the issue is fixed."""
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)


class ExtractedLineItem(BaseModel):
    """A line item as a model extracted it."""

    model_config = ConfigDict(extra="allow")

    cpt_code: str | None = None
    date_of_service: str | None = None
    description: str = ""
    billed_amount: float | None = None
    patient_responsibility: float | None = None


class ExtractedFacts(BaseModel):
    """Facts a model extracted from the document."""

    model_config = ConfigDict(extra="allow")

    patient_name: str | None = None
    patient_dob: str | None = None
    date_of_service: str | None = None
    facility_name: str | None = None
    medical_line_items: list[ExtractedLineItem] = Field(default_factory=list)


class ModelAnswer(BaseModel):
    """What one model call produced, with what it cost.

    `json_valid` is False when the raw answer could not be parsed into the
    expected schema; `issues` is then empty and scoring counts the case as
    an invalid answer, not a crash.
    """

    issues: list[DetectedIssue] = Field(default_factory=list)
    facts: ExtractedFacts = Field(default_factory=ExtractedFacts)
    raw_output: str = ""
    """The model's answer exactly as received (kept for case-by-case comparison)."""
    json_valid: bool = True
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float = 0.0
    """Wall time of the model call itself (extraction latency)."""
    cost_usd: float = 0.0
    cached: bool = False
    """True when the answer came from the response cache, not a provider call."""
    attempts: int = 1
    parse_error: str | None = None

    @property
    def total_tokens(self) -> int | None:
        """Input plus output tokens, or None when the provider reported neither."""
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


class Provider:
    """A model backend. Implementations wrap their SDK's errors in `ProviderError`.

    A backend implements one of the two `analyze` methods: API-backed ones
    the coroutine (their calls run on the process's event loop, see
    `benchq.providers.aio`), CPU-bound ones (the baseline) the plain method.
    Each default calls the other, so callers may use either.
    """

    #: Registry name of the provider kind (`baseline`, `openai`, ...).
    kind: str = ""
    #: The provider's own id of the model answering (recorded with every result).
    model_id: str = ""
    #: Digest of the prompt text sent with each document; None when there is none.
    prompt_digest: str | None = None

    def analyze(self, document: str) -> ModelAnswer:
        """Analyse one billing document and return the issues and facts found.

        Raises `ProviderError` (or a subclass) when the call itself fails; a
        call that succeeds with an unparsable answer returns `json_valid=False`.
        """
        return aio.run_sync(self.analyze_async(document))

    async def analyze_async(self, document: str) -> ModelAnswer:
        """`analyze`, as a coroutine on the process's model-call loop."""
        if type(self).analyze is Provider.analyze:
            raise NotImplementedError(f"{type(self).__name__} implements neither analyze method")
        return self.analyze(document)

    def close(self) -> None:
        """Release connections; the default holds nothing."""
