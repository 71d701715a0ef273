"""The original system's regression rule, and the two others benchq offers beside it.

The original (its SQL function `detect_regression`) flags a regression when
the baseline's F1 minus the current F1 is more than 0.05: an absolute drop,
F1 only. It compared `NUMERIC(5,4)` columns, so it compared decimals with
four places, exactly: 0.4000 - 0.3500 = 0.0500 is not more than 0.05, where
binary floating point says 0.4 - 0.35 = 0.05000000000000002 and would flag it.

benchq keeps scores as floats, so every rule here first takes each value as
the original's column held it (`as_stored`: four decimal places, rounded half
away from zero, from the float's 15 significant digits, which is what
PostgreSQL's `float8::numeric` cast and `round(x, 4)` do), then does exact
decimal arithmetic. The SQL of `benchmark_regression_check`
(`supabase/migrations/20261201410000_regression_rules.sql`) does the same in
`numeric`, so SQLite (which runs this module) and Postgres give one verdict.

Rules, by name:

* `original` (the default): F1 fell by more than `threshold` (absolute).
* `absolute`: any of precision, recall, F1 fell by more than `threshold`.
* `relative`: any of precision, recall, F1 fell by more than `threshold`
  times its baseline value (benchq's rule before it adopted the original's).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

RegressionRule = Literal["original", "absolute", "relative"]
RULES: tuple[str, ...] = get_args(RegressionRule)
DEFAULT_RULE: RegressionRule = "original"
DEFAULT_THRESHOLD = 0.05

#: Decimal places of the original's score columns (`NUMERIC(5,4)`).
STORED_PLACES = 4
_QUANTUM = Decimal(1).scaleb(-STORED_PLACES)

#: The metrics each rule gates on; the others are shown, never judged.
GATED: dict[str, tuple[str, ...]] = {
    "original": ("f1",),
    "absolute": ("precision", "recall", "f1"),
    "relative": ("precision", "recall", "f1"),
}


def exact(value: float) -> Decimal:
    """A float as PostgreSQL's `float8::numeric` reads it: 15 significant digits."""
    return Decimal(f"{value:.15g}")


def as_stored(value: float) -> Decimal:
    """A score as the original's `NUMERIC(5,4)` column held it (half away from zero)."""
    return exact(value).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def dropped_beyond(
    baseline: float | None,
    current: float | None,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    relative: bool = False,
) -> bool:
    """True when `current` fell below `baseline` by more than the threshold.

    Absolute: `baseline - current > threshold`; relative: `... > threshold *
    baseline`. Both sides are taken at four decimal places and compared as
    exact decimals. A missing side never regresses.
    """
    if baseline is None or current is None:
        return False
    base, cur, limit = as_stored(baseline), as_stored(current), exact(threshold)
    if relative:
        limit *= base
    return base - cur > limit


def f1_regressed(
    baseline_f1: float | None, current_f1: float | None, threshold: float = DEFAULT_THRESHOLD
) -> bool:
    """The original's rule: the baseline's F1 minus the current F1 exceeds `threshold`."""
    return dropped_beyond(baseline_f1, current_f1, threshold)


def metric_regressed(
    rule: RegressionRule,
    metric: str,
    baseline: float | None,
    current: float | None,
    threshold: float = DEFAULT_THRESHOLD,
) -> bool:
    """Whether `rule` judges `metric` regressed; a metric the rule does not gate never is."""
    if metric not in GATED[rule]:
        return False
    return dropped_beyond(baseline, current, threshold, relative=rule == "relative")


def describe_rule(rule: RegressionRule, threshold: float = DEFAULT_THRESHOLD) -> str:
    """The rule in words, as verdicts print it: `original rule: F1 drop > 0.05`."""
    limit = f"{exact(threshold).normalize():f}"
    if rule == "original":
        return f"original rule: F1 drop > {limit}"
    if rule == "absolute":
        return f"absolute rule: precision, recall or F1 drop > {limit}"
    return f"relative rule: precision, recall or F1 drop > {limit} x baseline"
