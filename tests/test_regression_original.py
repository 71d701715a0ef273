"""The original's regression rule as a pure function, and the two others beside it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from benchq.regression.original import (
    as_stored,
    describe_rule,
    dropped_beyond,
    f1_regressed,
    metric_regressed,
)


@pytest.mark.parametrize(
    ("current", "regressed"),
    [(0.351, False), (0.350, False), (0.349, True), (0.400, False), (0.5, False), (0.0, True)],
)
def test_the_original_rule_at_its_edge(current: float, regressed: bool) -> None:
    # Floating point says 0.4 - 0.35 = 0.05000000000000002 > 0.05: the rule must not.
    assert 0.400 - 0.350 > 0.05
    assert f1_regressed(0.400, current) is regressed


def test_it_compares_at_the_original_columns_four_places() -> None:
    assert as_stored(0.12345) == Decimal("0.1235")  # a tie rounds away from zero, as numeric
    assert as_stored(0.8953333333) == Decimal("0.8953")
    assert as_stored(0.123449999999999996) == Decimal("0.1235")  # 15 digits, as float8::numeric
    # 0.89504 and 0.84504 are 0.8950 and 0.8450 in the original's columns: a drop of 0.05.
    assert not f1_regressed(0.89504, 0.84504)
    assert f1_regressed(0.89504, 0.84494)


def test_missing_sides_never_regress_and_thresholds_move_the_edge() -> None:
    assert not f1_regressed(None, 0.1)
    assert not f1_regressed(0.9, None)
    assert f1_regressed(0.40, 0.38, threshold=0.01)
    assert not f1_regressed(0.40, 0.38, threshold=0.02)
    assert not f1_regressed(0.40, 0.0, threshold=1.0)


def test_the_rules_by_name() -> None:
    # F1 0.400 -> 0.370: a regression for the relative rule (7.5 %), not the original's.
    assert not metric_regressed("original", "f1", 0.400, 0.370)
    assert not metric_regressed("absolute", "f1", 0.400, 0.370)
    assert metric_regressed("relative", "f1", 0.400, 0.370)
    # relative: exactly 5 % of the baseline is not more than 5 %.
    assert not dropped_beyond(0.400, 0.380, relative=True)
    assert dropped_beyond(0.400, 0.3799, relative=True)
    # The original's rule judges F1 only; the others every score.
    assert not metric_regressed("original", "precision", 0.9, 0.1)
    assert metric_regressed("absolute", "precision", 0.9, 0.1)
    assert metric_regressed("relative", "recall", 0.9, 0.1)


def test_the_rule_in_words() -> None:
    assert describe_rule("original") == "original rule: F1 drop > 0.05"
    assert describe_rule("absolute", 0.1) == "absolute rule: precision, recall or F1 drop > 0.1"
    assert describe_rule("relative") == (
        "relative rule: precision, recall or F1 drop > 0.05 x baseline"
    )
