"""Change points in a configuration's snapshot history (F1, latency, cost).

E-divisive means (Matteson and James, "A Nonparametric Approach for
Multiple Change Point Analysis of Multivariate Data", JASA 2014), the method
of MongoDB's `signal-processing-algorithms` and of Apache Otava's original
detector:

1. in every segment of the series (at first, the whole series), the split
   point that maximises the energy statistic between the values before and
   after it is the candidate (the energy statistic is 0 when both sides come
   from the same distribution, and grows with any difference, in level or in
   spread);
2. a permutation test asks whether a split that large could come from
   shuffled segments: the values of every segment are shuffled, the largest
   statistic over all segments recomputed, `permutations` times. Because
   every shuffle searches for its best split too, the p-value accounts for
   the search, which a t-test on a split found by searching does not;
3. a significant candidate becomes a change point and the process repeats on
   the new segments; the first candidate that is not significant stops it.

No well-kept implementation could be a dependency: MongoDB's pins numpy < 2
and Python 3.11, Otava pins numpy 2.2 and scipy < 1.17 and brings cloud
clients; ruptures (installable) has no significance test, and its
candidates with Otava's t-test merge raised false change points on long
flat series. docs/verdicts.md has the comparison on series with known shifts.
This implementation is numpy, vectorised over split points and shuffles,
and is checked against MongoDB's on the same series (bench/changepoints.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

__all__ = ["ChangePoint", "detect_changes"]

# Shuffles evaluated in one array: chunk x n x n doubles (10 MB for 200 points).
_CHUNK = 32


class ChangePoint(BaseModel):
    """A shift in the level of a series between two snapshot versions."""

    index: int
    """Position in the (version-sorted) series of the first value after the change."""
    version: int
    """Snapshot version of the first value after the change."""
    previous_version: int
    """Snapshot version of the last value before the change."""
    before: float
    """Mean of the segment before the change (back to the previous change point)."""
    after: float
    """Mean of the segment after the change (up to the next change point)."""
    change: float
    """after - before."""
    relative_change: float | None
    """change / |before|; None when before is 0."""
    p_value: float
    """Permutation p-value of this split when it was accepted (smaller: more certain)."""
    before_count: int
    after_count: int


def detect_changes(
    points: Sequence[tuple[int, float | None]],
    *,
    max_p_value: float = 0.01,
    permutations: int = 199,
    min_size: int = 3,
    seed: int = 0,
) -> list[ChangePoint]:
    """Change points of a series of (snapshot version, value), oldest first.

    Points are sorted by version; a None value (a snapshot without that
    metric) is skipped. A split is accepted when its permutation p-value,
    (1 + shuffles at least as extreme) / (1 + `permutations`), is at most
    `max_p_value`; every segment keeps at least `min_size` points, so a new
    level is seen once `min_size` snapshots show it. Fewer than
    2 * `min_size` values have no change point. The shuffles are drawn from
    `seed`: the same series gives the same change points.
    """
    if not 0.0 < max_p_value < 1.0:
        raise ValueError(f"max_p_value must be between 0 and 1, not {max_p_value}")
    if permutations < 1 or min_size < 1:
        raise ValueError("permutations and min_size must be at least 1")
    present = sorted((v, float(x)) for v, x in points if x is not None)
    versions = [v for v, _ in present]
    if len(set(versions)) != len(versions):
        raise ValueError("each snapshot version may appear once in a series")
    values = np.array([x for _, x in present], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("a series value is not a finite number")

    rng = np.random.default_rng(seed)
    found: dict[int, float] = {}
    while True:
        edges = [0, *sorted(found), values.size]
        segments = [(a, b) for a, b in pairwise(edges) if b - a >= 2 * min_size]
        best: tuple[float, int] | None = None
        for a, b in segments:
            q = _split_statistics(values[a:b][None, :], min_size)[0]
            k = int(np.argmax(q))
            if best is None or q[k] > best[0]:
                best = (float(q[k]), a + min_size + k)
        if best is None or best[0] <= 0.0:
            break
        p = _permutation_p(values, segments, best[0], permutations, min_size, rng, max_p_value)
        if p > max_p_value:
            break
        found[best[1]] = p

    return _describe(values, versions, found)


def _split_statistics(samples: NDArray[np.float64], min_size: int) -> NDArray[np.float64]:
    """Energy statistic of every allowed split of each row of `samples` (rows x splits).

    For a split into X (n values) and Y (m values): q = n m / (n + m) *
    (2 mean|x - y| - mean|x - x'| - mean|y - y'|), the means over all pairs
    (the V-statistic form MongoDB's implementation uses). Sums over the
    blocks of the distance matrix come from its 2-D prefix sums, so every
    split point costs O(1) after one O(L^2) pass.
    """
    rows, length = samples.shape
    distances = np.abs(samples[:, :, None] - samples[:, None, :])
    prefix = np.zeros((rows, length + 1, length + 1))
    prefix[:, 1:, 1:] = distances.cumsum(axis=1).cumsum(axis=2)
    tau = np.arange(min_size, length - min_size + 1)
    left_left = prefix[:, tau, tau]
    left_all = prefix[:, tau, length]
    all_all = prefix[:, length, length][:, None]
    cross = left_all - left_left
    right_right = all_all - 2 * left_all + left_left
    n = tau.astype(np.float64)
    m = length - n
    energy = 2 * cross / (n * m) - left_left / n**2 - right_right / m**2
    stats: NDArray[np.float64] = n * m / (n + m) * energy
    return stats


def _permutation_p(
    values: NDArray[np.float64],
    segments: list[tuple[int, int]],
    observed: float,
    permutations: int,
    min_size: int,
    rng: np.random.Generator,
    max_p_value: float,
) -> float:
    """(1 + shuffles at least as extreme) / (1 + permutations); early out once above the bar.

    Each shuffle permutes every segment (the null: no change left anywhere)
    and keeps the largest best split over all of them, as the observation
    did. Once so many shuffles were as extreme that the p-value cannot come
    back under `max_p_value`, the rest are not drawn: the decision is the
    same, and a flat series (the usual case) costs a few chunks, not all.
    """
    limit = max_p_value * (1 + permutations) - 1  # most extreme shuffles still significant
    extreme = 0
    for start in range(0, permutations, _CHUNK):
        count = min(_CHUNK, permutations - start)
        best = np.zeros(count)
        for a, b in segments:
            shuffled = rng.permuted(np.tile(values[a:b], (count, 1)), axis=1)
            best = np.maximum(best, _split_statistics(shuffled, min_size).max(axis=1))
        # Ties count against the change (a shuffle as extreme as the observation).
        extreme += int(np.count_nonzero(best >= observed * (1 - 1e-12)))
        if extreme > limit:
            break
    return (1 + extreme) / (1 + permutations)


def _describe(
    values: NDArray[np.float64], versions: list[int], found: dict[int, float]
) -> list[ChangePoint]:
    cuts = sorted(found)
    edges = [0, *cuts, values.size]
    result = []
    for k, cut in enumerate(cuts):
        left, right = values[edges[k] : cut], values[cut : edges[k + 2]]
        before, after = float(left.mean()), float(right.mean())
        result.append(
            ChangePoint(
                index=cut,
                version=versions[cut],
                previous_version=versions[cut - 1],
                before=before,
                after=after,
                change=after - before,
                relative_change=(after - before) / abs(before) if before != 0 else None,
                p_value=found[cut],
                before_count=left.size,
                after_count=right.size,
            )
        )
    return result
