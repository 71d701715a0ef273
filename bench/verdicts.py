"""False-alarm rate and power of the regression verdicts, measured by simulation.

    .venv/bin/python bench/verdicts.py [--trials 400] [--json] [--seed 1]
        [--cases 50,200,1000] [--spreads default,uniform] [--repeats 1,3]
        [--drop 0.10] [--shift logit|additive|proportional] [--workers 2]
        [--compare-tests] [--timing] [--exact-size]

For every suite size, spread of per-case success probabilities and number
of repeats, `--trials` suites are drawn; each is observed twice:

* A/A: both runs from the same per-case probabilities: any "regression" is
  a false alarm;
* A/B: the current run from probabilities lowered so that the suite's
  expected F1 falls by `--drop`: every "regression" is a detection (power).

Both pairs go through the real verdict code (`benchq.regression.verdict`):
the default paired verdict (`default`) and the original's rule (`original`,
via the verdict's own fallback path), side by side.

The model of a case (docs/verdicts.md says why):

* every case has one expected issue; a run gets it right (TP = 1) or names
  another issue type (FP = 1, FN = 1), so precision = recall = F1 = the share
  of cases right and "a drop of 0.10 F1" is 10 points of cases;
* case i is right with probability p_i, independently in every run and
  repeat; p_i ~ Beta(0.3, 0.3) (`default`: most cases nearly always right or
  nearly always wrong, as repeated model runs show) or Uniform(0, 1);
* a true drop lowers every case's log-odds by the same s (a uniformly worse
  model, easy and hard cases alike), with s solved per suite so that the
  mean of p_i - p'_i is exactly `--drop`; `--shift additive` lowers every
  p_i by the same amount instead, `--shift proportional` scales them.

`--compare-tests` adds two rules run on the same pairs, the evidence for the
choice of test: `exact` (the same permutation test without the mid-p) and
`mcnemar` (McNemar's mid-p test on per-case right/wrong, a case with repeats
counting as right when most of its repeats are). `--timing` prints how long
the statistics take on 1,000-case runs instead; `--exact-size` computes (no
simulation) the exact false-alarm rate of one run of right/wrong cases, for
any share of cases that differ between two runs, with and without the mid-p.

With `--json`, one object a line: rule, spread, cases, repeats, drop,
false_alarm_rate, power. Otherwise a Markdown table with each rate's
standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import optimize
from scipy import stats as sps
from scipy.special import expit, logit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from benchq.regression.original import f1_regressed  # noqa: E402
from benchq.regression.stats import (  # noqa: E402
    CaseCounts,
    CaseOutcome,
    case_rates,
    score_intervals,
)
from benchq.regression.verdict import VerdictRule, paired_verdict  # noqa: E402

RIGHT = CaseOutcome(true_positives=1, false_positives=0, false_negatives=0)
WRONG = CaseOutcome(true_positives=0, false_positives=1, false_negatives=1)
SPREADS = ("default", "uniform")
SHIFTS = ("logit", "additive", "proportional")
BASE_RULES = ("default", "original")
EXTRA_RULES = ("exact", "mcnemar")
_EXACT_RULE = VerdictRule(mid_p=False)


@dataclass(frozen=True)
class Cell:
    """One configuration of the simulation and a block of its trials."""

    spread: str
    cases: int
    repeats: int
    drop: float
    trials: int
    seed: tuple[int, ...]
    extra: bool
    shift: str = "logit"


def draw_probabilities(rng: np.random.Generator, spread: str, n: int) -> NDArray[np.float64]:
    """Per-case success probabilities of one suite."""
    if spread == "default":
        return rng.beta(0.3, 0.3, size=n)
    if spread == "uniform":
        return rng.uniform(0.0, 1.0, size=n)
    raise ValueError(f"unknown spread {spread!r}; use one of {', '.join(SPREADS)}")


def lowered(p: NDArray[np.float64], drop: float, shift: str = "logit") -> NDArray[np.float64]:
    """`p` lowered so that mean(p - p') == drop exactly.

    `logit` (the default): every case's log-odds lowered by the same s, a
    uniformly weaker model; nearly-always-right cases stay nearly always
    right. `additive`: every p lowered by the same amount, clipped at 0.
    `proportional`: every p multiplied by the same factor, so the drop falls
    most on the cases that were nearly always right.
    """
    if drop <= 0:
        return p
    if drop >= p.mean():
        raise ValueError(f"a drop of {drop} is more than this suite's expected F1 {p.mean():.3f}")
    if shift == "proportional":
        return p * (1 - drop / p.mean())
    if shift == "additive":

        def short_additive(s: float) -> float:
            return float(np.mean(p - np.clip(p - s, 0.0, 1.0))) - drop

        s = optimize.brentq(short_additive, 0.0, 1.0, xtol=1e-12)
        return np.clip(p - s, 0.0, 1.0)
    if shift != "logit":
        raise ValueError(f"unknown shift {shift!r}; use one of {', '.join(SHIFTS)}")
    # Beta(0.3, 0.3) draws can be 0 or 1 to double precision; keep logit finite.
    z = logit(np.clip(p, 1e-12, 1 - 1e-12))

    def shortfall(s: float) -> float:
        return float(np.mean(p - expit(z - s))) - drop

    s = optimize.brentq(shortfall, 0.0, 60.0, xtol=1e-12)
    return np.asarray(expit(z - s), dtype=np.float64)


def observe(
    rng: np.random.Generator, p: NDArray[np.float64], repeats: int
) -> tuple[dict[str, list[CaseCounts]], NDArray[np.int64]]:
    """One run (with its repeats) of a suite: case id -> outcomes, and rights per case."""
    right = rng.random((p.size, repeats)) < p[:, None]
    outcomes: dict[str, list[CaseCounts]] = {
        f"case-{i:05d}": [RIGHT if r else WRONG for r in row] for i, row in enumerate(right)
    }
    return outcomes, right.sum(axis=1)


def mcnemar_regressed(
    base_right: NDArray[np.int64],
    cur_right: NDArray[np.int64],
    repeats: int,
    baseline_f1: float,
    current_f1: float,
) -> bool:
    """McNemar's mid-p test (one-sided) on majority right/wrong, with the same threshold."""
    b = base_right * 2 > repeats
    c = cur_right * 2 > repeats
    worse, better = int(np.sum(b & ~c)), int(np.sum(~b & c))
    m = worse + better
    if m == 0:
        return False
    p = float(sps.binom.cdf(better, m, 0.5) - 0.5 * sps.binom.pmf(better, m, 0.5))
    return f1_regressed(baseline_f1, current_f1, 0.05) and p <= 0.01


def run_cell(cell: Cell) -> dict[str, tuple[int, int]]:
    """Regressions found per rule in this block: (A/A count, A/B count)."""
    rng = np.random.default_rng(np.random.SeedSequence(list(cell.seed)))
    rules = BASE_RULES + (EXTRA_RULES if cell.extra else ())
    found = {rule: [0, 0] for rule in rules}
    for trial in range(cell.trials):
        p = draw_probabilities(rng, cell.spread, cell.cases)
        for kind, current_p in enumerate((p, lowered(p, cell.drop, cell.shift))):
            base, base_right = observe(rng, p, cell.repeats)
            cur, cur_right = observe(rng, current_p, cell.repeats)
            default = paired_verdict(base, cur, VerdictRule(seed=trial))
            original = paired_verdict(base, cur, VerdictRule(seed=trial), same_ground_truth=False)
            found["default"][kind] += default.regressed
            found["original"][kind] += original.regressed
            if cell.extra:
                exact = paired_verdict(base, cur, _EXACT_RULE.model_copy(update={"seed": trial}))
                found["exact"][kind] += exact.regressed
                found["mcnemar"][kind] += mcnemar_regressed(
                    base_right, cur_right, cell.repeats, default.baseline_f1, default.current_f1
                )
    return {rule: (a, b) for rule, (a, b) in found.items()}


def simulate(args: argparse.Namespace) -> list[dict[str, object]]:
    """Every configuration's rates, in a stable order."""
    configs = [
        (spread, cases, repeats)
        for spread in args.spreads
        for cases in args.cases
        for repeats in args.repeats
    ]
    # Blocks of trials spread the work over the workers; each block has its
    # own seed, so the figures do not depend on how many workers ran them.
    block = max(1, min(args.trials, 100))
    jobs: list[tuple[int, Cell]] = []
    for index, (spread, cases, repeats) in enumerate(configs):
        done = 0
        while done < args.trials:
            size = min(block, args.trials - done)
            seed = (args.seed, index, done)
            cell = Cell(spread, cases, repeats, args.drop, size, seed, args.compare, args.shift)
            jobs.append((index, cell))
            done += size
    totals: dict[int, dict[str, list[int]]] = {}
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = pool.map(run_cell, [cell for _, cell in jobs])
        for (index, _), counts in zip(jobs, results, strict=True):
            acc = totals.setdefault(index, {})
            for rule, (aa, ab) in counts.items():
                pair = acc.setdefault(rule, [0, 0])
                pair[0] += aa
                pair[1] += ab
    rows: list[dict[str, object]] = []
    for index, (spread, cases, repeats) in enumerate(configs):
        for rule, (aa, ab) in totals[index].items():
            rows.append(
                {
                    "rule": rule,
                    "spread": spread,
                    "cases": cases,
                    "repeats": repeats,
                    "drop": args.drop,
                    "false_alarm_rate": aa / args.trials,
                    "power": ab / args.trials,
                }
            )
    return rows


def print_table(rows: Sequence[dict[str, object]], trials: int) -> None:
    """Markdown table: one line per configuration, the rules side by side."""
    rules = list(dict.fromkeys(str(r["rule"]) for r in rows))
    header = ["spread", "cases", "repeats"]
    for rule in rules:
        header += [f"{rule} false alarms", f"{rule} power"]
    print(f"drop {rows[0]['drop']}, {trials} A/A and {trials} A/B pairs per line (± one SE)\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    by_config: dict[tuple[object, object, object], dict[str, dict[str, object]]] = {}
    for r in rows:
        by_config.setdefault((r["spread"], r["cases"], r["repeats"]), {})[str(r["rule"])] = r
    for (spread, cases, repeats), per_rule in by_config.items():
        cells = [str(spread), str(cases), str(repeats)]
        for rule in rules:
            r = per_rule[rule]
            cells += [_rate(float(str(r["false_alarm_rate"])), trials)]
            cells += [_rate(float(str(r["power"])), trials)]
        print("| " + " | ".join(cells) + " |")


def _rate(rate: float, trials: int) -> str:
    se = (rate * (1 - rate) / trials) ** 0.5
    return f"{rate * 100:.1f} % ± {se * 100:.1f}"


def timing(seed: int) -> None:
    """Seconds the statistics take on 1,000-case runs (median of 5 after a warm-up)."""
    rng = np.random.default_rng(seed)
    for repeats in (1, 3):
        p = draw_probabilities(rng, "default", 1000)
        base, _ = observe(rng, p, repeats)
        cur, _ = observe(rng, lowered(p, 0.10), repeats)
        rates = case_rates(base)
        intervals = _median_seconds(lambda r=rates: score_intervals(r))
        verdict = _median_seconds(lambda b=base, c=cur: paired_verdict(b, c))
        print(f"1000 cases, repeats {repeats}: score_intervals {intervals * 1000:.1f} ms")
        print(f"1000 cases, repeats {repeats}: paired_verdict {verdict * 1000:.1f} ms")


def _median_seconds(action: Callable[[], object]) -> float:
    action()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def exact_false_alarms(n: int, discordance: float, mid_p: bool, alpha: float = 0.01) -> float:
    """Exact A/A false-alarm rate of the one-run verdict on right/wrong cases.

    With one run of one-issue cases the paired test is McNemar's: given m
    cases that differ, the number that got better is Binomial(m, 1/2) under
    no change, and m is Binomial(n, `discordance`), the chance that a case
    differs between two runs. A regression needs the one-sided (mid-)p-value
    at most `alpha` and a drop of more than 0.05 ((worse - better) / n).
    """
    total = 0.0
    for m in range(1, n + 1):
        weight = float(sps.binom.pmf(m, n, discordance))
        if weight < 1e-15:
            continue
        better = np.arange(m + 1)
        p = sps.binom.cdf(better, m, 0.5)
        if mid_p:
            p = p - 0.5 * sps.binom.pmf(better, m, 0.5)
        drop = (m - 2 * better) / n
        flagged = (p <= alpha) & np.array([f1_regressed(d, 0.0, 0.05) for d in drop])
        total += weight * float(sps.binom.pmf(better[flagged], m, 0.5).sum())
    return total


def print_exact_false_alarms(cases: Sequence[int]) -> None:
    """The worst exact false-alarm rate over the discordance, per suite size and p-value."""
    grid = np.linspace(0.01, 0.99, 99)
    print("| cases | p-value | worst false alarms (share differing) | Beta(0.3, 0.3) | uniform |")
    print("|---|---|---|---|---|")
    # Two runs of a case with success probability p differ with chance 2p(1-p):
    # 0.1875 on average for Beta(0.3, 0.3), 1/3 for Uniform(0, 1).
    for n in cases:
        for mid_p in (True, False):
            rates = [exact_false_alarms(n, d, mid_p) for d in grid]
            worst = int(np.argmax(rates))
            beta = exact_false_alarms(n, 0.1875, mid_p)
            uniform = exact_false_alarms(n, 1 / 3, mid_p)
            print(
                f"| {n} | {'mid-p' if mid_p else 'exact'} | {rates[worst] * 100:.3f} % "
                f"({grid[worst]:.2f}) | {beta * 100:.3f} % | {uniform * 100:.3f} % |"
            )


def _ints(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas: {text}")
    return values


def _spreads(text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in values if v not in SPREADS]
    if not values or unknown:
        raise argparse.ArgumentTypeError(f"spreads are {', '.join(SPREADS)}; got {text}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulation (or the timing) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=400, help="A/A and A/B pairs per line")
    parser.add_argument("--cases", type=_ints, default=[50, 200, 1000])
    parser.add_argument("--spreads", type=_spreads, default=list(SPREADS))
    parser.add_argument("--repeats", type=_ints, default=[1, 3])
    parser.add_argument("--drop", type=float, default=0.10, help="true F1 drop of the A/B pairs")
    parser.add_argument("--shift", choices=SHIFTS, default="logit", help="how the drop is made")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="processes")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--compare-tests", dest="compare", action="store_true")
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--exact-size", action="store_true", help="exact one-run false alarms")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.workers < 1 or not 0.0 <= args.drop < 1.0:
        parser.error("--trials and --workers must be at least 1, --drop in [0, 1)")
    if args.timing:
        timing(args.seed)
        return 0
    if args.exact_size:
        print_exact_false_alarms(args.cases)
        return 0
    rows = simulate(args)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print_table(rows, args.trials)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
