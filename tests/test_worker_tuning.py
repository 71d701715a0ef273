"""A worker spaces out the garbage collector's passes once it has loaded everything."""

from __future__ import annotations

import subprocess
import sys


def test_tuning_freezes_the_loaded_objects_and_raises_the_first_threshold() -> None:
    # In a process of its own: the test runner's collector is not ours to change.
    code = (
        "import gc; from benchq.workers.tuning import GEN0_THRESHOLD, tune_process; "
        "before = gc.get_freeze_count(); tune_process(); "
        "print(gc.get_threshold()[0] == GEN0_THRESHOLD, gc.get_freeze_count() > before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
