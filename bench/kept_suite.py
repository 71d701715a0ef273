"""The garbage collector's work in a `benchq run` process, with the loaded suite frozen or not.

Generates a suite of `--cases` cases once, then `--repeat` times runs two
fresh processes, alternating which goes first: each is tuned as `benchq
run` tunes itself (`collector.tune_process`), loads the suite and computes
its digest (what `load_plan` does), then allocates as the command does
while it sends jobs and reads results: short-lived dicts, a few kept. One
process loads with `collector.kept()` around the loading (what `benchq
run` does), the other without. Each reports the CPU of the loading, of the
allocations after it, and what the collector's passes took of both
(`gc.callbacks`). Prints a JSON line per process, then the median [range]
of each side.

    .venv/bin/python bench/kept_suite.py --cases 10000 --repeat 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchq.cases.generate import generate_suite  # noqa: E402

# Run in a process of its own, so each side starts from the same empty heap.
_CHILD = """
import gc, json, sys, time
from benchq import collector
from benchq.cases.identity import suite_digest
from benchq.cases.suite import load_suite

collector.tune_process()
spent = {"gc": 0.0, "passes": 0, "start": 0.0}

def watch(phase, info):
    if phase == "start":
        spent["start"] = time.process_time()
    else:
        spent["gc"] += time.process_time() - spent["start"]
        spent["passes"] += 1

gc.callbacks.append(watch)
side, path = sys.argv[1], sys.argv[2]

def load():
    suite = load_suite(path)
    suite_digest(suite)
    return suite

started = time.process_time()
if side == "kept":
    with collector.kept():
        suite = load()
else:
    suite = load()
loaded = time.process_time()
kept = []
for i in range(80):  # what sending jobs and reading results allocate, roughly
    made = [{"case": j, "text": str(j)} for j in range(20000)]
    kept.append(made[:100])
done = time.process_time()
print(json.dumps({"side": side, "cases": len(suite.cases), "load_cpu": loaded - started,
                  "after_cpu": done - loaded, "collector_cpu": spent["gc"],
                  "passes": spent["passes"]}))
"""


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    seen: dict[str, dict[str, list[float]]] = {"plain": {}, "kept": {}}
    with tempfile.TemporaryDirectory(prefix="kept-suite-") as tmp:
        generate_suite(args.cases, 5, Path(tmp))
        for i in range(args.repeat):
            order = ["plain", "kept"] if i % 2 == 0 else ["kept", "plain"]
            for side in order:
                out = subprocess.run(
                    [sys.executable, "-c", _CHILD, side, tmp],
                    capture_output=True, text=True, check=True, cwd=ROOT,
                )  # fmt: skip
                line = json.loads(out.stdout)
                print(json.dumps(line))
                for key in ("load_cpu", "after_cpu", "collector_cpu"):
                    seen[side].setdefault(key, []).append(line[key])
    print(
        json.dumps(
            {
                "cases": args.cases,
                "repeat": args.repeat,
                **{
                    f"{side}_{key}": _summary(values)
                    for side, figures in seen.items()
                    for key, values in figures.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
