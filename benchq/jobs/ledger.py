"""Which cases of a (run, model) a model worker has already handed to the store writers.

A job delivered again (its worker died after handing over part of it) skips
those cases instead of calling the model for them again. Kept in the broker's
Redis, beside the jobs themselves: model workers need no store access, and
a case is marked only after its results are safely on the publish queue.
Part of the job contract because `benchq resume` forgets a run's ledger: a
run whose jobs were lost may have handed cases over that never arrived.
"""

from __future__ import annotations

from collections.abc import Collection

import redis

#: Long enough for any run to finish, short enough not to pile up.
LEDGER_TTL_SECONDS = 7 * 86400


def _key(run_id: str, model_name: str) -> str:
    return f"benchq:handed:{run_id}:{model_name}"


def handed_over(
    client: redis.Redis,  # type: ignore[type-arg]
    run_id: str,
    model_name: str,
    among: Collection[str],
) -> set[str]:
    """Which of the case ids `among` were already handed over for (run, model)."""
    if not among:
        return set()
    ids = sorted(set(among))
    flags = client.smismember(_key(run_id, model_name), ids)  # type: ignore[no-untyped-call]
    return {case_id for case_id, flag in zip(ids, flags, strict=True) if flag}


def mark_handed_over(
    client: redis.Redis,  # type: ignore[type-arg]
    run_id: str,
    model_name: str,
    case_ids: Collection[str],
) -> None:
    """Record that these cases' results are on the publish queue."""
    if not case_ids:
        return
    key = _key(run_id, model_name)
    pipe = client.pipeline(transaction=False)
    pipe.sadd(key, *case_ids)
    pipe.expire(key, LEDGER_TTL_SECONDS)
    pipe.execute()


def forget(client: redis.Redis, run_id: str, model_names: Collection[str]) -> None:  # type: ignore[type-arg]
    """Drop the ledger of these models of a run, so every case not stored runs again."""
    if model_names:
        client.delete(*(_key(run_id, m) for m in model_names))
