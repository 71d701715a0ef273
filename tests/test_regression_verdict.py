"""The paired comparison and the regression verdict (benchq.regression.paired, .verdict)."""

from __future__ import annotations

import pydantic
import pytest
from scipy import stats as sps

from benchq.regression.paired import compare_paired
from benchq.regression.stats import CaseOutcome, case_rates
from benchq.regression.verdict import VerdictRule, paired_verdict
from benchq.scoring.schema import CaseResult

RIGHT = CaseOutcome(true_positives=1, false_positives=0, false_negatives=0)
# A wrong answer: the model named another issue type (one FP and one FN).
WRONG = CaseOutcome(true_positives=0, false_positives=1, false_negatives=1)

Runs = dict[str, list[CaseOutcome]]


def paired_table(both: int, worse: int, better: int, neither: int) -> tuple[Runs, Runs]:
    """A baseline and a current run of one-issue cases from McNemar's 2x2 table.

    `both` right in both runs, `worse` right only in the baseline, `better`
    right only in the current run, `neither` wrong in both. Case ids say which.
    """
    base: Runs = {}
    cur: Runs = {}
    cells = [("both", RIGHT, RIGHT, both), ("worse", RIGHT, WRONG, worse)]
    cells += [("better", WRONG, RIGHT, better), ("neither", WRONG, WRONG, neither)]
    for name, b, c, count in cells:
        for i in range(count):
            base[f"{name}-{i:03d}"] = [b]
            cur[f"{name}-{i:03d}"] = [c]
    return base, cur


def test_textbook_mcnemar_example_exact_and_mid_p() -> None:
    # Fagerland, Lydersen and Laake, "The McNemar test for binary matched-pairs
    # data: mid-p and asymptotic are better than exact conditional", BMC
    # Medical Research Methodology 13:91 (2013), Table 1 (data of Bentur et
    # al. 2009): 21 children, 1 with AHR before and after, 1 before only,
    # 7 after only, 12 never. Their two-sided p-values: exact conditional
    # 0.070 (= 2 * 9/256), mid-p 0.039 (= 2 * 5/256). On one-issue cases the
    # paired permutation test is that McNemar test, one-sided.
    base, cur = paired_table(both=1, worse=1, better=7, neither=12)
    exact = compare_paired(case_rates(base), case_rates(cur), mid_p=False)
    mid = compare_paired(case_rates(base), case_rates(cur))
    assert exact.exact and mid.exact
    assert exact.changed_cases == 8
    assert exact.p_value == pytest.approx(9 / 256)
    assert 2 * exact.p_value == pytest.approx(0.070, abs=0.0005)
    assert 2 * exact.p_value == pytest.approx(sps.binomtest(1, 8, 0.5).pvalue)
    assert mid.p_value == pytest.approx(5 / 256)
    assert 2 * mid.p_value == pytest.approx(0.039, abs=0.0005)
    assert mid.delta == pytest.approx(6 / 21)
    assert [c.case_id for c in mid.worse] == ["worse-000"]
    assert sorted(c.case_id for c in mid.better) == [f"better-{i:03d}" for i in range(7)]


def test_monte_carlo_p_value_agrees_with_the_binomial() -> None:
    # 60 changed cases (too many to enumerate): 40 worse, 20 better.
    base, cur = paired_table(both=100, worse=40, better=20, neither=40)
    result = compare_paired(case_rates(base), case_rates(cur), permutations=20000, seed=3)
    exact = compare_paired(case_rates(base), case_rates(cur), permutations=20000, mid_p=False)
    assert not result.exact
    mid_p = sps.binom.cdf(20, 60, 0.5) - 0.5 * sps.binom.pmf(20, 60, 0.5)
    assert result.p_value == pytest.approx(mid_p, abs=0.002)
    assert exact.p_value == pytest.approx(sps.binom.cdf(20, 60, 0.5), abs=0.002)
    assert result.delta == pytest.approx(-20 / 200)
    low, high = result.delta_ci
    assert low < result.delta < high < 0


def test_the_same_seed_gives_the_same_comparison() -> None:
    base, cur = paired_table(both=100, worse=40, better=20, neither=40)
    a = compare_paired(case_rates(base), case_rates(cur), seed=9)
    b = compare_paired(case_rates(base), case_rates(cur), seed=9)
    c = compare_paired(case_rates(base), case_rates(cur), seed=10)
    assert a == b
    assert (a.p_value, a.delta_ci) != (c.p_value, c.delta_ci)


def test_worse_cases_are_named_most_harmful_first() -> None:
    # Losing two true positives hurts more than losing one.
    base: Runs = {
        "lost-two": [CaseOutcome(true_positives=2, false_positives=0, false_negatives=0)],
        "lost-one": [CaseOutcome(true_positives=1, false_positives=0, false_negatives=0)],
        "same": [RIGHT],
        "fixed": [WRONG],
    }
    cur: Runs = {
        "lost-two": [CaseOutcome(true_positives=0, false_positives=0, false_negatives=2)],
        "lost-one": [CaseOutcome(true_positives=0, false_positives=0, false_negatives=1)],
        "same": [RIGHT],
        "fixed": [RIGHT],
    }
    result = compare_paired(case_rates(base), case_rates(cur))
    assert [c.case_id for c in result.worse] == ["lost-two", "lost-one"]
    assert result.worse[0].effect < result.worse[1].effect < 0
    assert [c.case_id for c in result.better] == ["fixed"]
    assert result.changed_cases == 3


def test_a_significant_drop_beyond_the_threshold_is_a_regression() -> None:
    base, cur = paired_table(both=120, worse=30, better=5, neither=45)
    verdict = paired_verdict(base, cur)
    assert verdict.status == "regression" and verdict.regressed
    assert verdict.rule == "paired" and verdict.fallback_reason is None
    assert verdict.delta == pytest.approx(-25 / 200)
    assert verdict.p_value is not None and verdict.p_value < 0.01
    assert verdict.interval is not None and verdict.interval[1] < 0
    assert (verdict.threshold, verdict.alpha, verdict.n_cases) == (0.05, 0.01, 200)
    assert len(verdict.worse) == 30 and len(verdict.better) == 5
    assert verdict.worse[0].startswith("worse-")
    assert verdict.text.startswith("regression: F1 0.750 -> 0.625 (-0.125")
    assert "200 paired cases; 30 worse, 5 better" in verdict.text


def test_a_large_drop_chance_could_explain_is_inconclusive() -> None:
    # 10 cases, 1 flipped: a drop of 0.10, but one flip in one is a coin toss.
    base, cur = paired_table(both=5, worse=1, better=0, neither=4)
    verdict = paired_verdict(base, cur)
    assert verdict.delta == pytest.approx(-0.1)
    assert verdict.status == "inconclusive"
    assert not verdict.regressed
    assert verdict.text.startswith("inconclusive")


def test_small_or_no_changes_are_ok_and_large_gains_improved() -> None:
    base, cur = paired_table(both=150, worse=6, better=4, neither=40)
    assert paired_verdict(base, cur).status == "ok"
    base, cur = paired_table(both=120, worse=5, better=30, neither=45)
    assert paired_verdict(base, cur).status == "improved"
    same, _ = paired_table(both=10, worse=0, better=0, neither=3)
    verdict = paired_verdict(same, same)
    assert (verdict.status, verdict.p_value, verdict.delta) == ("ok", 1.0, 0.0)
    assert verdict.worse == [] and verdict.better == []


def test_a_drop_of_exactly_the_threshold_is_not_a_regression() -> None:
    # 400 cases, 20 right -> wrong: a drop of exactly 0.05, significant
    # (p = 2^-20), yet not more than the threshold.
    base, cur = paired_table(both=280, worse=20, better=0, neither=100)
    verdict = paired_verdict(base, cur)
    assert verdict.delta == pytest.approx(-0.05)
    assert verdict.p_value is not None and verdict.p_value < 1e-4
    assert verdict.status == "ok"
    assert paired_verdict(base, cur, VerdictRule(threshold=0.049)).status == "regression"
    # One more case worse: a drop of 0.0525, a regression.
    base, cur = paired_table(both=279, worse=21, better=0, neither=100)
    assert paired_verdict(base, cur).status == "regression"


def test_different_cases_fall_back_to_the_original_rule() -> None:
    base, _ = paired_table(both=15, worse=0, better=0, neither=5)  # F1 0.75
    cur = {k: list(v) for k, v in base.items() if k != "both-014"}
    cur["both-000"] = cur["both-001"] = [WRONG]  # F1 12/19 = 0.632
    verdict = paired_verdict(base, cur)
    assert verdict.rule == "original"
    assert verdict.status == "regression"
    assert verdict.fallback_reason == "the cases differ: 1 baseline case not in the current run"
    assert (verdict.p_value, verdict.interval, verdict.alpha) == (None, None, None)
    assert (verdict.baseline_cases, verdict.current_cases) == (20, 19)
    assert verdict.delta == pytest.approx(12 / 19 - 0.75)
    assert "original rule; the cases differ" in verdict.text
    # A new case added on top: still a fallback, and it says so.
    cur["extra"] = [RIGHT]
    verdict = paired_verdict(base, cur)
    assert verdict.fallback_reason == (
        "the cases differ: 1 baseline case not in the current run, "
        "1 current case not in the baseline"
    )


def test_original_rule_boundary_exactly_the_threshold_is_ok() -> None:
    # Baseline 15 of 20 right (F1 0.75), current 14 of 20 right but under
    # other case ids (F1 0.70): a drop of exactly 0.05 is not a regression.
    base, _ = paired_table(both=15, worse=0, better=0, neither=5)
    cur = {f"other-{i}": [RIGHT if i < 14 else WRONG] for i in range(20)}
    verdict = paired_verdict(base, cur)
    assert verdict.rule == "original"
    assert verdict.delta == pytest.approx(-0.05)
    assert 0.75 - 0.70 > 0.05  # in floats; the original compared decimals
    assert verdict.status == "ok"
    assert "not more than 0.05" in verdict.text
    # One more wrong case: a drop of 0.10, a regression.
    cur["other-13"] = [WRONG]
    assert paired_verdict(base, cur).status == "regression"


def test_a_different_ground_truth_falls_back_even_with_the_same_ids() -> None:
    base, cur = paired_table(both=100, worse=30, better=0, neither=70)
    verdict = paired_verdict(base, cur, same_ground_truth=False)
    assert verdict.rule == "original"
    assert verdict.fallback_reason == "the ground truth differs"
    assert verdict.status == "regression"
    assert verdict.worse == []  # cases are not compared when the truth differs


def test_repeats_are_compared_as_per_case_rates() -> None:
    # 40 cases right 3 times in 3 in the baseline, 2 in 3 now: each case only
    # wobbles, together a drop of 1/3 of 40 of 60 cases.
    base: Runs = {f"c{i:02d}": [RIGHT, RIGHT, RIGHT] for i in range(40)}
    cur: Runs = {f"c{i:02d}": [RIGHT, WRONG, RIGHT] for i in range(40)}
    for i in range(40, 60):
        base[f"c{i:02d}"] = [WRONG, WRONG, WRONG]
        cur[f"c{i:02d}"] = [WRONG, WRONG, WRONG]
    verdict = paired_verdict(base, cur)
    assert verdict.delta == pytest.approx((40 * 2 / 3) / 60 - 40 / 60)
    assert verdict.status == "regression"
    assert len(verdict.worse) == 40
    # As single runs the wobble could be missed: the first repeat alone shows nothing.
    first = paired_verdict({k: v[:1] for k, v in base.items()}, {k: v[:1] for k, v in cur.items()})
    assert first.status == "ok"


def test_case_results_from_scoring_are_outcomes() -> None:
    def result(name: str, tp: int, fp: int, fn: int) -> CaseResult:
        return CaseResult(
            document_name=name,
            document_type="medical_bill",
            extraction_success=True,
            true_positives=tp,
            false_positives=fp,
            false_negatives=fn,
        )

    base = {f"d{i}": [result(f"d{i}", 1, 0, 0)] for i in range(30)}
    cur = {
        f"d{i}": [result(f"d{i}", 1 if i >= 12 else 0, 0, 0 if i >= 12 else 1)] for i in range(30)
    }
    verdict = paired_verdict(base, cur)
    assert verdict.status == "regression"
    assert verdict.worse[:2] == ["d0", "d1"]


def test_bad_settings_name_their_field() -> None:
    with pytest.raises(pydantic.ValidationError, match="alpha"):
        VerdictRule(alpha=1.5)
    with pytest.raises(pydantic.ValidationError, match="threshold"):
        VerdictRule(threshold=-0.1)
    with pytest.raises(ValueError, match="same cases"):
        a, b = paired_table(both=1, worse=0, better=0, neither=0), paired_table(0, 0, 0, 1)
        compare_paired(case_rates(a[0]), case_rates(b[0]))


def test_a_monte_carlo_p_value_is_never_zero() -> None:
    # Every one of 100 cases got worse: no random swap is as extreme, and the
    # observation itself still counts as one resample.
    base, cur = paired_table(both=0, worse=100, better=0, neither=0)
    exact = compare_paired(case_rates(base), case_rates(cur), permutations=999, mid_p=False)
    mid = compare_paired(case_rates(base), case_rates(cur), permutations=999)
    assert not exact.exact
    assert exact.p_value == pytest.approx(1 / 1000)
    assert mid.p_value == pytest.approx(0.5 / 1000)


def test_a_large_gain_chance_could_explain_is_only_ok() -> None:
    base, cur = paired_table(both=4, worse=0, better=1, neither=5)
    verdict = paired_verdict(base, cur)
    assert verdict.delta == pytest.approx(0.1)
    assert verdict.status == "ok"
