"""Task and queue names: the strings a producer sends and a worker consumes.

Queues split the workers by what they need: a provider queue's workers hold
that provider's key and call its model; the publish queue's workers hold the
store's credentials and do every write (case results, aggregate, snapshot,
verdict). An operator can give each credential only to the workers that use it.
"""

from __future__ import annotations

#: Call a model on a batch of cases and score the answers (provider queues).
RUN_CASES = "benchq.run_cases"
#: Write scored case results to the store (publish queue).
SAVE_CASES = "benchq.save_cases"
#: A model's chain, after its cases: aggregate and convert -> publish -> verdict.
AGGREGATE = "benchq.aggregate"
PUBLISH = "benchq.publish"
VERDICT = "benchq.verdict"
#: Errback of a run's jobs: a job failed for good, so the run cannot complete.
RUN_FAILED = "benchq.run_failed"
#: A no-op: health checks, and the floor the pipeline benchmark measures against.
PING = "benchq.ping"

#: The queue of the store writers (every task but RUN_CASES).
PUBLISH_QUEUE = "benchq.publish"
_PROVIDER_PREFIX = "benchq.provider."


def provider_queue(kind: str) -> str:
    """The queue of one provider kind, so a throttled provider never starves the others."""
    return f"{_PROVIDER_PREFIX}{kind}"


def provider_of_queue(queue: str) -> str | None:
    """The provider kind a queue serves, or None for the publish queue (or any other)."""
    return queue.removeprefix(_PROVIDER_PREFIX) if queue.startswith(_PROVIDER_PREFIX) else None
