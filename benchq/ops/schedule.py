"""`benchq schedule`: the nightly scheduler's command (the loop is `producers.schedule`)."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType

import click

from benchq.cli_support import handle_errors, read_settings
from benchq.producers.schedule import (
    DailySchedule,
    Scheduler,
    check_settings,
    redis_client,
    slot_run_id,
    utc_now,
)


@click.command("schedule")
@click.option("--at", "at", default=None, help="Time of day, HH:MM UTC [BENCHQ_SCHEDULE_TIME].")
@click.option("--models", default=None, help="Models of the nightly run [BENCHQ_SCHEDULE_MODELS].")
@click.option(
    "--suite",
    type=click.Path(path_type=Path),
    default=None,
    help="Suite of the nightly run [BENCHQ_SCHEDULE_SUITE; default: the bundled sample].",
)
@click.option(
    "--show-next",
    type=click.IntRange(min=1),
    default=None,
    help="Print the next N run times and run ids, and exit.",
)
def schedule(at: str | None, models: str | None, suite: Path | None, show_next: int | None) -> None:
    """Enqueue the full benchmark every day at a fixed UTC time (02:00 by default).

    Runs until SIGTERM or Ctrl-C. Several schedulers on one broker enqueue each
    day's run once.
    """

    def body() -> None:
        settings = read_settings()
        updates = {"schedule_time": at, "schedule_models": models, "schedule_suite": suite}
        settings = settings.model_copy(update={k: v for k, v in updates.items() if v})
        if show_next is not None:
            daily = DailySchedule.parse(settings.schedule_time)
            moment = utc_now()
            for _ in range(show_next):
                moment = daily.next_after(moment)
                click.echo(f"{moment.isoformat()}  {slot_run_id(moment)}")
            return
        daily = check_settings(settings)
        assert settings.broker_url is not None  # checked above
        logging.getLogger("benchq").setLevel(logging.INFO)
        if not logging.getLogger().handlers:
            logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        scheduler = Scheduler(settings, client=redis_client(settings.broker_url), schedule=daily)

        def on_term(signum: int, frame: FrameType | None) -> None:
            scheduler.stop()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        scheduler.run()

    handle_errors(body)()


if __name__ == "__main__":
    schedule()
