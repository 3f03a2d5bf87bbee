"""Rank and linear correlation: hand-computed values, ties, NaN safety, degenerate input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.signals.correlation import (
    column_correlations,
    correlation,
    pearson,
    rankdata,
    spearman,
)


def brute_force_ranks(values: list[float]) -> list[float]:
    """Average ranks by definition: 1 + #smaller + (#equal - 1) / 2."""
    return [
        1.0 + sum(w < v for w in values) + (sum(w == v for w in values) - 1) / 2.0 for v in values
    ]


def textbook_pearson(x: list[float], y: list[float]) -> float:
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def test_rankdata_averages_ties() -> None:
    assert rankdata([10, 20, 20, 30]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert rankdata([3, 1, 3, 3, 2]).tolist() == [4.0, 1.0, 4.0, 4.0, 2.0]
    assert rankdata([5.0]).tolist() == [1.0]
    assert rankdata([]).tolist() == []


def test_pearson_hand_computed() -> None:
    # dx = dy' = [-1.5, -0.5, 0.5, 1.5] / [-1.5, 0.5, -0.5, 1.5]: sum dx dy = 4, sxx = syy = 5.
    assert pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8, abs=1e-15)
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0, abs=1e-15)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0, abs=1e-15)


def test_spearman_hand_computed_with_ties() -> None:
    # Ranks x = [1, 2.5, 2.5, 4], y = [1, 2, 3, 4]: r = 4.5 / sqrt(4.5 * 5) = sqrt(0.9).
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(math.sqrt(0.9), abs=1e-15)
    # Monotone but non-linear: rank correlation is exactly 1, Pearson is not.
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    y = [math.exp(3 * v) for v in x]
    assert spearman(x, y) == pytest.approx(1.0, abs=1e-15)
    assert pearson(x, y) < 0.9


def test_non_finite_pairs_are_dropped() -> None:
    nan = float("nan")
    assert pearson([1, 2, nan, 4], [2, 4, 100, 8]) == pytest.approx(1.0, abs=1e-15)
    assert spearman([1, 2, 3, 4, 5], [5, nan, 3, math.inf, 1]) == pytest.approx(-1.0, abs=1e-15)


@pytest.mark.parametrize("fn", [pearson, spearman])
def test_undefined_correlations_are_zero(fn: object) -> None:
    assert callable(fn)
    assert fn([1, 1, 1, 1], [1, 2, 3, 4]) == 0.0
    assert fn([1, 2, 3, 4], [7, 7, 7, 7]) == 0.0
    assert fn([1.0], [2.0]) == 0.0
    assert fn([], []) == 0.0
    assert fn([1, float("nan")], [float("nan"), 2]) == 0.0


def test_mismatched_lengths_and_unknown_method_raise() -> None:
    with pytest.raises(ValueError):
        pearson([1, 2, 3], [1, 2])
    with pytest.raises(ValueError):
        correlation([1, 2], [1, 2], "kendall")


def test_extreme_finite_values_do_not_overflow() -> None:
    r = pearson([1e308, -1e308, 1.7e308, 0.0], [1.0, 2.0, 3.0, 4.0])
    assert math.isfinite(r) and -1.0 <= r <= 1.0
    assert pearson([1e308, 1.7e308], [1.0, 2.0]) == pytest.approx(1.0)
    assert pearson([1e-320, 2e-320, 3e-320], [1.0, 2.0, 3.0]) == pytest.approx(1.0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-3, 3), st.integers(-3, 3)),
        min_size=2,
        max_size=30,
    )
)
def test_spearman_equals_pearson_of_brute_force_ranks(pairs: list[tuple[int, int]]) -> None:
    x = [float(a) for a, _ in pairs]
    y = [float(b) for _, b in pairs]
    assert rankdata(x).tolist() == brute_force_ranks(x)
    rx, ry = brute_force_ranks(x), brute_force_ranks(y)
    if len(set(x)) < 2 or len(set(y)) < 2:
        assert spearman(x, y) == 0.0
    else:
        assert spearman(x, y) == pytest.approx(textbook_pearson(rx, ry), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        max_size=20,
    )
)
def test_correlations_are_bounded_for_any_input(pairs: list[tuple[float, float]]) -> None:
    x = [a for a, _ in pairs]
    y = [b for _, b in pairs]
    for fn in (pearson, spearman):
        r = fn(x, y)
        assert math.isfinite(r) and -1.0 <= r <= 1.0


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_column_correlations_match_pairwise(method: str) -> None:
    rng = np.random.default_rng(7)
    y = rng.standard_normal(200)
    matrix = np.column_stack([y + rng.standard_normal(200), -y, rng.standard_normal(200)])
    matrix[5, 2] = np.nan
    matrix[:, 0] = np.round(matrix[:, 0], 1)  # ties
    got = column_correlations(matrix, y, method)
    want = [correlation(matrix[:, k], y, method) for k in range(3)]
    assert got.tolist() == pytest.approx(want, abs=1e-14)
    assert got[1] == pytest.approx(-1.0)
    y_with_nan = y.copy()
    y_with_nan[0] = np.nan
    got = column_correlations(matrix, y_with_nan, method)
    want = [correlation(matrix[:, k], y_with_nan, method) for k in range(3)]
    assert got.tolist() == pytest.approx(want, abs=1e-14)
