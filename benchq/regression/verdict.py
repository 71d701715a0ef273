"""The regression verdict: is the current run worse than the baseline, for real?

The default rule (`paired`) needs both runs to have scored the same cases
against the same ground truth. It compares them case by case
(`benchq.regression.paired`) and says:

* "regression" when F1 dropped by more than `threshold` (absolute, 0.05 as
  in the original) *and* the paired permutation test finds the drop
  significant at `alpha` (default 0.01, one-sided);
* "inconclusive" when F1 dropped by more than `threshold` but chance could
  have done it;
* "improved" when F1 rose by more than `threshold`, significantly;
* "ok" otherwise.

When the case sets differ, or the caller says the ground truth differs, no
case-by-case comparison means anything, and the verdict falls back to the
original's rule (`original`, `benchq.regression.original.f1_regressed`): a
regression when baseline F1 - current F1 is more than `threshold`, exactly
`threshold` not being one; the verdict says that it fell back and why.

"More than `threshold`" is decided as the original did, on both F1 values
at four decimal places in exact decimals, under both rules: 0.75 - 0.70 is
0.05000000000000004 in floats, and not a regression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from benchq.regression.original import f1_regressed
from benchq.regression.paired import PairedComparison, compare_paired
from benchq.regression.stats import CaseCounts, Interval, case_rates, micro_scores

__all__ = ["Verdict", "VerdictRule", "VerdictStatus", "original_verdict", "paired_verdict"]

VerdictStatus = Literal["regression", "inconclusive", "ok", "improved"]


class VerdictRule(BaseModel):
    """The settings of a verdict; validated, so a bad flag names its field."""

    model_config = ConfigDict(frozen=True)

    threshold: float = Field(default=0.05, ge=0.0, le=1.0)
    """Largest tolerated F1 drop (absolute, 0-1 scale); exactly this is not a regression."""
    alpha: float = Field(default=0.01, gt=0.0, lt=1.0)
    """Significance level of the one-sided paired test."""
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    """Coverage of the interval reported for the F1 difference."""
    resamples: int = Field(default=2000, ge=1)
    """Bootstrap resamples for the interval of the F1 difference."""
    permutations: int = Field(default=9999, ge=1)
    """Random swap patterns of the permutation test (when too many cases changed to enumerate)."""
    seed: int = 0
    """Seed of the bootstrap and the permutation test: same inputs, same verdict."""
    mid_p: bool = True
    """Mid-p value (ties count half); False: the exact conditional p-value (more cautious)."""


class Verdict(BaseModel):
    """The regression verdict of a current run against its baseline."""

    status: VerdictStatus
    rule: Literal["paired", "original"]
    """`paired`: case by case with a test; `original`: the original's F1 difference alone."""
    fallback_reason: str | None = None
    """Why the paired rule could not be used (set exactly when `rule` is `original`)."""
    threshold: float
    alpha: float | None
    """The test's level; None under the original rule, which has no test."""
    baseline_f1: float
    current_f1: float
    delta: float
    """current F1 - baseline F1 (negative: a drop)."""
    interval: Interval | None
    """Paired bootstrap interval of `delta` at `confidence`; None under the original rule."""
    confidence: float | None
    p_value: float | None
    """One-sided paired permutation p-value in the direction of `delta`; None under `original`."""
    n_cases: int
    """Cases compared (paired), or the current run's cases (original)."""
    baseline_cases: int
    current_cases: int
    worse: list[str] = Field(default_factory=list)
    """Case ids that lowered F1, most harmful first (paired rule only)."""
    better: list[str] = Field(default_factory=list)
    """Case ids that raised F1, most helpful first (paired rule only)."""
    text: str
    """One line for a person: the status and the figures behind it."""

    @property
    def regressed(self) -> bool:
        """True when the verdict is a regression (what a CI gate fails on)."""
        return self.status == "regression"


def paired_verdict(
    baseline: Mapping[str, Sequence[CaseCounts]],
    current: Mapping[str, Sequence[CaseCounts]],
    rule: VerdictRule | None = None,
    *,
    same_ground_truth: bool = True,
) -> Verdict:
    """The verdict of `current` against `baseline`, each a map case id -> outcomes.

    Each case maps to its outcomes, one per repeat (one for a single run);
    a scoring `CaseResult` is an outcome. Pass `same_ground_truth=False` when
    the two runs' datasets differ in content even though case ids match:
    the verdict then falls back to the original rule. Deterministic for a
    given `rule.seed`.
    """
    rule = rule or VerdictRule()
    base_ids, cur_ids = set(baseline), set(current)
    reason = _fallback_reason(base_ids, cur_ids, same_ground_truth)
    if reason is not None:
        return _original_verdict(baseline, current, rule, reason)

    comparison = compare_paired(
        case_rates(baseline),
        case_rates(current),
        confidence=rule.confidence,
        resamples=rule.resamples,
        permutations=rule.permutations,
        seed=rule.seed,
        mid_p=rule.mid_p,
    )
    status = _paired_status(comparison, rule)
    return Verdict(
        status=status,
        rule="paired",
        threshold=rule.threshold,
        alpha=rule.alpha,
        baseline_f1=comparison.baseline_f1,
        current_f1=comparison.current_f1,
        delta=comparison.delta,
        interval=comparison.delta_ci,
        confidence=rule.confidence,
        p_value=comparison.p_value,
        n_cases=comparison.n_cases,
        baseline_cases=len(base_ids),
        current_cases=len(cur_ids),
        worse=[c.case_id for c in comparison.worse],
        better=[c.case_id for c in comparison.better],
        text=_paired_text(status, comparison, rule),
    )


def _paired_status(c: PairedComparison, rule: VerdictRule) -> VerdictStatus:
    significant = c.p_value <= rule.alpha
    # "More than the threshold" is the original's comparison (four decimal
    # places, exact), so both rules agree on what a large drop is.
    if f1_regressed(c.baseline_f1, c.current_f1, rule.threshold):
        return "regression" if significant else "inconclusive"
    if f1_regressed(c.current_f1, c.baseline_f1, rule.threshold) and significant:
        return "improved"
    return "ok"


def _fallback_reason(base_ids: set[str], cur_ids: set[str], same_ground_truth: bool) -> str | None:
    if not same_ground_truth:
        return "the ground truth differs"
    if base_ids == cur_ids:
        return None
    missing, added = len(base_ids - cur_ids), len(cur_ids - base_ids)
    parts = []
    if missing:
        parts.append(f"{missing} baseline case{_s(missing)} not in the current run")
    if added:
        parts.append(f"{added} current case{_s(added)} not in the baseline")
    return "the cases differ: " + ", ".join(parts)


def _original_verdict(
    baseline: Mapping[str, Sequence[CaseCounts]],
    current: Mapping[str, Sequence[CaseCounts]],
    rule: VerdictRule,
    reason: str,
) -> Verdict:
    return original_verdict(
        _f1(baseline),
        _f1(current),
        rule,
        reason,
        baseline_cases=len(baseline),
        current_cases=len(current),
    )


def original_verdict(
    baseline_f1: float,
    current_f1: float,
    rule: VerdictRule,
    reason: str,
    *,
    baseline_cases: int = 0,
    current_cases: int = 0,
) -> Verdict:
    """The original's rule on two F1 values, saying why the paired rule was not used.

    For snapshots without case results (pushed records), whose F1 is all
    there is to compare.
    """
    delta = current_f1 - baseline_f1
    status: VerdictStatus = (
        "regression" if f1_regressed(baseline_f1, current_f1, rule.threshold) else "ok"
    )
    compared = "more" if status == "regression" else "not more"
    text = (
        f"{status} (original rule; {reason}): F1 {baseline_f1:.3f} -> {current_f1:.3f} "
        f"({delta:+.3f}), a drop {compared} than {rule.threshold:g}"
        if delta < 0
        else f"{status} (original rule; {reason}): F1 {baseline_f1:.3f} -> {current_f1:.3f} "
        f"({delta:+.3f}), no drop"
    )
    return Verdict(
        status=status,
        rule="original",
        fallback_reason=reason,
        threshold=rule.threshold,
        alpha=None,
        baseline_f1=baseline_f1,
        current_f1=current_f1,
        delta=delta,
        interval=None,
        confidence=None,
        p_value=None,
        n_cases=current_cases,
        baseline_cases=baseline_cases,
        current_cases=current_cases,
        text=text,
    )


def _f1(outcomes: Mapping[str, Sequence[CaseCounts]]) -> float:
    if not outcomes:
        return 0.0
    rates = case_rates(outcomes).rates
    return float(micro_scores(rates.sum(axis=0))[2])


def _paired_text(status: VerdictStatus, c: PairedComparison, rule: VerdictRule) -> str:
    low, high = c.delta_ci
    level = f"{c.confidence * 100:g} %"
    relation = "<=" if c.p_value <= rule.alpha else ">"
    figures = (
        f"F1 {c.baseline_f1:.3f} -> {c.current_f1:.3f} ({c.delta:+.3f}, {level} CI "
        f"{low:+.3f} to {high:+.3f}), p = {_p(c.p_value)} {relation} {rule.alpha:g} "
        f"over {c.n_cases} paired case{_s(c.n_cases)}; "
        f"{len(c.worse)} worse, {len(c.better)} better"
    )
    if status == "inconclusive":
        return f"inconclusive (a drop chance could explain): {figures}"
    return f"{status}: {figures}"


def _p(p: float) -> str:
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
