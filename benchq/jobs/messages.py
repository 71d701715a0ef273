"""The messages jobs carry: plain JSON (pydantic dumps), so any worker can take any job.

A job's payload travels as one JSON text (`encode`), not as a dict for
Celery's JSON encoder to walk: pydantic writes it in Rust, and Celery then
only escapes one string. That was a third of the producer's CPU while it
sent a big run's jobs. `decode` also takes the dict an earlier version sent,
so messages already queued when a fleet is upgraded still run.

A job carries ids, labels and the cases it runs, never a credential or a
setting a worker must not take from the producer: the store a worker writes
to comes from its own environment (`benchq.jobs.target`), and a message only
names which store it expects (`store`), so a worker pointed elsewhere refuses
the job instead of filing results where nobody will look.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from benchq.cases.schema import Case
from benchq.scoring.schema import CaseResult
from benchq.store.schema import Environment

CacheMode = Literal["use", "refresh", "bypass"]
M = TypeVar("M", bound=BaseModel)


class CaseBatch(BaseModel):
    """One job of a provider queue: some cases of one model in one run."""

    run_id: str
    model_name: str
    """The registry name of the model (`openai`); the worker's registry resolves it."""
    prompt_version: str = "v1"
    """The prompt the run asked for; the worker sends exactly this one."""
    cache_mode: CacheMode = "use"
    """`refresh` (`--no-cache`, and every repeat after the first): call the model even
    where a cached answer exists."""
    store: str
    """Identity of the store the run is recorded in (`StoreTarget.identity`)."""
    repeat: int = Field(default=0, ge=0)
    """Which run of these cases this job is (`--repeat`)."""
    cases: list[Case]


class SaveCases(BaseModel):
    """Scored case results on their way from a model worker to the store (publish queue)."""

    run_id: str
    model_name: str
    store: str
    results: list[CaseResult]


class ModelJob(BaseModel):
    """What a model's chain (aggregate -> publish -> verdict) needs to know of (run, model)."""

    run_id: str
    model_name: str
    model_version: str
    model_provider: str
    """The provider kind (`openai`, `gemini`, `medgemma`, `baseline`)."""
    model_id: str = ""
    """The provider's model id the producer's registry named."""
    prompt_digest: str | None = None
    dataset_version: str
    prompt_version: str = "v1"
    expected_cases: int = Field(ge=0)
    enqueued_at: str
    """ISO 8601 UTC time the run was enqueued (duration is measured from it)."""
    environment: Environment = "local"
    commit_sha: str = "unknown"
    branch_name: str | None = None
    triggered_by: str | None = None
    ci_run_id: str | None = None
    max_error_rate: float = Field(default=0.2, ge=0.0, le=1.0)
    """Above this share of failed cases the model's run fails and nothing is published."""
    regression_threshold: float = Field(default=0.05, ge=0.0, le=1.0)
    """The verdict's threshold: the largest tolerated F1 drop (absolute, the original's)."""
    alpha: float = Field(default=0.01, gt=0.0, lt=1.0)
    """The verdict's significance level (one-sided paired test)."""
    store: str = ""
    """Identity of the store the run is recorded in; empty: not checked."""


def encode(message: BaseModel, *, exclude: Any = None) -> str:
    """A message as the JSON text a task's argument carries."""
    return message.model_dump_json(exclude=exclude)


def decode(model: type[M], payload: object) -> M:
    """A task's argument back into its message: JSON text, or the dict of an earlier version.

    Raises pydantic's `ValidationError` for anything else, as for a bad dict.
    """
    if isinstance(payload, str | bytes):
        return model.model_validate_json(payload)
    return model.model_validate(payload)


def describe_args(args: object) -> str:
    """A job's positional arguments as Flower and logs may show them: ids, never a bill.

    Works on the messages above, whether as models, JSON text or dicts (and
    on anything else, by keeping only numbers, short strings and the shape of
    the rest), so a message whose schema is not known here still shows
    nothing private.
    """
    shown: list[object] = []
    for arg in args if isinstance(args, list | tuple) else [args]:
        if isinstance(arg, BaseModel):
            arg = _outline(arg)
        elif isinstance(arg, str | bytes) and arg[:1] in ("{", b"{"):
            try:
                arg = json.loads(arg)
            except ValueError:
                shown.append(type(arg).__name__)
                continue
        if isinstance(arg, dict):
            part: dict[str, object] = {
                k: arg[k] for k in ("run_id", "model_name") if isinstance(arg.get(k), str)
            }
            if isinstance(arg.get("cases"), list):
                part["cases"] = [c.get("id") for c in arg["cases"] if isinstance(c, dict)]
            if isinstance(arg.get("results"), list):
                part["cases"] = [
                    r.get("document_name") for r in arg["results"] if isinstance(r, dict)
                ]
            shown.append(part)
        elif _plain(arg):
            shown.append(arg)
        else:
            shown.append(type(arg).__name__)
    return repr(tuple(shown))


#: Longer strings are shown by their type alone: an id is short, a bill is not.
_SHOWN_STRING = 200


def _plain(arg: object) -> bool:
    """A value shown as it is: a number, None, or a string short enough to be an id."""
    if isinstance(arg, str):
        return len(arg) <= _SHOWN_STRING
    return isinstance(arg, int | float | bool) or arg is None


def _outline(message: BaseModel) -> dict[str, object]:
    """What `describe_args` reads of a message, taken from the model without dumping it."""
    part: dict[str, object] = {
        k: getattr(message, k) for k in ("run_id", "model_name") if hasattr(message, k)
    }
    if isinstance(message, CaseBatch):
        part["cases"] = [{"id": c.id} for c in message.cases]
    elif isinstance(message, SaveCases):
        part["results"] = [{"document_name": r.document_name} for r in message.results]
    return part


def describe_failure(exc: BaseException) -> str:
    """A job's exception as logs, the store and notifications may show it: never a bill.

    pydantic's message quotes the input it refused, which for a job is the
    cases it carries (names, birth dates); what is shown instead is where
    each error is and what it is.
    """
    if isinstance(exc, ValidationError):
        where = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(message)'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        return f"{type(exc).__name__}: {exc.error_count()} error(s) in {exc.title}: {where}"
    return f"{type(exc).__name__}: {exc}"
