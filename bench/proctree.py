"""CPU time and memory of a process tree, sampled from /proc while it runs.

The benchmarks time a window inside a command (a run's enqueue to its
publication) and want the CPU every process of the command spent in that
window: the producer, each worker, the private Redis. `TreeSampler` reads
`/proc/<pid>/stat` of the tree every `interval` seconds (the tree itself is
listed again every tenth sample, from the kernel's `children` files, so it
costs a few file reads, not a walk of /proc) and `cpu_between(t0, t1)`
interpolates the tree's total CPU seconds at both ends.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc/<pid>/task/*/children)."""
    found = [pid]
    i = 0
    while i < len(found):
        for task in Path(f"/proc/{found[i]}/task").glob("*"):
            try:
                found.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
        i += 1
    return found


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of one process, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_mib(pid: int) -> float:
    """Resident memory of one process in MiB (0 once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE_KIB / 1024
    except OSError:
        return 0.0


class TreeSampler:
    """Samples the CPU of a process tree, and the memory of chosen processes in it."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root = root
        self.interval = interval
        self.times: list[float] = []
        """Wall clock (time.time) of each sample."""
        self.totals: list[float] = []
        """CPU seconds of the tree at each sample (processes seen, including exited ones)."""
        self.per_pid: list[dict[int, float]] = []
        """CPU seconds of each process at each sample."""
        self.peak_rss: dict[int, float] = {}
        """Largest resident MiB seen per process."""
        self.names: dict[int, str] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> TreeSampler:
        """Start sampling in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling (one last sample is taken)."""
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        pids: list[int] = []
        n = 0
        while True:
            if n % 10 == 0:
                pids = descendants(self.root)
                for pid in pids:
                    if pid not in self.names:
                        try:
                            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                        except OSError:
                            continue
                        self.names[pid] = cmd.replace(b"\0", b" ").decode(errors="replace")[:120]
            for pid in pids:
                cpu = cpu_seconds(pid)
                if cpu is not None:
                    self._last[pid] = cpu
                    self.peak_rss[pid] = max(self.peak_rss.get(pid, 0.0), rss_mib(pid))
            self.times.append(time.time())
            self.totals.append(sum(self._last.values()))
            self.per_pid.append(dict(self._last))
            n += 1
            if self._stop.wait(self.interval):
                break

    def cpu_at(self, when: float) -> float:
        """The tree's CPU seconds at wall time `when`, interpolated between samples."""
        i = bisect.bisect_left(self.times, when)
        if i <= 0:
            return self.totals[0] if self.totals else 0.0
        if i >= len(self.times):
            return self.totals[-1]
        t0, t1 = self.times[i - 1], self.times[i]
        c0, c1 = self.totals[i - 1], self.totals[i]
        return c0 + (c1 - c0) * (when - t0) / (t1 - t0) if t1 > t0 else c1

    def cpu_between(self, start: float, end: float) -> float:
        """CPU seconds the tree spent between two wall-clock times."""
        return self.cpu_at(end) - self.cpu_at(start)

    def cpu_by_kind(self, start: float, end: float, kinds: dict[str, str]) -> dict[str, float]:
        """CPU seconds between two times, per kind of process (`kinds`: name -> command needle).

        Approximate at the ends (the nearest samples inside the window), which
        is why `cpu_between` is the figure to quote; this one says where it went.
        """
        i = min(bisect.bisect_left(self.times, start), len(self.times) - 1)
        j = min(bisect.bisect_left(self.times, end), len(self.times) - 1)
        out = dict.fromkeys(kinds, 0.0)
        for pid, cpu in self.per_pid[j].items():
            spent = cpu - self.per_pid[i].get(pid, 0.0)
            name = self.names.get(pid, "")
            kind = next((k for k, needle in kinds.items() if needle in name), "other")
            out[kind] = out.get(kind, 0.0) + spent
        return out

    def peak_rss_matching(self, needle: str) -> float:
        """Largest resident MiB of a process whose command line contains `needle`."""
        return max(
            (rss for pid, rss in self.peak_rss.items() if needle in self.names.get(pid, "")),
            default=0.0,
        )
