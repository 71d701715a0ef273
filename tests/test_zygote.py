"""The process that imports once and forks `benchq run`'s workers (benchq.local.zygote).

Real processes throughout: the zygote is started as `benchq run` starts it,
its workers are real Celery workers on a real Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchq.config.settings import Settings
from benchq.jobs.celery_app import make_app
from benchq.jobs.names import PUBLISH_QUEUE, provider_queue
from benchq.local.forked import fork_workers
from benchq.local.worker_pool import WorkerPool
from benchq.local.zygote import WorkerOrder, ZygoteOrder

QUEUES = [PUBLISH_QUEUE, provider_queue("openai")]


def _ppid(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2 :].split()[1])


def test_preloading_imports_the_app_its_tasks_and_the_queues_sdks() -> None:
    order = ZygoteOrder(
        queues=QUEUES, workers=[WorkerOrder(argv=["-A", "benchq.workers.app:app", "worker"])]
    )
    probe = (
        "import sys\n"
        "from benchq.local.zygote import ZygoteOrder, _preload\n"
        f"_preload(ZygoteOrder.model_validate_json({order.model_dump_json()!r}))\n"
        "print(sorted(m for m in ('benchq.workers.tasks', 'openai', 'celery.apps.worker')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "['benchq.workers.tasks', 'celery.apps.worker', 'openai']"


def test_the_workers_are_the_zygotes_children_and_stop_with_it(
    redis_url: str, tmp_path: Path
) -> None:
    env = {"BENCHQ_BROKER_URL": redis_url, "PYTHONPATH": os.pathsep.join(sys.path)}
    pool = WorkerPool(count=2, env=env, queues=QUEUES, log_dir=tmp_path / "logs")
    with pool:
        assert pool.wait_ready(make_app(Settings(broker_url=redis_url)))
        assert pool.zygote is not None
        zygote = pool.zygote.proc.pid
        workers = list(pool.procs)
        pids = [w.pid for w in workers]
        assert len(set(pids)) == 2 and all(_ppid(p) == zygote for p in pids)
    # The pool's exit stopped the workers (warm: exit 0) and then the zygote.
    assert [w.returncode for w in workers] == [0, 0]
    assert all(not Path(f"/proc/{p}").exists() for p in [*pids, zygote])
    logs = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert logs == ["local1.log", "local2.log", "start.log"]
    assert "Warm shutdown" in (tmp_path / "logs" / "local1.log").read_text()


def test_a_zygote_that_cannot_preload_says_why_and_its_workers_show_as_exited(
    tmp_path: Path,
) -> None:
    zygote = fork_workers(
        [["-A", "no_such_module_here:app", "worker"]],
        queues=QUEUES,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        log_paths=[str(tmp_path / "w.log")],
        zygote_log=str(tmp_path / "start.log"),
    )
    assert zygote.wait_forked(timeout=120) is False
    (worker,) = zygote.workers
    assert worker.wait(timeout=30) != 0
    zygote.stop(timeout=30)
    assert "No module named 'no_such_module_here'" in (tmp_path / "start.log").read_text()


def test_stopping_while_it_preloads_leaves_nothing_running(tmp_path: Path) -> None:
    zygote = fork_workers(
        [["-A", "benchq.workers.app:app", "worker", "--hostname", "never@%h"]],
        queues=QUEUES,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        log_paths=[str(tmp_path / "w.log")],
        zygote_log=str(tmp_path / "start.log"),
    )
    zygote.stop(timeout=30)  # at once: it is still importing (about a second)
    assert zygote.proc.returncode is not None
    (worker,) = zygote.workers
    assert worker.poll() is not None
    if worker.pid == 0:  # the usual case: stopped before it forked
        assert (tmp_path / "w.log").read_text() == ""
    else:  # a very slow machine: forked, then stopped warm like any worker
        assert not Path(f"/proc/{worker.pid}").exists()
