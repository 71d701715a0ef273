"""The one error hierarchy of benchq.

Every error benchq raises on purpose derives from ``BenchqError``; third-party
errors (SDKs, drivers, Redis) are wrapped at the edge where they occur so that
callers only ever catch these::

    BenchqError
    ├── ConfigError            settings, registry or CLI flags are wrong (exit 2)
    ├── SuiteError             a suite file is malformed; names file, line, field (exit 2)
    ├── InputFileError         a push/convert input file is malformed (exit 2)
    ├── ProviderError          a model call failed
    │   ├── ProviderRetryable  429, 5xx, timeouts: worth another attempt
    │   ├── ProviderRejected   400, 401, 403: retrying cannot help
    │   ├── ProviderUnreachable nothing answers at the endpoint (refused, no such host):
    │   │                      one quick retry, then every call fails at once for a while
    │   └── ProviderBusy       the fleet's limit is reached: requeue the job, free the worker
    ├── AnswerError            the model answered, but not with the JSON we asked for
    ├── StoreError             the results store refused an operation
    │   ├── StoreUnavailable   the store cannot be reached right now (retry later)
    │   └── NotFound           the thing asked for does not exist
    ├── InfraUnavailable       a part benchq runs on (broker, limiter) failed during a case:
    │   │                      the case runs again once it is back; never the model's error
    │   └── BrokerUnavailable  the broker (Redis) cannot be reached (exit 1)
    ├── RunFailed              a run cannot finish, or finished with a failed model (exit 1)
    ├── NotificationFailed     no webhook accepted a run's notification
    ├── RuntimeStartError      the embedded Redis or workers could not be started
    └── InternalError          benchq used itself wrongly: a bug to report, not an input to fix

Two more live inside the suite loader and never leave it: `cases.files.Refused`
(a file that must not be read) and `cases.content.ContentError` (content that
cannot be accepted) become problems of `benchq cases check`, or a `SuiteError`.

A failed *case* is not an exception that escapes: the worker catches it and
stores a case result carrying the error message (failures are data).
"""

from __future__ import annotations


class BenchqError(Exception):
    """Base of every error benchq raises on purpose."""

    #: Process exit code the CLI uses when this error reaches it.
    exit_code: int = 1


class ConfigError(BenchqError):
    """Settings, the model registry or command-line flags are invalid."""

    exit_code = 2


class SuiteError(BenchqError):
    """A suite file is malformed. The message names the file, and line or field."""

    exit_code = 2

    def __init__(self, path: str, detail: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.detail = detail
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {detail}")


class InputFileError(BenchqError):
    """An input file given to a command (push, convert) is malformed."""

    exit_code = 2

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


class ProviderError(BenchqError):
    """A model call failed."""


class ProviderRetryable(ProviderError):
    """A transient provider failure (429, 5xx, timeout, connection reset)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ProviderBusy(ProviderError):
    """The fleet-wide limit of a model is reached for longer than a job should wait.

    Not a failure of the case: the job gives its worker thread back and is
    delivered again after `retry_after` seconds, so a throttled model never
    holds the workers that other models' jobs need.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ProviderRejected(ProviderError):
    """The provider refused the request for a reason another attempt cannot fix."""


class ProviderUnreachable(ProviderError):
    """Nothing answers at the model's endpoint: connection refused, or no such host.

    Not retried like a 5xx: a server that is not there will not be there in a
    minute either, and a run should say so in seconds, not after every case
    has waited out its backoff.
    """


class AnswerError(BenchqError):
    """The model's answer is not the JSON document that was asked for."""


class StoreError(BenchqError):
    """The results store refused an operation."""


class StoreUnavailable(StoreError):
    """The results store cannot be reached; the operation may succeed later."""


class NotFound(StoreError):
    """The requested run, snapshot or version does not exist."""


class InfraUnavailable(BenchqError):
    """A part benchq itself runs on failed: not an outcome of the case or the model."""


class BrokerUnavailable(InfraUnavailable):
    """The broker cannot be reached; nothing was enqueued or recorded."""


class RunFailed(BenchqError):
    """A run cannot finish (workers gone, jobs lost) or a model of it failed."""


class NotificationFailed(BenchqError):
    """No webhook accepted a run's notification after every attempt."""


class RuntimeStartError(BenchqError):
    """The embedded runtime (private Redis, worker processes) failed to start."""


class InternalError(BenchqError):
    """benchq used itself wrongly (a bug to report, not an input a user can fix)."""
