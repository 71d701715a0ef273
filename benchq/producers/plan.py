"""Plan a run: which models, which cases, under which run id. Pure."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from benchq.cases.identity import default_dataset_version, suite_digest
from benchq.cases.schema import Suite
from benchq.errors import ConfigError
from benchq.producers.provenance import Provenance
from benchq.store.schema import Environment


class ModelPlan(BaseModel):
    """One model of a run, with what the chord callback will need."""

    name: str
    provider: str
    """Provider kind; selects the job's queue."""
    model_version: str
    model_id: str = ""
    """The provider's own model id the registry names (`gpt-4o-mini`)."""
    prompt_digest: str | None = None
    """Digest of the prompt text the model is sent; None for models without a prompt."""


class RunPlan(BaseModel):
    """Everything needed to enqueue a run."""

    run_id: str
    suite: Suite
    models: list[ModelPlan]
    created_at: str
    dataset_version: str
    """The label results are stored under (default: suite name and content digest)."""
    dataset_digest: str
    """SHA-256 of the suite's cases and ground truth (`cases.identity.suite_digest`)."""
    suite_path: str | None = None
    """Where the suite was read (absolute), recorded so `benchq resume` can read it again."""
    prompt_version: str = "v1"
    environment: Environment = "local"
    provenance: Provenance
    cache_mode: Literal["use", "refresh"] = "use"
    """`refresh` (`--no-cache`) skips cached answers: every case calls its model."""
    batch_size: int = Field(default=20, ge=1)
    """Cases of one model per job message."""
    max_error_rate: float = Field(default=0.2, ge=0.0, le=1.0)
    """Above this share of failed cases a model's run fails and publishes nothing."""
    regression_threshold: float = Field(default=0.05, ge=0.0, le=1.0)
    """What each model's verdict step checks its snapshot against the baseline with."""
    alpha: float = Field(default=0.01, gt=0.0, lt=1.0)
    """The verdict's significance level."""
    repeats: int = Field(default=1, ge=1, le=100)
    """Times each (model, case) runs (`--repeat`); repeats after the first skip the cache."""

    @property
    def case_count(self) -> int:
        """(model, case, repeat) results the run stores."""
        return len(self.models) * len(self.suite.cases) * self.repeats

    @property
    def job_count(self) -> int:
        """Job messages the run enqueues: one per model and batch of cases."""
        per_model = -(-len(self.suite.cases) // self.batch_size) * self.repeats
        return len(self.models) * per_model


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_run_id(run_id: str) -> str:
    """`run_id` if it is a safe name; ConfigError otherwise.

    Run ids name log folders and travel in job messages: only letters,
    digits, `.`, `_` and `-`, at most 128, not starting with a dot or dash
    (so never `..`, a path or an option).
    """
    if not _RUN_ID.match(run_id):
        raise ConfigError(
            f"--run-id: {run_id[:40]!r}{'...' if len(run_id) > 40 else ''} is not a valid run id "
            "(1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit)"
        )
    return run_id


def parse_models(value: str) -> list[str]:
    """Split a `--models a,b` flag, refusing empty and repeated names."""
    names = [n.strip() for n in value.split(",")]
    if not value.strip() or any(not n for n in names):
        raise ConfigError(f"--models: expected a comma-separated list of names, got {value!r}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"--models: {', '.join(repeated)} named more than once")
    return names


def plan_run(
    suite: Suite,
    models: list[ModelPlan],
    *,
    run_id: str | None = None,
    dataset_version: str | None = None,
    prompt_version: str = "v1",
    environment: Environment = "local",
    provenance: Provenance | None = None,
    use_cache: bool = True,
    batch_size: int = 20,
    max_error_rate: float = 0.2,
    regression_threshold: float = 0.05,
    suite_path: str | None = None,
    alpha: float = 0.01,
    repeats: int = 1,
) -> RunPlan:
    """A plan for running every case of the suite on every model.

    `dataset_version` None derives the label from the suite's name and digest.
    """
    if not suite.cases:
        raise ConfigError(f"suite {suite.name!r} has no cases")
    if run_id is not None:
        check_run_id(run_id)
    digest = suite_digest(suite)
    return RunPlan(
        run_id=run_id or new_run_id(),
        suite=suite,
        models=models,
        created_at=datetime.now(UTC).isoformat(),
        dataset_version=dataset_version or default_dataset_version(suite, digest),
        dataset_digest=digest,
        suite_path=suite_path,
        prompt_version=prompt_version,
        environment=environment,
        provenance=provenance or Provenance(commit_sha="unknown"),
        cache_mode="use" if use_cache else "refresh",
        batch_size=batch_size,
        max_error_rate=max_error_rate,
        regression_threshold=regression_threshold,
        alpha=alpha,
        repeats=repeats,
    )
