"""Change-point methods on synthetic snapshot histories with known shifts.

    .venv/bin/python bench/changepoints.py [--series 200] [--seed 1]
        [--methods benchq,spa,otava,pelt-bic,pelt-ttest] [--write FILE | --read FILE]
        [--save-found FILE] [--agree-with FILE] [--json]

Draws `--series` series for each scenario below (or reads them from FILE,
so that methods installed in other environments see the very same series),
runs each method and prints, per scenario: false change points per series
(found further than 2 points from any true shift), the share of true shifts
found within 2 points, and the mean milliseconds per series. `--save-found`
keeps every method's change points; `--agree-with` another run's file prints,
per scenario, the share of series where the methods found the same change
points (each within 1 point of one in the other).

Methods:

* `benchq`: benchq.regression.changepoints (E-divisive means, permutation
  test with 199 shuffles, p <= 0.01, segments of at least 3 points);
* `pelt-bic`: ruptures PELT alone, mean-shift cost, BIC penalty
  (2 sigma^2 log n, sigma from the differences' MAD); needs `pip install ruptures`;
* `pelt-ttest`: ruptures PELT candidates and Otava's t-test merge at
  p <= 0.001 (benchq's first design); needs ruptures;
* `spa`: MongoDB's `signal-processing-algorithms` E-divisive means
  (permutation test, p <= 0.01, 100 permutations). It pins numpy < 2 and
  Python 3.11, so it runs from its own venv with `--read FILE`;
* `otava`: Apache Otava's `compute_change_points` (windowed E-divisive split,
  t-test merge, p <= 0.001). It pins numpy 2.2 and scipy < 1.17; own venv too.

Scenarios mimic what a configuration's history holds: F1 of a 200-case suite
(level 0.80, run-to-run sd 0.03), latency (log-normal, sd 15 %), cost (a
price: constant, then a step).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

Series = dict[str, Any]  # {"values": [...], "shifts": [index of first value after a shift]}


def scenarios(rng: np.random.Generator, count: int) -> dict[str, list[Series]]:
    """Every scenario's series, with the true shift positions."""
    out: dict[str, list[Series]] = {}

    def add(name: str, make: Callable[[], tuple[np.ndarray, list[int]]]) -> None:
        out[name] = []
        for _ in range(count):
            values, shifts = make()
            out[name].append({"values": [float(v) for v in values], "shifts": shifts})

    def f1_steps(n: int, steps: Sequence[float]) -> tuple[np.ndarray, list[int]]:
        cuts = sorted(rng.choice(np.arange(5, n - 4), size=len(steps), replace=False).tolist())
        while len(steps) > 1 and min(np.diff(cuts)) < 5:
            cuts = sorted(rng.choice(np.arange(5, n - 4), size=len(steps), replace=False).tolist())
        level = np.full(n, 0.80)
        for cut, step in zip(cuts, steps, strict=True):
            level[cut:] += step
        return level + rng.normal(0, 0.03, n), cuts

    def latency(n: int, factor: float | None) -> tuple[np.ndarray, list[int]]:
        level = np.full(n, math.log(900.0))
        cuts: list[int] = []
        if factor is not None:
            cut = int(rng.integers(5, n - 4))
            level[cut:] += math.log(factor)
            cuts = [cut]
        return np.exp(level + rng.normal(0, 0.15, n)), cuts

    def cost(n: int) -> tuple[np.ndarray, list[int]]:
        cut = int(rng.integers(3, n - 2))
        values = np.full(n, 0.012)
        values[cut:] = 0.018
        return values, [cut]

    add("f1 flat, 30 points", lambda: f1_steps(30, []))
    add("f1 flat, 200 points", lambda: f1_steps(200, []))
    add("f1 -0.06 (2 sd), 30 points", lambda: f1_steps(30, [-0.06]))
    add("f1 -0.10 (3.3 sd), 30 points", lambda: f1_steps(30, [-0.10]))
    add("f1 -0.08 then +0.06, 60 points", lambda: f1_steps(60, [-0.08, 0.06]))
    add("latency flat, 40 points", lambda: latency(40, None))
    add("latency x1.3, 40 points", lambda: latency(40, 1.3))
    add("cost step x1.5, 20 points", lambda: cost(20))
    return out


def method_benchq(values: list[float]) -> list[int]:
    """benchq's detector: indices of the first value after each change."""
    from benchq.regression.changepoints import detect_changes

    return [c.index for c in detect_changes(list(enumerate(values)))]


def method_pelt_bic(values: list[float]) -> list[int]:
    """ruptures PELT, mean-shift cost, BIC penalty from the differences' MAD (needs ruptures)."""
    import ruptures

    x = np.asarray(values)
    ends = (
        ruptures.KernelCPD(kernel="linear", min_size=2)
        .fit(x)
        .predict(pen=2 * _mad_sigma(x) ** 2 * math.log(x.size))
    )
    return [int(e) for e in ends[:-1]]


def method_pelt_ttest(values: list[float]) -> list[int]:
    """ruptures PELT candidates (half the BIC penalty), then Otava's t-test merge at p <= 0.001.

    benchq's first design, kept here for the comparison that replaced it.
    """
    import ruptures
    from scipy import stats as sps

    x = np.asarray(values)
    ends = (
        ruptures.KernelCPD(kernel="linear", min_size=2)
        .fit(x)
        .predict(pen=_mad_sigma(x) ** 2 * math.log(x.size))
    )
    bounds = [int(e) for e in ends[:-1]]

    def p_value(left: np.ndarray, right: np.ndarray) -> float:
        if np.ptp(left) == 0 and np.ptp(right) == 0:
            return 0.0 if left[0] != right[0] else 1.0
        p = float(sps.ttest_ind(left, right).pvalue)
        return 1.0 if math.isnan(p) else p

    while bounds:
        edges = [0, *bounds, x.size]
        ps = [
            p_value(x[edges[k] : edges[k + 1]], x[edges[k + 1] : edges[k + 2]])
            for k in range(len(bounds))
        ]
        weakest = int(np.argmax(ps))
        if ps[weakest] <= 0.001:
            break
        del bounds[weakest]
    return bounds


def _mad_sigma(x: np.ndarray) -> float:
    d = np.diff(x)
    return max(1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2), 1e-9)


def method_spa(values: list[float]) -> list[int]:
    """MongoDB's E-divisive means (signal-processing-algorithms)."""
    from signal_processing_algorithms.energy_statistics import energy_statistics

    return sorted(
        int(i) for i in energy_statistics.e_divisive(values, pvalue=0.01, permutations=100)
    )


def method_otava(values: list[float]) -> list[int]:
    """Apache Otava's compute_change_points (split and merge)."""
    from otava.analysis import compute_change_points

    points, _ = compute_change_points(values, window_len=50, max_pvalue=0.001)
    return sorted(int(c.index) for c in points)


METHODS: dict[str, Callable[[list[float]], list[int]]] = {
    "benchq": method_benchq,
    "pelt-bic": method_pelt_bic,
    "pelt-ttest": method_pelt_ttest,
    "spa": method_spa,
    "otava": method_otava,
}


def score(found: list[int], shifts: list[int], tolerance: int = 2) -> tuple[int, int]:
    """(true shifts found within `tolerance`, change points near no true shift)."""
    hits = sum(1 for s in shifts if any(abs(f - s) <= tolerance for f in found))
    false = sum(1 for f in found if all(abs(f - s) > tolerance for s in shifts))
    return hits, false


def evaluate(
    method: str, data: dict[str, list[Series]], found_out: dict[str, list[list[int]]]
) -> list[dict[str, Any]]:
    """One row per scenario for `method`; its change points go to `found_out`."""
    detect = METHODS[method]
    rows = []
    for name, series in data.items():
        hits = shifts = false = 0
        found_out[name] = []
        start = time.perf_counter()
        for s in series:
            found = detect(s["values"])
            found_out[name].append(found)
            h, f = score(found, s["shifts"])
            hits, false, shifts = hits + h, false + f, shifts + len(s["shifts"])
        elapsed = time.perf_counter() - start
        rows.append(
            {
                "method": method,
                "scenario": name,
                "false_per_series": false / len(series),
                "found": hits / shifts if shifts else None,
                "ms_per_series": elapsed / len(series) * 1000,
            }
        )
    return rows


def same(a: list[int], b: list[int]) -> bool:
    """Both lists name the same change points, each within 1 point of one in the other."""
    return all(any(abs(x - y) <= 1 for y in b) for x in a) and all(
        any(abs(x - y) <= 1 for x in a) for y in b
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Draw or read the series, run the methods, print the table."""
    parser = argparse.ArgumentParser(description="change-point methods on known shifts")
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--methods", default="benchq")
    parser.add_argument("--write", type=Path, help="save the drawn series to this file")
    parser.add_argument("--read", type=Path, help="use the series saved in this file")
    parser.add_argument("--save-found", type=Path, help="write each method's change points here")
    parser.add_argument("--agree-with", type=Path, help="a --save-found file to compare with")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    if args.read:
        data = json.loads(args.read.read_text())
    else:
        data = scenarios(np.random.default_rng(args.seed), args.series)
    if args.write:
        args.write.write_text(json.dumps(data))
    found: dict[str, dict[str, list[list[int]]]] = {m: {} for m in methods}
    rows = [row for m in methods for row in evaluate(m, data, found[m])]
    if args.save_found:
        args.save_found.write_text(json.dumps(found))
    if args.agree_with:
        other: dict[str, dict[str, list[list[int]]]] = json.loads(args.agree_with.read_text())
        for mine in methods:
            for theirs, by_scenario in other.items():
                for name, lists in by_scenario.items():
                    share = np.mean(
                        [same(a, b) for a, b in zip(found[mine][name], lists, strict=True)]
                    )
                    print(f"{mine} vs {theirs}, {name}: same change points in {share * 100:.0f} %")
        return 0
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print("| method | scenario | false change points per series | true shifts found | ms/series |")
    print("|---|---|---|---|---|")
    for r in rows:
        found = "-" if r["found"] is None else f"{r['found'] * 100:.0f} %"
        print(
            f"| {r['method']} | {r['scenario']} | {r['false_per_series']:.3f} | {found} "
            f"| {r['ms_per_series']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
