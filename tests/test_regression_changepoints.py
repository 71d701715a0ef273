"""Change points in snapshot histories (benchq.regression.changepoints)."""

from __future__ import annotations

import numpy as np
import pytest

from benchq.regression.changepoints import detect_changes


def noisy(levels: list[tuple[float, int]], sd: float, seed: int) -> list[float]:
    """Segments of `count` values around `level`, with normal noise of `sd`."""
    rng = np.random.default_rng(seed)
    return [float(v) for level, count in levels for v in rng.normal(level, sd, count)]


def test_one_drop_is_found_where_it_happened_with_its_levels() -> None:
    values = noisy([(0.80, 15), (0.70, 15)], sd=0.02, seed=4)
    changes = detect_changes(list(enumerate(values, start=1)))
    assert len(changes) == 1
    change = changes[0]
    assert (change.index, change.version, change.previous_version) == (15, 16, 15)
    assert change.before == pytest.approx(np.mean(values[:15]))
    assert change.after == pytest.approx(np.mean(values[15:]))
    assert change.change == pytest.approx(-0.10, abs=0.02)
    assert change.relative_change == pytest.approx(change.change / change.before)
    assert change.p_value <= 0.01
    assert (change.before_count, change.after_count) == (15, 15)


def test_a_flat_noisy_series_has_no_change_point() -> None:
    for seed in range(5):
        values = noisy([(0.80, 60)], sd=0.03, seed=seed)
        assert detect_changes(list(enumerate(values))) == []


def test_two_shifts_are_both_found_with_the_middle_level() -> None:
    values = noisy([(0.80, 20), (0.65, 20), (0.78, 20)], sd=0.02, seed=7)
    changes = detect_changes(list(enumerate(values)))
    assert [c.index for c in changes] == [20, 40]
    assert changes[0].after == pytest.approx(np.mean(values[20:40]))
    assert changes[1].before == changes[0].after
    assert changes[0].change < 0 < changes[1].change


def test_a_price_step_without_noise_is_found_exactly() -> None:
    # Cost per analysis is constant until the provider changes its price.
    values = [0.012] * 8 + [0.018] * 6
    versions = [v * 10 for v in range(1, 15)]
    changes = detect_changes(list(zip(versions, values, strict=True)))
    assert len(changes) == 1
    assert (changes[0].version, changes[0].previous_version) == (90, 80)
    assert (changes[0].before, changes[0].after) == pytest.approx((0.012, 0.018))
    assert changes[0].relative_change == pytest.approx(0.5)


def test_versions_are_sorted_and_missing_values_skipped() -> None:
    values = noisy([(900.0, 12), (1300.0, 12)], sd=40.0, seed=2)
    points: list[tuple[int, float | None]] = list(enumerate(values, start=1))
    points.append((100, None))  # a snapshot without latency
    points.reverse()
    changes = detect_changes(points)
    assert [(c.previous_version, c.version) for c in changes] == [(12, 13)]


def test_too_short_or_constant_series_have_none() -> None:
    assert detect_changes([]) == []
    assert detect_changes([(1, 0.8), (2, 0.2), (3, 0.8), (4, 0.2), (5, 0.5)]) == []
    assert detect_changes([(v, 0.75) for v in range(30)]) == []


def test_the_same_seed_gives_the_same_change_points() -> None:
    values = noisy([(0.80, 10), (0.74, 10)], sd=0.03, seed=11)
    points = list(enumerate(values))
    assert detect_changes(points, seed=3) == detect_changes(points, seed=3)


def test_a_stricter_level_keeps_only_the_clear_change() -> None:
    # A small late shift and a large early one: at a strict level only the large one.
    values = noisy([(0.80, 20), (0.60, 20), (0.57, 20)], sd=0.02, seed=5)
    loose = detect_changes(list(enumerate(values)), max_p_value=0.05)
    strict = detect_changes(list(enumerate(values)), max_p_value=0.005, permutations=999)
    assert 20 in [c.index for c in strict]
    assert len(strict) <= len(loose)
    assert all(c.p_value <= 0.005 for c in strict)


def test_bad_series_are_refused() -> None:
    with pytest.raises(ValueError, match="once"):
        detect_changes([(1, 0.5), (1, 0.6), (2, 0.7), (3, 0.7), (4, 0.7), (5, 0.7)])
    with pytest.raises(ValueError, match="finite"):
        detect_changes([(v, float("nan") if v == 3 else 0.5) for v in range(8)])
    with pytest.raises(ValueError, match="max_p_value"):
        detect_changes([(1, 0.5)], max_p_value=0.0)
