"""How benchq's processes use Python's garbage collector: CPU, not behaviour.

Loading a suite, reading a run's results and running calls all allocate
many objects that live on (cases, results) or die young (requests,
answers), and build no reference cycles worth collecting at once. With
the default thresholds the collector's passes walk the growing heap again
and again:

- `paused()`: no collection while a suite loads. Loading 10,000 cases took
  1.27 s of CPU with the collector on and 0.74 s with it off (one process,
  `docs/performance.md`); the loaded cases are all kept anyway, and
  garbage without cycles is freed by reference counting as usual.
- `tune_process()`, once per process that runs many calls or jobs:
  `gc.freeze()` (everything imported so far lives as long as the process)
  and a first-generation threshold of 20,000 instead of 700. A worker with
  a hundred calls in flight allocates a few thousand short-lived objects
  per call, and the default started a collection every few calls; at
  20,000 one runs a few times a second, which cut a fifth of the CPU a
  call costs (score_case_async on 4,000 calls, 128 in flight: 0.44-0.47 ms
  with the default, 0.35-0.38 ms with this). Objects in reference cycles
  wait a little longer to be freed; nothing relies on them being freed at
  once.
- `kept()`, around what a command loads and keeps to its end (the suite
  it runs): no pass inside, and what is alive on leaving is frozen.
  Otherwise the first passes after loading walk the 10,000 cases of a
  suite, and every older-generation pass walks them again while the
  command sends their jobs and reads their results: in a process tuned as
  above, loading 10,000 cases and then allocating as a run does spent
  0.38-0.40 s of CPU in the collector, and 0.02 s with the cases frozen.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: Allocations (minus deallocations) between two first-generation collections.
GEN0_THRESHOLD = 20_000


def tune_process() -> None:
    """Freeze what is loaded and space out the garbage collector's passes (once per process)."""
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's state is restored after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """`paused()`, then everything alive is frozen: for what a process keeps until it exits.

    Frozen objects are left out of every later pass. Anything among them
    that becomes garbage is still freed by reference counting; only cycles
    among them would wait for the process's end.
    """
    with paused():
        yield
        gc.freeze()
