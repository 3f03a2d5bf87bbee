"""Rank and linear correlation, NaN-safe, for information coefficients (ICs).

The weights are fitted from the correlation of features (and system scores) with forward
returns. Real feature histories contain ties (clipped z-scores pile up at ±clip, flat
markets repeat values) and the occasional missing value, so the functions here:

* drop every pair in which either value is not finite (NaN or ±inf) before correlating;
* give tied values the average of the ranks they span (Spearman's usual convention, the
  same as ``scipy.stats.rankdata(method="average")``);
* return 0.0 instead of NaN when a correlation is undefined (fewer than two pairs, or one
  side constant): a feature that never moves carries no information, and a weight fit must
  not be poisoned by a NaN.

Results are clamped to [-1, 1] so rounding can never produce an impossible IC.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Correlation methods accepted by :func:`correlation` and the weight fit.
Method = Literal["spearman", "pearson"]

METHODS: tuple[str, str] = ("spearman", "pearson")


def rankdata(values: npt.ArrayLike) -> FloatArray:
    """Ranks 1..n of a 1-D array, ties receiving the average of the ranks they span.

    Args:
        values: A 1-D array of finite numbers (filter NaN first: NaN has no rank).

    Returns:
        Float ranks in the input's order, e.g. ``[10, 20, 20, 30] -> [1, 2.5, 2.5, 4]``.
    """
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"rankdata expects a 1-D array, got shape {a.shape}")
    n = a.size
    ranks = np.empty(n, dtype=np.float64)
    if n == 0:
        return ranks
    order = np.argsort(a)
    ordered = a[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new_group[1:])
    group = np.cumsum(new_group) - 1
    bounds = np.flatnonzero(np.append(new_group, True))
    # A group occupying sorted positions [lo, hi) holds ranks lo+1 .. hi: their mean.
    average = (bounds[:-1] + bounds[1:] + 1) / 2.0
    ranks[order] = average[group]
    return ranks


def _finite_pairs(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Both inputs as float arrays, restricted to positions where both are finite."""
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.ndim != 1 or xa.shape != ya.shape:
        raise ValueError(f"expected two 1-D arrays of equal length, got {xa.shape}, {ya.shape}")
    keep = np.isfinite(xa) & np.isfinite(ya)
    if keep.all():
        return xa, ya
    return xa[keep], ya[keep]


def _pearson_finite(x: FloatArray, y: FloatArray) -> float:
    """Pearson's r of two equal-length finite arrays; 0.0 when undefined."""
    if x.size < 2:
        return 0.0
    # An exactly constant side has no variance; testing it directly avoids dividing by the
    # rounding residue that centring a constant array can leave behind.
    if x.min() == x.max() or y.min() == y.max():
        return 0.0
    # Scale each side to at most unit magnitude before and after centring, so neither the
    # mean nor the sums of squares can overflow for extreme (but finite) inputs.
    xs = x / np.abs(x).max()
    ys = y / np.abs(y).max()
    xc = xs - xs.mean()
    yc = ys - ys.mean()
    x_span = float(np.abs(xc).max())
    y_span = float(np.abs(yc).max())
    if x_span == 0.0 or y_span == 0.0:
        return 0.0
    xc = xc / x_span
    yc = yc / y_span
    denominator = math.sqrt(float(np.dot(xc, xc)) * float(np.dot(yc, yc)))
    if denominator == 0.0 or not math.isfinite(denominator):
        return 0.0
    r = float(np.dot(xc, yc)) / denominator
    if not math.isfinite(r):
        return 0.0
    return min(1.0, max(-1.0, r))


def pearson(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Pearson's linear correlation over the pairs where both values are finite.

    Args:
        x: 1-D values.
        y: 1-D values, same length as ``x``.

    Returns:
        r in [-1, 1]; 0.0 with fewer than two finite pairs or when either side is constant.
    """
    xa, ya = _finite_pairs(x, y)
    return _pearson_finite(xa, ya)


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Spearman's rank correlation (Pearson's r of average ranks) over finite pairs.

    Preferred for ICs because returns are heavy-tailed: one crash candle must not decide
    a feature's weight, and ranks bound every observation's influence.

    Args:
        x: 1-D values.
        y: 1-D values, same length as ``x``.

    Returns:
        rho in [-1, 1]; 0.0 with fewer than two finite pairs or when either side is constant.
    """
    xa, ya = _finite_pairs(x, y)
    if xa.size < 2:
        return 0.0
    return _pearson_finite(rankdata(xa), rankdata(ya))


def correlation(x: npt.ArrayLike, y: npt.ArrayLike, method: str) -> float:
    """Dispatch to :func:`spearman` or :func:`pearson` by name.

    Raises:
        ValueError: If ``method`` is neither ``"spearman"`` nor ``"pearson"``.
    """
    if method == "spearman":
        return spearman(x, y)
    if method == "pearson":
        return pearson(x, y)
    raise ValueError(f"unknown correlation method {method!r}; expected one of {METHODS}")


def column_correlations(columns: npt.ArrayLike, y: npt.ArrayLike, method: str) -> FloatArray:
    """Correlation of every column of a T x K matrix with one length-T series.

    Each column is paired with ``y`` on its own finite rows, exactly as :func:`correlation`
    would; when ``y`` and a column are fully finite the ranks of ``y`` are computed once.

    Args:
        columns: A 2-D array, one candidate (feature or system score) per column.
        y: The target series (forward returns), one value per row.
        method: ``"spearman"`` or ``"pearson"``.

    Returns:
        K correlations, each in [-1, 1] and 0.0 where undefined.
    """
    matrix = np.asarray(columns, dtype=np.float64)
    target = np.asarray(y, dtype=np.float64)
    if method not in METHODS:
        raise ValueError(f"unknown correlation method {method!r}; expected one of {METHODS}")
    if matrix.ndim != 2 or target.ndim != 1 or matrix.shape[0] != target.shape[0]:
        raise ValueError(
            f"expected a T x K matrix and a length-T series, got {matrix.shape}, {target.shape}"
        )
    out = np.zeros(matrix.shape[1], dtype=np.float64)
    target_finite = np.isfinite(target)
    whole = bool(target_finite.all())
    target_ranks = rankdata(target) if whole and method == "spearman" else None
    for k in range(matrix.shape[1]):
        column = matrix[:, k]
        if whole and bool(np.isfinite(column).all()):
            if target_ranks is not None:
                out[k] = _pearson_finite(rankdata(column), target_ranks)
            else:
                out[k] = _pearson_finite(column, target)
        else:
            out[k] = correlation(column, target, method)
    return out
