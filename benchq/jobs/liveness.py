"""Can anything still finish a run? Asked of the broker when a run stops moving.

Every job of a run, queued, held by a worker (countdowns included) or
running, is a message on the broker that names the run in its `argsrepr`
header (plain text, not the encoded body): in a queue's list, or in the
`unacked` hash while a worker holds it. A chain's next step is sent before
the step before it is acknowledged, so a run in progress always has one.
When none is left and the run is not over, nothing can finish it: its jobs
were lost (a Redis restarted without persistence, or flushed).
"""

from __future__ import annotations

import redis

from benchq.jobs.names import PUBLISH_QUEUE, provider_queue

#: Messages read per round trip while scanning a queue.
_CHUNK = 500


def run_has_jobs(
    client: redis.Redis,  # type: ignore[type-arg]
    run_id: str,
    provider_kinds: list[str],
    *,
    tasks: tuple[str, ...] = (),
) -> bool:
    """True when a message of the run is queued or held by a worker.

    With `tasks`, only messages of those task names count (e.g. the case
    work a chain's aggregate step waits for: `run_cases`, `save_cases`).
    """
    needle = run_id.encode()
    names = tuple(f'"task": "{t}"'.encode() for t in tasks)

    def counts(raw: bytes) -> bool:
        return needle in raw and (not names or any(n in raw for n in names))

    for _tag, raw in client.hscan_iter("unacked"):
        if counts(raw):
            return True
    for queue in [PUBLISH_QUEUE, *(provider_queue(k) for k in provider_kinds)]:
        # Celery's priority sub-queues share the name as a prefix.
        for key in client.scan_iter(match=f"{queue}*"):
            if client.type(key) != b"list":  # type: ignore[no-untyped-call]
                continue
            length = int(client.llen(key))
            for start in range(0, length, _CHUNK):
                if any(counts(m) for m in client.lrange(key, start, start + _CHUNK - 1)):
                    return True
    return False
