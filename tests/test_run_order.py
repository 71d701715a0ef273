"""What `benchq run` does while its workers start, and what an interrupt then leaves."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from benchq import cli_run
from benchq.cases.suite import sample_suite_path
from benchq.config.settings import Settings
from benchq.errors import NotFound
from benchq.producers.enqueue import record_run
from benchq.producers.plan import RunPlan
from benchq.producers.runner import load_plan
from benchq.store.base import ResultsStore
from benchq.store.sqlite import SQLiteStore
from tests.pipeline_helpers import BASELINE


class _Runtime:
    """The embedded runtime's face to `_drive`, with workers that never come up."""

    def __init__(self, settings: Settings, on_wait: Any) -> None:
        self.settings = settings
        self.log_dir = None
        self.on_wait = on_wait

    def keep_logs(self, where: Path) -> None:
        pass

    def wait_ready(self) -> bool:
        return bool(self.on_wait())

    def workers_alive(self) -> bool:
        return True

    def stop_workers_soon(self) -> None:
        pass


def _plan(tmp_path: Path) -> tuple[Settings, RunPlan]:
    settings = Settings(
        _env_file=None, results_dir=tmp_path, store_url=f"sqlite:///{tmp_path / 'benchq.db'}"
    )
    plan = load_plan(
        settings, suite_path=sample_suite_path(), models="baseline", run_id=None,
        resolved=[BASELINE],
    )  # fmt: skip
    return settings, plan


def _drive(
    settings: Settings, plan: RunPlan, monkeypatch: pytest.MonkeyPatch, on_wait: Any,
    *, record: bool,
) -> SQLiteStore:  # fmt: skip

    @contextlib.contextmanager
    def fake_runtime(*_: Any, **__: Any) -> Iterator[_Runtime]:
        yield _Runtime(settings, on_wait)

    monkeypatch.setattr(cli_run, "runtime", fake_runtime)
    sent: list[str] = []

    def send(app: Any, plan: RunPlan, store: ResultsStore, identity: str, url: str) -> None:
        sent.append(plan.run_id)
        raise AssertionError("no job may be sent in these tests")

    with pytest.raises(KeyboardInterrupt):
        cli_run._drive(
            settings, lambda: plan, ["q"], send, record=record_run if record else None,
            workers=1, timeout=5, console=Console(quiet=True),
        )  # fmt: skip
    assert sent == []
    return SQLiteStore(settings.results_dir / "benchq.db")


def test_the_run_is_recorded_while_the_workers_start_and_an_interrupt_fails_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, plan = _plan(tmp_path)
    seen: dict[str, Any] = {}

    def on_wait() -> bool:
        # The workers are still starting: the run and its documents are stored already.
        store = SQLiteStore(tmp_path / "benchq.db")
        seen["status"] = store.get_run(plan.run_id).status
        seen["documents"] = len(store.case_documents(plan.run_id))
        store.close()
        raise KeyboardInterrupt  # Ctrl-C before the workers answered

    store = _drive(settings, plan, monkeypatch, on_wait, record=True)
    assert seen == {"status": "queued", "documents": len(plan.suite.cases)}
    # Recorded and then interrupted: over, not left queued for ever.
    run = store.get_run(plan.run_id)
    assert run.status == "failed" and "interrupted" in (run.error or "")
    store.close()


def test_an_interrupt_before_anything_is_recorded_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, plan = _plan(tmp_path)

    def on_wait() -> bool:
        raise KeyboardInterrupt

    store = _drive(settings, plan, monkeypatch, on_wait, record=False)
    with pytest.raises(NotFound):
        store.get_run(plan.run_id)
    store.close()
