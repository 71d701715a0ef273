"""Confidence intervals for a run's micro-averaged precision, recall and F1.

A run's scores are micro-averages over its cases (ΣTP/(ΣTP+ΣFP) and so on,
see `benchq.scoring.aggregate`), so the honest interval resamples *cases*
and recomputes the scores exactly as they are computed: a nonparametric
bootstrap over cases (`scipy.stats.bootstrap`, BCa intervals, paired so a
case's TP, FP and FN stay together).

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

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats as sps

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


def _bootstrap(
    data: NDArray[np.float64],
    confidence: float,
    resamples: int,
    seed: int,
    method: BootstrapMethod,
    point: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    def statistic(
        tp: NDArray[np.float64], fp: NDArray[np.float64], fn: NDArray[np.float64], axis: int
    ) -> NDArray[np.float64]:
        sums = np.stack([tp.sum(axis=axis), fp.sum(axis=axis), fn.sum(axis=axis)], axis=-1)
        # scipy wants the outputs first, resamples last.
        return np.moveaxis(micro_scores(sums), -1, 0)

    with warnings.catch_warnings():
        # BCa warns and returns NaN for a score that no resample moves
        # (e.g. precision stuck at 1); handled below, the warning is noise.
        warnings.simplefilter("ignore", category=sps.DegenerateDataWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)
        result: Any = sps.bootstrap(
            (data[:, 0], data[:, 1], data[:, 2]),
            statistic,
            paired=True,
            vectorized=True,
            n_resamples=resamples,
            confidence_level=confidence,
            method=method,
            rng=np.random.default_rng(seed),
        )
    low = np.asarray(result.confidence_interval.low, dtype=np.float64)
    high = np.asarray(result.confidence_interval.high, dtype=np.float64)
    # A NaN end means the score did not vary over the resamples: it is the point.
    low = np.where(np.isnan(low), point, low)
    high = np.where(np.isnan(high), point, high)
    # An interval always contains the score it is about (BCa can miss it by a rounding).
    return np.minimum(low, point), np.maximum(high, point)


def _safe_ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), not {confidence}")
