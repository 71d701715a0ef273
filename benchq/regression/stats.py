"""Confidence intervals for a run's micro-averaged precision, recall and F1.

A run's scores are micro-averages over its cases (ΣTP/(ΣTP+ΣFP) and so on,
see `benchq.scoring.aggregate`), so the honest interval resamples *cases*
and recomputes the scores exactly as they are computed: a nonparametric
bootstrap over cases (what `scipy.stats.bootstrap` computes, BCa intervals,
paired so a case's TP, FP and FN stay together; done here in linear time).

With repeats (a model run N times on each case) a case's outcome is its
*rate*: the mean TP, FP and FN over its repeats. Summing rates instead of
counts gives every case the same weight whatever its number of repeats, and
the bootstrap then resamples cases, not repeats, which is the unit a new
suite would draw.

Everything here is a pure function of plain data; the random stream is a
`numpy.random.Generator` seeded by the caller, so the same input and seed
give the same interval on every machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CaseCounts",
    "CaseOutcome",
    "CaseRates",
    "Interval",
    "ScoreIntervals",
    "case_rates",
    "group_outcomes",
    "micro_scores",
    "score_intervals",
]

#: A closed interval `(low, high)`; written to result files as `[low, high]`.
Interval = tuple[float, float]

#: The bootstrap interval methods scipy offers and this module allows.
BootstrapMethod = Literal["BCa", "percentile"]


class CaseCounts(Protocol):
    """Anything with a case's issue counts: `CaseOutcome`, or a scoring `CaseResult`."""

    @property
    def true_positives(self) -> int: ...

    @property
    def false_positives(self) -> int: ...

    @property
    def false_negatives(self) -> int: ...


class CaseOutcome(BaseModel):
    """The issue counts of one case in one run (one repeat)."""

    model_config = ConfigDict(frozen=True)

    true_positives: int = Field(ge=0)
    false_positives: int = Field(ge=0)
    false_negatives: int = Field(ge=0)


@dataclass(frozen=True)
class CaseRates:
    """Per-case outcomes as arrays, in a fixed case order.

    `rates[i]` is case `case_ids[i]`'s mean (TP, FP, FN) over its
    `repeats[i]` repeats (its counts when it ran once).
    """

    case_ids: tuple[str, ...]
    rates: NDArray[np.float64]
    """Shape (n_cases, 3): columns TP, FP, FN."""
    repeats: NDArray[np.int64]
    """Shape (n_cases,): how many outcomes each case's rate averages."""


class ScoreIntervals(BaseModel):
    """Point scores of a run and their bootstrap confidence intervals (0-1 scale)."""

    precision: float
    recall: float
    f1: float
    precision_ci: Interval
    """`issue_precision_ci` in a result file."""
    recall_ci: Interval
    """`issue_recall_ci` in a result file."""
    f1_ci: Interval
    """`issue_f1_ci` in a result file."""
    confidence: float
    """Coverage the intervals were built for (0.95 = 95 %)."""
    n_cases: int
    resamples: int
    method: BootstrapMethod
    seed: int


def group_outcomes(
    outcomes: Iterable[tuple[str, CaseCounts]],
) -> dict[str, list[CaseCounts]]:
    """Group (case id, outcome) pairs by case: the repeats of each case, in input order.

    The caller passes e.g. `((r.document_name, r) for r in case_results)`;
    a `CaseResult` has the counts this module reads.
    """
    grouped: dict[str, list[CaseCounts]] = {}
    for case_id, outcome in outcomes:
        grouped.setdefault(case_id, []).append(outcome)
    return grouped


def case_rates(outcomes: Mapping[str, Sequence[CaseCounts]]) -> CaseRates:
    """Each case's mean (TP, FP, FN) over its repeats, cases sorted by id.

    Sorting makes the order (and so a seeded bootstrap) independent of the
    order the results arrived in. A case with no outcome is an error: it
    has no rate, and silently dropping it would change the suite.
    """
    ids = tuple(sorted(outcomes))
    repeats = np.array([len(outcomes[case_id]) for case_id in ids], dtype=np.int64)
    for case_id, count in zip(ids, repeats, strict=True):
        if count == 0:
            raise ValueError(f"case {case_id!r} has no outcome")
    # One flat array of every outcome, then per-case sums: a Python loop
    # over cases building small arrays costs more than the bootstrap itself.
    counts = np.array(
        [
            (o.true_positives, o.false_positives, o.false_negatives)
            for case_id in ids
            for o in outcomes[case_id]
        ],
        dtype=np.float64,
    ).reshape(-1, 3)
    if (counts < 0).any():
        row = int(np.flatnonzero((counts < 0).any(axis=1))[0])
        case_id = ids[int(np.searchsorted(np.cumsum(repeats), row, side="right"))]
        raise ValueError(f"case {case_id!r} has a negative count")
    starts = np.concatenate([[0], np.cumsum(repeats)[:-1]]).astype(np.intp)
    sums = np.add.reduceat(counts, starts, axis=0) if ids else np.zeros((0, 3))
    rates = sums / repeats[:, None] if ids else sums
    return CaseRates(case_ids=ids, rates=rates, repeats=repeats)


def micro_scores(sums: NDArray[np.float64]) -> NDArray[np.float64]:
    """Precision, recall and F1 from summed (TP, FP, FN) along the last axis.

    `sums[..., 0:3]` are ΣTP, ΣFP, ΣFN; the result has the same leading
    shape and (precision, recall, F1) last. The formulas are the ones of
    `benchq.scoring.aggregate.micro_prf` (0 wherever a denominator is 0,
    F1 = 2PR/(P+R)), vectorised so one call scores thousands of resamples.
    """
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    precision = _safe_ratio(tp, tp + fp)
    recall = _safe_ratio(tp, tp + fn)
    f1 = _safe_ratio(2 * precision * recall, precision + recall)
    return np.stack([precision, recall, f1], axis=-1)


def score_intervals(
    rates: CaseRates | NDArray[np.float64],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    method: BootstrapMethod = "BCa",
) -> ScoreIntervals:
    """Bootstrap confidence intervals over cases for micro precision, recall and F1.

    `rates` is a `CaseRates` (from `case_rates`) or an (n_cases, 3) array of
    per-case (TP, FP, FN) counts or rates. Cases are resampled with
    replacement `resamples` times and the three scores recomputed from the
    resampled sums. `method` "BCa" (scipy's default, bias-corrected and
    accelerated) corrects for the skew of a score near 0 or 1, where F1 of
    a good model lives; "percentile" is the plain quantiles. When every
    resample gives the same score (e.g. no true positive at all) the interval
    is that score on both ends. No cases give zeros everywhere, as
    `aggregate` does.
    """
    data = rates.rates if isinstance(rates, CaseRates) else np.asarray(rates, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != 3:
        raise ValueError(f"per-case outcomes must have shape (n_cases, 3), not {data.shape}")
    _check_confidence(confidence)
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")

    point = micro_scores(data.sum(axis=0))
    n = data.shape[0]
    if n < 2 or np.all(data == data[0]):
        # One case, or all cases alike: every resample is the sample itself.
        low = high = point
    else:
        low, high = _bootstrap(data, confidence, resamples, seed, method, point)

    return ScoreIntervals(
        precision=float(point[0]),
        recall=float(point[1]),
        f1=float(point[2]),
        precision_ci=(float(low[0]), float(high[0])),
        recall_ci=(float(low[1]), float(high[1])),
        f1_ci=(float(low[2]), float(high[2])),
        confidence=confidence,
        n_cases=n,
        resamples=resamples,
        method=method,
        seed=seed,
    )


#: Elements (resamples x cases) drawn at once: 4 MB of indices and 4 MB of
#: gathered counts at a time, whatever the number of cases (a worker's
#: memory must not grow with the run).
_DRAW_ELEMENTS = 500_000


def _bootstrap(
    data: NDArray[np.float64],
    confidence: float,
    resamples: int,
    seed: int,
    method: BootstrapMethod,
    point: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """`scipy.stats.bootstrap(..., paired=True)` of `micro_scores`, in linear time and memory.

    The same numbers as scipy's (the same random stream, resamples and BCa
    formulas; `tests/test_regression_stats.py` compares them), computed the
    way a sum allows: resamples are drawn in batches of bounded size, and
    BCa's jackknife takes each case's leave-one-out sums as the total minus
    that case instead of re-summing n - 1 cases n times. scipy's own
    jackknife builds an n x (n - 1) array: at 10,000 cases 2.4 GB and 13 s
    of a worker's CPU in every run's aggregate.
    """
    n = data.shape[0]
    columns = np.ascontiguousarray(data.T)  # (3, n): sums along the last axis, as scipy's
    rng = np.random.default_rng(seed)
    batch = max(1, _DRAW_ELEMENTS // n)
    thetas = []
    for start in range(0, resamples, batch):
        # One draw of (rows, n) after another is the same stream as scipy's single draw.
        index = rng.integers(0, n, (min(batch, resamples - start), n))
        # Column by column, (rows, n) summed along n: scipy's very sums, bit for bit.
        sums = np.stack([column[index].sum(axis=-1) for column in columns], axis=-1)
        thetas.append(micro_scores(sums))
    theta_b = np.concatenate(thetas).T  # (3 scores, resamples)

    alpha = (1 - confidence) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "BCa":
            low_q, high_q = _bca_levels(columns, theta_b, alpha)
        else:
            low_q, high_q = np.full(3, alpha), np.full(3, 1 - alpha)
    ends = _quantiles(theta_b, np.stack([low_q, high_q], axis=-1))
    low = np.asarray(ends[:, 0], dtype=np.float64)
    high = np.asarray(ends[:, 1], dtype=np.float64)
    # A NaN end means the score did not vary over the resamples: it is the point.
    low = np.where(np.isnan(low), point, low)
    high = np.where(np.isnan(high), point, high)
    # An interval always contains the score it is about (BCa can miss it by a rounding).
    return np.minimum(low, point), np.maximum(high, point)


def _bca_levels(
    columns: NDArray[np.float64], theta_b: NDArray[np.float64], alpha: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The BCa quantile levels of each score (scipy's `_bca_interval`, Efron & Tibshirani 14.3)."""
    b = theta_b.shape[-1]
    totals = columns.sum(axis=-1)  # summed as scipy sums the sample
    theta_hat = micro_scores(totals)[:, None]
    below = np.count_nonzero(theta_b < theta_hat, axis=-1)
    at_or_below = np.count_nonzero(theta_b <= theta_hat, axis=-1)
    z0 = _ndtri((below + at_or_below) / (2 * b))
    # Jackknife: the scores without case i, from the total minus case i.
    n = columns.shape[-1]
    theta_i = micro_scores((totals[:, None] - columns).T).T  # (3, n)
    u = (n - 1) * (theta_i.mean(axis=-1, keepdims=True) - theta_i)
    a_hat = 1 / 6 * (np.sum(u**3, axis=-1) / n**3) / (np.sum(u**2, axis=-1) / n**2) ** 1.5
    z_alpha = float(_ndtri(np.array([alpha]))[0])
    num1 = z0 + z_alpha
    num2 = z0 - z_alpha
    return _ndtr(z0 + num1 / (1 - a_hat * num1)), _ndtr(z0 + num2 / (1 - a_hat * num2))


# The normal distribution's functions and quantiles scipy's bootstrap uses,
# from the standard library and numpy: importing scipy.stats cost every
# worker and producer half a second of start-up for these three.
_NORMAL = NormalDist()


def _ndtr(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The standard normal CDF, element by element (NaN stays NaN)."""
    return np.array([_NORMAL.cdf(v) for v in x.tolist()], dtype=np.float64)


def _ndtri(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """The standard normal quantile function; -inf at 0, +inf at 1, as scipy's `ndtri`."""
    return np.array(
        [-np.inf if v <= 0 else np.inf if v >= 1 else _NORMAL.inv_cdf(v) for v in p.tolist()],
        dtype=np.float64,
    )


def _quantiles(theta_b: NDArray[np.float64], levels: NDArray[np.float64]) -> NDArray[np.float64]:
    """Row k's quantiles at `levels[k]` (linear interpolation); NaN where a level is NaN."""
    out = np.full(levels.shape, np.nan)
    for k in range(levels.shape[0]):
        ok = ~np.isnan(levels[k])
        if ok.any():
            out[k, ok] = np.quantile(theta_b[k], levels[k, ok])
    return out


def _safe_ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), not {confidence}")
