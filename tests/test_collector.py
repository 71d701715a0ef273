"""benchq's use of the garbage collector: spaced-out passes in workers, none while a suite loads."""

from __future__ import annotations

import subprocess
import sys


def test_tuning_freezes_the_loaded_objects_and_raises_the_first_threshold() -> None:
    # In a process of its own: the test runner's collector is not ours to change.
    code = (
        "import gc; from benchq.collector import GEN0_THRESHOLD, tune_process; "
        "before = gc.get_freeze_count(); tune_process(); "
        "print(gc.get_threshold()[0] == GEN0_THRESHOLD, gc.get_freeze_count() > before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_a_suite_loads_with_the_collector_paused_and_restored() -> None:
    code = (
        "import gc, sys; from benchq.cases import suite as s; from benchq import collector; "
        "seen = []; real = s._read_truth; "
        "s._read_truth = lambda *a, **k: (seen.append(gc.isenabled()), real(*a, **k))[1]; "
        "loaded = s.load_suite(s.sample_suite_path()); "
        "print(len(loaded.cases) > 0, seen and not any(seen), gc.isenabled()); "
        "gc.disable(); s.load_suite(s.sample_suite_path()); print(gc.isenabled())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # collector off while each truth was read; on again after; left off when it was off
    assert out.stdout.split() == ["True", "True", "True", "False"]


def test_what_a_command_keeps_is_loaded_unwalked_and_then_frozen() -> None:
    code = (
        "import gc; from benchq import collector; from benchq.cases.suite import "
        "load_suite, sample_suite_path; inside = []\n"
        "with collector.kept():\n"
        "    suite = load_suite(sample_suite_path()); inside.append(gc.isenabled())\n"
        "ids = {id(o) for o in gc.get_objects()}\n"
        "print(inside == [False], gc.isenabled(), len(suite.cases) > 0, "
        "id(suite.cases) not in ids, id(suite.cases[0].truth) not in ids)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # no pass while loading; the collector on again after, and the cases out of its passes
    assert out.stdout.split() == ["True"] * 5


def test_a_load_that_fails_freezes_nothing() -> None:
    code = (
        "import gc; from benchq import collector; before = gc.get_freeze_count()\n"
        "try:\n"
        "    with collector.kept():\n"
        "        raise ValueError('bad suite')\n"
        "except ValueError:\n"
        "    pass\n"
        "print(gc.get_freeze_count() == before, gc.isenabled())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
