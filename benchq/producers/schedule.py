"""The nightly scheduler: enqueue the full benchmark every day at a fixed UTC time.

Why a small loop and not Celery beat: the nightly job is one call of the
producer (`enqueue_only`, the same code `benchq enqueue` runs from CI), so the
scheduler is that call on a timer, run where the suite files are. Beat would
add a task whose only work is to enqueue other tasks, run it on a worker
(which then needs the suite files too), keep its last-run state in a local
`celerybeat-schedule` file, and it must never run twice: Celery's docs warn
that two beat processes send every task twice. Here each day's slot is
claimed in Redis with `SET NX` before it is enqueued, under a run id derived
from the slot (`20260102T020000Z-nightly`), so a second scheduler, a restart
at 02:00 or a cron line doing the same thing still give one run per day; and
Redis, with append-only persistence, is the state that survives restarts.

A slot missed while the scheduler was down is enqueued when it starts again,
if no more than `BENCHQ_SCHEDULE_CATCH_UP` seconds have passed since (the
job beat does with its schedule file).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from benchq.config.settings import Settings
from benchq.errors import BenchqError, ConfigError
from benchq.jobs.broker import broker_client

log = logging.getLogger("benchq.schedule")

#: How long a slot's claim is kept: well past any catch-up window.
CLAIM_TTL_SECONDS = 7 * 86400
#: Longest single sleep: a suspended host or a clock step is noticed within it.
MAX_SLEEP_SECONDS = 60.0
#: Pause before enqueueing a slot again after the broker or store failed.
RETRY_SECONDS = 60.0
CLAIM_PREFIX = "benchq:schedule:"


@dataclass(frozen=True)
class DailySchedule:
    """Once a day at hour:minute UTC."""

    hour: int
    minute: int

    def __post_init__(self) -> None:
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise ConfigError(f"schedule time {self.hour:02d}:{self.minute:02d} is not a time")

    @classmethod
    def parse(cls, text: str) -> DailySchedule:
        """From `HH:MM` (UTC), as in BENCHQ_SCHEDULE_TIME."""
        hour, sep, minute = text.strip().partition(":")
        if not sep or not hour.isdigit() or not minute.isdigit() or len(minute) != 2:
            raise ConfigError(f"schedule time {text!r}: expected HH:MM (UTC), e.g. 02:00")
        return cls(int(hour), int(minute))

    def _today(self, now: datetime) -> datetime:
        return _as_utc(now).replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)

    def next_after(self, now: datetime) -> datetime:
        """The first slot strictly after `now` (UTC)."""
        slot = self._today(now)
        return slot if slot > _as_utc(now) else slot + timedelta(days=1)

    def last_at_or_before(self, now: datetime) -> datetime:
        """The latest slot at or before `now` (UTC)."""
        slot = self._today(now)
        return slot if slot <= _as_utc(now) else slot - timedelta(days=1)


def _as_utc(moment: datetime) -> datetime:
    # A naive datetime would be read in the host's zone, and the schedule is UTC
    # whatever the host says: refuse rather than guess.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the schedule needs a timezone-aware datetime")
    return moment.astimezone(UTC)


def slot_run_id(slot: datetime) -> str:
    """The run id of a slot's run: sortable like `new_run_id`'s, the same for every scheduler."""
    return f"{_as_utc(slot):%Y%m%dT%H%M%SZ}-nightly"


def redis_client(url: str) -> redis.Redis:  # type: ignore[type-arg]
    """The broker's Redis, where each day's slot is claimed."""
    return broker_client(url)


def claim_slot(client: redis.Redis[bytes], slot: datetime) -> bool:
    """Claim a slot for this process; False when a scheduler already took it."""
    owner = f"{socket.gethostname()}:{os.getpid()}"
    return bool(client.set(CLAIM_PREFIX + slot_run_id(slot), owner, nx=True, ex=CLAIM_TTL_SECONDS))


def release_slot(client: redis.Redis[bytes], slot: datetime) -> None:
    """Give a claimed slot back, so a later attempt may enqueue it."""
    try:
        client.delete(CLAIM_PREFIX + slot_run_id(slot))
    except redis.RedisError:
        # Unreachable Redis: the claim stays; the slot is then missed rather
        # than enqueued twice, and the log says why.
        log.warning("could not release the claim of %s", slot_run_id(slot))


def enqueue_slot(settings: Settings, client: redis.Redis[bytes], slot: datetime) -> str | None:
    """Enqueue the benchmark of one slot, once across all schedulers; returns its run id.

    None when another scheduler (or an earlier attempt) already enqueued it.
    The enqueueing itself is the producer's `enqueue_only`.
    """
    from benchq.producers.runner import enqueue_only

    if not claim_slot(client, slot):
        log.info("run %s was already enqueued by another scheduler", slot_run_id(slot))
        return None
    try:
        plan = enqueue_only(
            settings,
            suite_path=settings.schedule_suite,
            models=settings.schedule_models,
            run_id=slot_run_id(slot),
        )
    except BaseException:
        release_slot(client, slot)
        raise
    return plan.run_id


Clock = Callable[[], datetime]
Sleep = Callable[[float], Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """The loop: wait for each slot, enqueue it, repeat until stopped."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: redis.Redis[bytes],
        schedule: DailySchedule | None = None,
        clock: Clock = utc_now,
        sleep: Sleep | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.schedule = schedule or DailySchedule.parse(settings.schedule_time)
        self.clock = clock
        self.stopped = threading.Event()
        # Waiting on the event, not time.sleep: SIGTERM ends a wait at once.
        self.sleep: Sleep = sleep or self.stopped.wait
        self.catch_up = timedelta(seconds=settings.schedule_catch_up)

    def stop(self) -> None:
        """End the loop after the current wait or enqueue."""
        self.stopped.set()

    def first_slot(self) -> datetime:
        """The slot to handle first: a recently missed one, else the next one."""
        now = self.clock()
        last = self.schedule.last_at_or_before(now)
        if self.catch_up and now - last <= self.catch_up:
            return last
        return self.schedule.next_after(now)

    def _wait_until(self, moment: datetime) -> None:
        while not self.stopped.is_set():
            remaining = (moment - self.clock()).total_seconds()
            if remaining <= 0:
                return
            self.sleep(min(remaining, MAX_SLEEP_SECONDS))

    def run(self, *, max_slots: int | None = None) -> list[str]:
        """Loop until stopped (or `max_slots` slots handled); returns the run ids enqueued."""
        enqueued: list[str] = []
        handled = 0
        slot = self.first_slot()
        while not self.stopped.is_set():
            log.info("next benchmark run %s at %s", slot_run_id(slot), slot.isoformat())
            self._wait_until(slot)
            if self.stopped.is_set():
                break
            try:
                run_id = enqueue_slot(self.settings, self.client, slot)
            except Exception as exc:
                # Bad input (exit code 2: suite, models, settings) will not fix
                # itself today; anything else (broker or store down) may.
                permanent = isinstance(exc, BenchqError) and exc.exit_code == 2
                window = max(self.catch_up, timedelta(seconds=RETRY_SECONDS))
                if not permanent and self.clock() - slot < window:
                    log.warning("enqueueing %s failed (%s); retrying", slot_run_id(slot), exc)
                    self.sleep(RETRY_SECONDS)
                    continue
                log.error("run %s was not enqueued: %s", slot_run_id(slot), exc)
            else:
                if run_id is not None:
                    log.info("enqueued run %s", run_id)
                    enqueued.append(run_id)
            handled += 1
            if max_slots is not None and handled >= max_slots:
                break
            slot = self.schedule.next_after(max(slot, self.clock()))
        return enqueued


def check_settings(settings: Settings) -> DailySchedule:
    """Everything the nightly run needs, checked at start-up rather than at 02:00."""
    from benchq.producers.runner import load_plan

    if not settings.broker_url:
        raise ConfigError("BENCHQ_BROKER_URL is not set: the scheduler enqueues on a shared broker")
    # Loads and validates the suite and the model list, as the nightly run will.
    load_plan(
        settings, suite_path=settings.schedule_suite, models=settings.schedule_models, run_id=None
    )
    return DailySchedule.parse(settings.schedule_time)
