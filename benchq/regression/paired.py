"""Paired comparison of two runs that scored the same cases.

Two runs over the same cases differ only where some case's outcome differs,
so the comparison looks at those cases:

* the F1 difference (current - baseline, micro-averaged as the scores are)
  and a paired bootstrap interval for it (cases resampled together with
  their baseline and current outcomes);
* a paired permutation test of "no change": under it, which of a case's two
  outcomes came from the baseline and which from the current run is a coin
  flip, so swapping them case by case gives the F1 differences chance alone
  produces. Only cases whose outcomes differ can move the difference; the
  others are held fixed, which makes the test exact (all 2^m swaps) when
  few cases changed and cheap when many did. On one run of one-issue cases
  this *is* McNemar's test (its mid-p version by default); it also uses partial
  credit (cases with several issues) and per-case rates from repeats, which
  McNemar's right/wrong table cannot. docs/verdicts.md has the evidence.
* the cases that got worse and better, each named with its effect on F1:
  the change in the baseline's F1 had only that case changed.

The p-value is one-sided, in the direction of the observed change: the
chance, were nothing different, of a change at least this large that way.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from benchq.regression.stats import CaseRates, Interval, micro_scores

__all__ = ["CaseEffect", "PairedComparison", "compare_paired"]

# Two F1 values closer than this are equal: they are floats computed by
# different summation orders, and a case whose change moves F1 by less than
# this has not changed the score.
_TIE = 1e-12

# Up to this many changed cases the permutation test enumerates every swap
# (2**13 = 8192 patterns) instead of drawing random ones.
_EXACT_MAX_CASES = 13


class CaseEffect(BaseModel):
    """One case whose outcome changed, and what that did to F1."""

    case_id: str
    effect: float
    """Change in the baseline's F1 had only this case changed as it did."""


class PairedComparison(BaseModel):
    """Current run against baseline run, case by case, on the same cases."""

    n_cases: int
    changed_cases: int
    """Cases whose outcome (TP, FP, FN rates) differs between the two runs."""
    baseline_f1: float
    current_f1: float
    delta: float
    """current_f1 - baseline_f1 (negative: a drop)."""
    delta_ci: Interval
    """Paired bootstrap interval of `delta` at `confidence`."""
    confidence: float
    p_value: float
    """One-sided permutation p-value in the direction of `delta` (1 when nothing changed)."""
    exact: bool
    """True when the p-value enumerates every swap; else Monte Carlo over `permutations`."""
    mid_p: bool
    """True when ties with the observation counted half (the mid-p value)."""
    permutations: int
    seed: int
    worse: list[CaseEffect]
    """Cases that lowered F1, most harmful first."""
    better: list[CaseEffect]
    """Cases that raised F1, most helpful first."""


def compare_paired(
    baseline: CaseRates,
    current: CaseRates,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    permutations: int = 9999,
    seed: int = 0,
    mid_p: bool = True,
) -> PairedComparison:
    """Compare two runs case by case; both must have scored exactly the same case ids.

    `baseline` and `current` come from `case_rates` (sorted ids, per-case
    mean TP/FP/FN over repeats). `resamples` bootstrap samples give the
    interval of the F1 difference; the permutation test is exact when at
    most log2(`permutations` + 1) cases changed and Monte Carlo with
    `permutations` random swaps otherwise. `mid_p` counts swaps exactly as
    extreme as the observation half (the mid-p value; on one right/wrong
    run, McNemar's mid-p test); False gives the exact conditional p-value,
    which never exceeds its level but is conservative. The same inputs and
    `seed` give the same result.
    """
    if baseline.case_ids != current.case_ids:
        raise ValueError("a paired comparison needs both runs to have scored the same cases")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), not {confidence}")
    base, cur = baseline.rates, current.rates
    n = base.shape[0]

    base_sum = base.sum(axis=0)
    baseline_f1 = float(micro_scores(base_sum)[2])
    current_f1 = float(micro_scores(cur.sum(axis=0))[2])
    delta = current_f1 - baseline_f1

    changed = np.flatnonzero(np.any(base != cur, axis=1))
    effects = _case_effects(base_sum, base, cur, changed, baseline_f1)
    worse = sorted(
        (CaseEffect(case_id=baseline.case_ids[i], effect=e) for i, e in effects if e < -_TIE),
        key=lambda c: (c.effect, c.case_id),
    )
    better = sorted(
        (CaseEffect(case_id=baseline.case_ids[i], effect=e) for i, e in effects if e > _TIE),
        key=lambda c: (-c.effect, c.case_id),
    )

    rng = np.random.default_rng(seed)
    if changed.size == 0 or abs(delta) <= _TIE:
        p_value, exact = 1.0, True
    else:
        p_value, exact = _permutation_p(base, cur, changed, delta, permutations, rng, mid_p)
    delta_ci = _delta_interval(base, cur, changed, delta, confidence, resamples, rng)

    return PairedComparison(
        n_cases=n,
        changed_cases=int(changed.size),
        baseline_f1=baseline_f1,
        current_f1=current_f1,
        delta=delta,
        delta_ci=delta_ci,
        confidence=confidence,
        p_value=p_value,
        exact=exact,
        mid_p=mid_p,
        permutations=permutations,
        seed=seed,
        worse=worse,
        better=better,
    )


def _case_effects(
    base_sum: NDArray[np.float64],
    base: NDArray[np.float64],
    cur: NDArray[np.float64],
    changed: NDArray[np.intp],
    baseline_f1: float,
) -> list[tuple[int, float]]:
    # One row per changed case: the baseline's sums with that case swapped in.
    swapped = base_sum + (cur[changed] - base[changed])
    f1 = micro_scores(swapped)[:, 2]
    return [(int(i), float(e)) for i, e in zip(changed, f1 - baseline_f1, strict=True)]


def _permutation_p(
    base: NDArray[np.float64],
    cur: NDArray[np.float64],
    changed: NDArray[np.intp],
    delta: float,
    permutations: int,
    rng: np.random.Generator,
    mid_p: bool,
) -> tuple[float, bool]:
    # Unchanged cases add the same to both sides whatever is swapped, so a
    # swap pattern over the m changed cases is all a resample is: swapping
    # case k moves its difference (current - baseline) from one side to the other.
    m = changed.size
    base_sum = base.sum(axis=0)
    cur_sum = cur.sum(axis=0)
    diff = cur[changed] - base[changed]
    exact = m <= _EXACT_MAX_CASES and 2**m <= permutations + 1
    if exact:
        # Every pattern once (the identity among them): the exact null distribution.
        codes = np.arange(2**m, dtype=np.int64)[:, None]
        swaps = ((codes >> np.arange(m, dtype=np.int64)) & 1).astype(np.float64)
        shift = swaps @ diff
    else:
        # Cases with the same difference are interchangeable: how many of a
        # group of g such cases a random pattern swaps is Binomial(g, 1/2).
        # Drawing those counts is the same null distribution as drawing a
        # bit per case, at a cost that grows with the distinct differences
        # (four on one right/wrong run), not with the cases.
        rows, sizes = np.unique(diff, axis=0, return_counts=True)
        swapped = rng.binomial(sizes, 0.5, size=(permutations, sizes.size)).astype(np.float64)
        shift = swapped @ rows
    null = micro_scores(cur_sum - shift)[:, 2] - micro_scores(base_sum + shift)[:, 2]
    # Distance beyond the observed difference, in the direction of the test.
    beyond = (delta - null) if delta < 0 else (null - delta)
    more = int(np.count_nonzero(beyond > _TIE))
    ties = int(np.count_nonzero(np.abs(beyond) <= _TIE))
    # A mid-p counts the resamples exactly as extreme as the observation
    # half: with few changed cases the null distribution is coarse, and
    # counting them whole makes the test far more cautious than its level.
    tie_weight = 0.5 if mid_p else 1.0
    if exact:
        return (more + tie_weight * ties) / shift.shape[0], True
    # The observed pattern counts as one more resample (a tie), so a
    # p-value is never 0 and the test keeps its level (Phipson and Smyth 2010).
    return (more + tie_weight * (ties + 1)) / (permutations + 1), False


def _delta_interval(
    base: NDArray[np.float64],
    cur: NDArray[np.float64],
    changed: NDArray[np.intp],
    delta: float,
    confidence: float,
    resamples: int,
    rng: np.random.Generator,
) -> Interval:
    n = base.shape[0]
    if changed.size == 0 or n < 2:
        return (delta, delta)
    # Resample cases with their two outcomes together. Cases with the same
    # pair of outcomes are interchangeable, so a resample is how many times
    # each distinct pair was drawn: Multinomial(n, shares). That is the
    # same distribution as drawing n cases, at a cost that grows with the
    # distinct pairs (four on one right/wrong run), not with the cases.
    rows, sizes = np.unique(np.concatenate([base, cur], axis=1), axis=0, return_counts=True)
    draws = rng.multinomial(n, sizes / n, size=resamples).astype(np.float64)
    sums = draws @ rows
    deltas = micro_scores(sums[:, 3:])[:, 2] - micro_scores(sums[:, :3])[:, 2]
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(deltas, [tail, 100 - tail])
    return (min(float(low), delta), max(float(high), delta))
