"""Process-wide settings a worker applies once, before it takes jobs: CPU, not behaviour.

- `gc.freeze()`: everything imported so far lives as long as the worker;
  the collector's full passes would otherwise walk it again and again.
- A larger first-generation threshold: a worker with a hundred calls in
  flight allocates a few thousand short-lived objects per call (requests,
  answers, results), and the default threshold (700) started a collection
  every few calls. At 20,000 a collection runs a few times a second instead,
  which cut a fifth of the CPU a call costs (score_case_async on 4,000
  calls, 128 in flight: 0.44-0.47 ms with the default, 0.35-0.38 ms with
  this; docs/performance.md). Objects in reference cycles wait a little
  longer to be freed; nothing in a job relies on them being freed at once.
"""

from __future__ import annotations

import gc

#: Allocations (minus deallocations) between two first-generation collections.
GEN0_THRESHOLD = 20_000


def tune_process() -> None:
    """Freeze what is loaded and space out the garbage collector's passes."""
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
