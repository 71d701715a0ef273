"""Bootstrap intervals of a run's micro precision, recall and F1 (benchq.regression.stats)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from benchq.regression.stats import (
    CaseOutcome,
    case_rates,
    group_outcomes,
    micro_scores,
    score_intervals,
)
from benchq.scoring.aggregate import aggregate, micro_prf
from benchq.scoring.schema import CaseResult

RIGHT = CaseOutcome(true_positives=1, false_positives=0, false_negatives=0)
# A wrong answer: the model named another issue type (one FP and one FN).
WRONG = CaseOutcome(true_positives=0, false_positives=1, false_negatives=1)


def right_wrong(n_right: int, n_wrong: int) -> dict[str, list[CaseOutcome]]:
    """One run of one-issue cases: precision = recall = F1 = the share right."""
    cases = [RIGHT] * n_right + [WRONG] * n_wrong
    return {f"case-{i:04d}": [o] for i, o in enumerate(cases)}


def test_micro_scores_are_the_aggregate_formulas() -> None:
    rng = np.random.default_rng(3)
    sums = rng.integers(0, 6, size=(200, 3)).astype(np.float64)
    sums[:5] = [[0, 0, 0], [0, 3, 0], [0, 0, 2], [4, 0, 0], [0, 1, 1]]  # zero denominators
    got = micro_scores(sums)
    for row, (p, r, f) in zip(sums, got, strict=True):
        assert (p, r, f) == pytest.approx(micro_prf(int(row[0]), int(row[1]), int(row[2])))


def test_point_scores_equal_the_runs_aggregate() -> None:
    results = [
        CaseResult(
            document_name=f"doc{i}",
            document_type="medical_bill",
            extraction_success=True,
            true_positives=tp,
            false_positives=fp,
            false_negatives=fn,
        )
        for i, (tp, fp, fn) in enumerate([(2, 0, 1), (0, 1, 0), (1, 1, 0), (3, 0, 0), (0, 0, 2)])
    ]
    # A scoring CaseResult is an outcome as it is.
    rates = case_rates(group_outcomes((r.document_name, r) for r in results))
    ci = score_intervals(rates, seed=1)
    agg = aggregate("m", results)
    assert (ci.precision, ci.recall, ci.f1) == pytest.approx(
        (agg.issue_precision, agg.issue_recall, agg.issue_f1_score)
    )
    for low, high in (ci.precision_ci, ci.recall_ci, ci.f1_ci):
        assert 0.0 <= low <= high <= 1.0
    assert ci.precision_ci[0] <= ci.precision <= ci.precision_ci[1]
    assert ci.f1_ci[0] <= ci.f1 <= ci.f1_ci[1]


def test_percentile_bootstrap_matches_its_known_distribution() -> None:
    # For right/wrong cases F1 is the share right, so resampling n cases
    # gives F1 ~ Binomial(n, share)/n: the percentile interval must be that
    # distribution's 2.5 % and 97.5 % quantiles.
    n, right = 100, 80
    ci = score_intervals(
        case_rates(right_wrong(right, n - right)),
        resamples=20000,
        seed=7,
        method="percentile",
    )
    expected = sps.binom.ppf([0.025, 0.975], n, right / n) / n
    assert ci.f1 == pytest.approx(0.8)
    assert ci.f1_ci == pytest.approx(tuple(expected), abs=0.011)
    assert ci.precision_ci == pytest.approx(ci.f1_ci)
    assert ci.recall_ci == pytest.approx(ci.f1_ci)


def test_bca_interval_is_close_to_the_wilson_interval() -> None:
    # BCa (the default) on a share: close to the Wilson score interval.
    n, right = 200, 150
    ci = score_intervals(case_rates(right_wrong(right, n - right)), seed=11)
    z = sps.norm.ppf(0.975)
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert ci.method == "BCa"
    assert ci.f1_ci == pytest.approx((centre - half, centre + half), abs=0.012)


def test_a_fixed_seed_gives_the_same_interval_and_another_seed_another() -> None:
    rng = np.random.default_rng(0)
    data = rng.integers(0, 3, size=(300, 3)).astype(np.float64)
    a = score_intervals(data, seed=42)
    b = score_intervals(data, seed=42)
    c = score_intervals(data, seed=43)
    assert a == b
    assert (a.precision_ci, a.recall_ci, a.f1_ci) != (c.precision_ci, c.recall_ci, c.f1_ci)
    # Case order does not matter once cases are keyed by id (sorted).
    outcomes = {
        f"c{i}": [CaseOutcome(true_positives=t, false_positives=p, false_negatives=f)]
        for i, (t, p, f) in enumerate(data.astype(int))
    }
    shuffled = dict(reversed(list(outcomes.items())))
    assert score_intervals(case_rates(outcomes), seed=5) == score_intervals(
        case_rates(shuffled), seed=5
    )


def test_more_cases_give_a_narrower_interval() -> None:
    small = score_intervals(case_rates(right_wrong(40, 10)), seed=1)
    large = score_intervals(case_rates(right_wrong(800, 200)), seed=1)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(large.f1_ci) < width(small.f1_ci) / 3


def test_repeats_become_per_case_rates_with_equal_weight() -> None:
    outcomes = {
        "a": [RIGHT, WRONG, RIGHT],  # right two times in three
        "b": [WRONG],
    }
    rates = case_rates(outcomes)
    assert rates.case_ids == ("a", "b")
    assert rates.repeats.tolist() == [3, 1]
    np.testing.assert_allclose(rates.rates, [[2 / 3, 1 / 3, 1 / 3], [0, 1, 1]])
    # Case a weighs as one case, not three: ΣTP = 2/3, ΣFP = ΣFN = 4/3, so F1 = 1/3
    # (pooling the four outcomes instead would give 1/2).
    assert score_intervals(rates).f1 == pytest.approx(1 / 3)


def test_scores_no_resample_moves_have_a_point_interval() -> None:
    # No true positive anywhere: every resample scores 0.
    none_found = {
        f"c{i}": [CaseOutcome(true_positives=0, false_positives=0, false_negatives=1)]
        for i in range(30)
    }
    ci = score_intervals(case_rates(none_found), seed=2)
    assert (ci.precision_ci, ci.recall_ci, ci.f1_ci) == ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0))
    # No false positive: precision is 1 in every resample, recall varies.
    cases = {
        f"c{i}": [CaseOutcome(true_positives=1, false_positives=0, false_negatives=i % 2)]
        for i in range(40)
    }
    ci = score_intervals(case_rates(cases), seed=2)
    assert ci.precision_ci == (1.0, 1.0)
    assert ci.recall_ci[0] < ci.recall < ci.recall_ci[1]


def test_no_cases_and_one_case() -> None:
    empty = score_intervals(np.zeros((0, 3)))
    assert (empty.f1, empty.f1_ci, empty.n_cases) == (0.0, (0.0, 0.0), 0)
    one = score_intervals(case_rates({"x": [RIGHT]}))
    assert (one.f1, one.f1_ci) == (1.0, (1.0, 1.0))


def test_bad_input_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="shape"):
        score_intervals(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="confidence"):
        score_intervals(np.ones((4, 3)), confidence=1.0)
    with pytest.raises(ValueError, match="'lost'"):
        case_rates({"lost": []})


def test_a_negative_count_names_its_case() -> None:
    class Broken:
        true_positives = 1
        false_positives = -1
        false_negatives = 0

    with pytest.raises(ValueError, match="'b' has a negative count"):
        case_rates({"a": [RIGHT], "b": [Broken()], "c": [WRONG]})


def _scipy_intervals(data: np.ndarray, seed: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """`scipy.stats.bootstrap` of the micro scores, paired, as the module once called it."""

    def statistic(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, axis: int) -> np.ndarray:
        sums = np.stack([tp.sum(axis=axis), fp.sum(axis=axis), fn.sum(axis=axis)], axis=-1)
        return np.moveaxis(micro_scores(sums), -1, 0)

    result = sps.bootstrap(
        (data[:, 0], data[:, 1], data[:, 2]),
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=2000,
        method=method,
        rng=np.random.default_rng(seed),
    )
    return result.confidence_interval.low, result.confidence_interval.high


@pytest.mark.parametrize("method", ["BCa", "percentile"])
@pytest.mark.parametrize("cases", [30, 1500])
def test_the_intervals_are_scipys_bootstrap(
    method: str, cases: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module computes what scipy.stats.bootstrap computes (same stream,
    # same BCa formulas) in linear time; drawing in small batches must not
    # change the stream either.
    import benchq.regression.stats as stats

    monkeypatch.setattr(stats, "_DRAW_ELEMENTS", cases * 7)
    rng = np.random.default_rng(cases)
    data = rng.integers(0, 4, size=(cases, 3)) / rng.integers(1, 4, size=(cases, 1))
    ours = score_intervals(data, seed=3, method=method)  # type: ignore[arg-type]
    low, high = _scipy_intervals(data, 3, method)
    got = np.array([ours.precision_ci, ours.recall_ci, ours.f1_ci])
    assert got[:, 0] == pytest.approx(low, rel=1e-9, abs=1e-12)
    assert got[:, 1] == pytest.approx(high, rel=1e-9, abs=1e-12)
