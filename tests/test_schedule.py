"""The nightly scheduler: its time arithmetic, and that a slot really becomes one run.

The loop runs on a fake clock (its sleeps advance the clock), so no test
waits for 02:00; the enqueueing is real: real Redis, the producer's code, and
a real worker that completes the scheduled run.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from benchq.cases.generate import generate_suite
from benchq.config.settings import Settings
from benchq.errors import ConfigError
from benchq.jobs import body
from benchq.producers.schedule import (
    CLAIM_PREFIX,
    DailySchedule,
    Scheduler,
    redis_client,
    slot_run_id,
)
from benchq.producers.wait import wait_for_run
from benchq.store.schema import RunStatus
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import settings_for, workers

TWO_AM = DailySchedule(2, 0)
CASES = 6


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-03-10T01:59:59.999999", "2026-03-10T02:00:00"),  # just before: today
        ("2026-03-10T02:00:00", "2026-03-11T02:00:00"),  # exactly at: strictly after
        ("2026-03-10T02:00:00.000001", "2026-03-11T02:00:00"),
        ("2026-03-10T00:00:00", "2026-03-10T02:00:00"),
        ("2026-03-10T23:59:59", "2026-03-11T02:00:00"),
        ("2026-03-31T12:00:00", "2026-04-01T02:00:00"),  # month end
        ("2026-12-31T02:30:00", "2027-01-01T02:00:00"),  # year end
        ("2028-02-28T03:00:00", "2028-02-29T02:00:00"),  # leap day
    ],
)
def test_next_run_is_the_first_0200_utc_strictly_after_now(now: str, expected: str) -> None:
    assert TWO_AM.next_after(utc(now)) == utc(expected)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-03-10T02:00:00", "2026-03-10T02:00:00"),  # at the slot: that slot
        ("2026-03-10T01:59:59", "2026-03-09T02:00:00"),
        ("2026-01-01T00:30:00", "2025-12-31T02:00:00"),
    ],
)
def test_last_slot_is_the_latest_at_or_before_now(now: str, expected: str) -> None:
    assert TWO_AM.last_at_or_before(utc(now)) == utc(expected)


def test_other_time_zones_are_converted_not_taken_as_utc() -> None:
    # 03:30 in UTC+02:00 is 01:30 UTC: the run is half an hour later, the same UTC day.
    cest = timezone(timedelta(hours=2))
    now = datetime(2026, 6, 1, 3, 30, tzinfo=cest)
    assert TWO_AM.next_after(now) == utc("2026-06-01T02:00:00")
    # 01:00 in UTC-05:00 is 06:00 UTC: today's slot is past.
    est = timezone(timedelta(hours=-5))
    assert TWO_AM.next_after(datetime(2026, 6, 1, 1, 0, tzinfo=est)) == utc("2026-06-02T02:00:00")
    assert TWO_AM.next_after(now).tzinfo == UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TWO_AM.next_after(datetime(2026, 6, 1, 1, 0))


@pytest.mark.parametrize(
    ("text", "hour", "minute"), [("02:00", 2, 0), ("23:59", 23, 59), ("7:05", 7, 5)]
)
def test_schedule_time_parses(text: str, hour: int, minute: int) -> None:
    assert DailySchedule.parse(text) == DailySchedule(hour, minute)


@pytest.mark.parametrize("text", ["2", "24:00", "02:60", "02:5", "ab:cd", "02-00", ""])
def test_bad_schedule_times_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        DailySchedule.parse(text)


def test_settings_refuse_a_bad_schedule_time() -> None:
    with pytest.raises(ValueError, match="schedule_time"):
        Settings(schedule_time="25:00")  # type: ignore[call-arg]


def test_run_ids_of_slots_are_fixed_and_sort_by_time() -> None:
    first = slot_run_id(utc("2026-03-09T02:00:00"))
    second = slot_run_id(utc("2026-03-10T02:00:00"))
    assert first == "20260309T020000Z-nightly"
    assert sorted([second, first]) == [first, second]


class FakeClock:
    """A clock that only moves when the scheduler sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def _settings(tmp: Path, broker: str, **extra: object) -> Settings:
    suite = tmp / "suite"
    if not suite.exists():
        generate_suite(CASES, 3, suite)
    return settings_for(tmp, broker, schedule_suite=suite, schedule_models="baseline", **extra)


def _store(settings: Settings) -> SQLiteStore:
    assert settings.store_url is not None
    return SQLiteStore(settings.store_url.removeprefix("sqlite:///"))


def test_the_scheduled_slot_enqueues_a_run_that_a_real_worker_completes(
    clean_env: Path, redis_url: str
) -> None:
    settings = _settings(clean_env, redis_url, schedule_catch_up=0)
    clock = FakeClock(utc("2026-03-10T01:58:30"))
    scheduler = Scheduler(settings, client=redis_client(redis_url), clock=clock, sleep=clock.sleep)

    enqueued = scheduler.run(max_slots=1)

    assert enqueued == ["20260310T020000Z-nightly"]
    # It waited 90 s in all, in steps no longer than a minute, and not a moment past 02:00.
    assert sum(clock.slept) == pytest.approx(90.0)
    assert max(clock.slept) <= 60.0
    assert clock.now == utc("2026-03-10T02:00:00")

    store = _store(settings)
    run = store.get_run("20260310T020000Z-nightly")
    assert run.cases_per_model == CASES
    assert run.models == ["baseline"]
    with workers(settings, 1):
        progress = wait_for_run(store, run.run_id, timeout=120)
    assert progress.done["baseline"] == CASES
    assert store.get_run(run.run_id).status is RunStatus.done
    assert len(store.case_results(run.run_id, "baseline")) == CASES
    store.close()


def test_two_schedulers_enqueue_a_slot_once(clean_env: Path, redis_url: str) -> None:
    settings = _settings(clean_env, redis_url, schedule_catch_up=0)
    client = redis_client(redis_url)
    results = []
    for _ in range(2):  # two scheduler containers, or a restart at 02:00
        clock = FakeClock(utc("2026-03-10T01:59:00"))
        scheduler = Scheduler(settings, client=client, clock=clock, sleep=clock.sleep)
        results.append(scheduler.run(max_slots=1))

    assert results == [["20260310T020000Z-nightly"], []]
    # No worker runs: the queue holds each case once, not twice.
    queued = [json.loads(m) for m in client.lrange("benchq.provider.baseline", 0, -1)]
    # a kombu message: (args, kwargs, embed) in benchq's body format; args = (CaseBatch's JSON,)
    bodies = [body.loads(m["body"]) for m in queued]
    cases = [case["id"] for body in bodies for case in json.loads(body[0][0])["cases"]]
    assert sorted(cases) == sorted(set(cases)) and len(cases) == CASES
    assert client.get(CLAIM_PREFIX + "20260310T020000Z-nightly") is not None


def test_a_recently_missed_slot_is_caught_up_at_start(clean_env: Path, redis_url: str) -> None:
    settings = _settings(clean_env, redis_url, schedule_catch_up=6 * 3600)
    clock = FakeClock(utc("2026-03-10T03:00:00"))
    scheduler = Scheduler(settings, client=redis_client(redis_url), clock=clock, sleep=clock.sleep)
    assert scheduler.run(max_slots=1) == ["20260310T020000Z-nightly"]
    assert clock.slept == []  # enqueued at once, not tomorrow


def test_a_slot_missed_too_long_ago_waits_for_the_next_one() -> None:
    settings = Settings(schedule_catch_up=6 * 3600)  # type: ignore[call-arg]
    for start, first in [
        ("2026-03-10T09:00:00", "2026-03-11T02:00:00"),  # 7 h late: too late
        ("2026-03-10T07:59:59", "2026-03-10T02:00:00"),  # within 6 h
    ]:
        clock = FakeClock(utc(start))
        scheduler = Scheduler(settings, client=None, clock=clock)  # type: ignore[arg-type]
        assert scheduler.first_slot() == utc(first)


def test_a_failed_enqueue_releases_the_slot_and_bad_input_is_not_retried(
    clean_env: Path, redis_url: str
) -> None:
    settings = _settings(clean_env, redis_url, schedule_catch_up=0)
    settings = settings.model_copy(update={"schedule_suite": clean_env / "missing"})
    client = redis_client(redis_url)
    clock = FakeClock(utc("2026-03-10T01:59:00"))
    scheduler = Scheduler(settings, client=client, clock=clock, sleep=clock.sleep)

    assert scheduler.run(max_slots=1) == []

    # The claim is given back, so a fixed configuration can still enqueue the slot...
    assert client.get(CLAIM_PREFIX + "20260310T020000Z-nightly") is None
    # ...nothing was sent, and a bad suite was not retried every minute.
    assert client.llen("benchq.provider.baseline") == 0
    assert clock.now == utc("2026-03-10T02:00:00")


def _schedule_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchq.ops.schedule", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_cli_shows_the_next_run_times(clean_env: Path) -> None:
    proc = _schedule_cli("--show-next", "3", "--at", "02:00", env={})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3
    times = [datetime.fromisoformat(line.split()[0]) for line in lines]
    assert all(t.utcoffset() == timedelta(0) and (t.hour, t.minute) == (2, 0) for t in times)
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(days=1)] * 2
    assert all(line.endswith("-nightly") for line in lines)


def test_cli_refuses_to_start_without_a_broker(clean_env: Path) -> None:
    proc = _schedule_cli(env={})
    assert proc.returncode == 2
    assert "BENCHQ_BROKER_URL" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_refuses_an_unknown_model_at_start_not_at_0200(clean_env: Path, redis_url: str) -> None:
    proc = _schedule_cli("--models", "no-such-model", env={"BENCHQ_BROKER_URL": redis_url})
    assert proc.returncode == 2
    assert "no-such-model" in proc.stderr


def test_cli_waits_for_the_next_slot_and_stops_cleanly_on_sigterm(
    clean_env: Path, redis_url: str
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchq.ops.schedule", "--at", "02:00"],
        env={**os.environ, "BENCHQ_BROKER_URL": redis_url, "BENCHQ_SCHEDULE_CATCH_UP": "0"},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()  # blocks until the scheduler says what it waits for
        assert "next benchmark run" in line and "-nightly" in line, line
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        # It sleeps on an event that SIGTERM sets, so it exits at once with 0
        # (the timeout only guards against a hang).
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert redis_client(redis_url).keys(CLAIM_PREFIX + "*") == []
