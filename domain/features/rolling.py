"""Sliding-window statistics in O(1) per sample, with a batch twin that gives the same bits.

Every windowed feature (volatility, Bollinger, volume z-score, range, taker ratio) and the
normaliser need the mean and variance, the extremes or the sum of the last ``n`` samples.
The textbook incremental form (add the new sample to running sums, subtract the one that
leaves) has two faults this module avoids:

* **Drift and residue.** Subtracting a departed sample does not exactly undo having added
  it, so rounding errors from long-gone samples stay in the sums. A flat window after a
  violent move then reports a tiny non-zero variance instead of 0, and the features that
  divide by a standard deviation turn that residue into a large, arbitrary value.
* **Cancellation.** ``E[x²] - E[x]²`` over prices near 1e5 with a spread of a few ticks
  loses every significant digit.

**Block decomposition.** The sample stream is cut into consecutive blocks of ``n`` samples
(block ``b`` holds samples ``b*n .. b*n + n - 1``). The window ending at position ``j`` of
block ``b`` is the suffix ``j+1 .. n-1`` of block ``b-1`` plus the prefix ``0 .. j`` of block
``b`` (just the prefix when ``j == n-1``). Prefix statistics are accumulated as samples arrive;
the suffix statistics of block ``b-1`` are computed once, when block ``b`` starts, in O(n):
amortised O(1) per sample, and no sum ever contains a sample outside its window.

**Shift.** Moments are accumulated on ``x - K`` where ``K`` is the first sample of the current
block. ``K`` lies inside every window that uses it, so ``|x - K|`` never exceeds the window's
range and ``sum (x-K)²`` is at most ``2n`` times the window's sum of squared deviations: the
cancellation in ``E[v²] - E[v]²`` costs at most a factor ``2n`` (in practice far less), and a
window of identical samples gives a variance of exactly 0.

**Batch twin.** The batch functions run the same float operations in the same order (prefix
and suffix sums are accumulated position by position, in the incremental order), so
incremental and batch results are bit-for-bit identical for identical input. Tests rely on
that.

Conventions shared by every structure here: positions before the first window is full
give the statistic of the samples seen so far (callers substitute their neutral value until
their lookback is complete); variance is the population variance (divisor ``n``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "RollingExtremes",
    "RollingMoments",
    "RollingSums",
    "block_count",
    "moment_groups",
    "rolling_max",
    "rolling_min",
    "rolling_moments",
    "rolling_sum",
    "store_group",
]

_INF = math.inf
# Batch work runs on groups of blocks with about this many elements per block position, so
# that each vector operation is large enough to amortise its call, while a year of 48
# features does not need a dozen full-size temporaries at once.
_ROW_ELEMENTS = 1 << 12
_GROUP_ELEMENTS = 1 << 22


def _check_window(n: int) -> None:
    if n < 1:
        raise ValueError(f"window length must be at least 1, got {n}")


class RollingMoments:
    """Mean and population variance of the last ``n`` floats, one sample at a time.

    :meth:`push` returns ``(x - mean, variance)``: the deviation of the newest sample from
    the window mean is what the z-score style features need, and computing it in the shifted
    frame keeps it exact for a flat window (0.0, not a rounding remainder).
    """

    __slots__ = (
        "_block",
        "_inv",
        "_inv_full",
        "_kb",
        "_n",
        "_pos",
        "_prev",
        "_s1",
        "_s2",
        "_sa1",
        "_sa2",
        "_started",
    )

    def __init__(self, n: int) -> None:
        """Create an empty window.

        Args:
            n: Window length in samples (>= 1).
        """
        _check_window(n)
        self._n = n
        self._pos = 0
        self._started = False
        self._kb = 0.0
        self._s1 = 0.0
        self._s2 = 0.0
        self._block = [0.0] * n
        self._prev = [0.0] * n
        # Suffix sums of the previous block relative to this block's shift, by start
        # position p (1..n-1); index n stays 0.0 for the whole-block window.
        self._sa1 = [0.0] * (n + 1)
        self._sa2 = [0.0] * (n + 1)
        # Divisor per block position: the first block's windows hold j + 1 samples, every
        # later window n (reciprocals, so that the batch twin multiplies by the same floats).
        self._inv = [1.0 / (j + 1) for j in range(n)]
        self._inv_full = [1.0 / n] * n

    def push(self, x: float) -> tuple[float, float]:
        """Add a sample; return ``(x - window mean, window variance)``.

        A window of identical samples gives exactly ``(0.0, 0.0)``. A nearly (not exactly)
        flat one can give a variance a rounding error below zero; callers treat
        ``variance <= 0`` as flat.
        """
        j = self._pos
        if j == 0:
            self._start_block(x)
        v = x - self._kb
        s1 = self._s1 + v
        s2 = self._s2 + v * v
        self._s1 = s1
        self._s2 = s2
        self._block[j] = x
        p = j + 1
        inv = self._inv[j]
        mean = (self._sa1[p] + s1) * inv
        var = (self._sa2[p] + s2) * inv - mean * mean
        self._pos = 0 if p == self._n else p
        return v - mean, var

    def _start_block(self, x: float) -> None:
        """Open a block at ``x``: fold the finished block into suffix sums around ``x``."""
        self._kb = x
        self._s1 = 0.0
        self._s2 = 0.0
        if not self._started:
            self._started = True
            return
        prev = self._block
        self._block, self._prev = self._prev, prev
        sa1 = self._sa1
        sa2 = self._sa2
        t1 = 0.0
        t2 = 0.0
        for p in range(self._n - 1, 0, -1):
            u = prev[p] - x
            t1 += u
            t2 += u * u
            sa1[p] = t1
            sa2[p] = t2
        self._inv = self._inv_full


class RollingExtremes:
    """Maximum of one series and minimum of another over the last ``n`` samples.

    Used for the highest high and lowest low of a range; one structure for both because they
    share the block position, which halves the bookkeeping on the hot path.
    """

    __slots__ = (
        "_hi",
        "_hi_prev",
        "_lo",
        "_lo_prev",
        "_max",
        "_min",
        "_n",
        "_pos",
        "_sa_max",
        "_sa_min",
        "_started",
    )

    def __init__(self, n: int) -> None:
        """Create an empty window.

        Args:
            n: Window length in samples (>= 1).
        """
        _check_window(n)
        self._n = n
        self._pos = 0
        self._started = False
        self._max = -_INF
        self._min = _INF
        self._hi = [0.0] * n
        self._lo = [0.0] * n
        self._hi_prev = [0.0] * n
        self._lo_prev = [0.0] * n
        self._sa_max = [-_INF] * (n + 1)
        self._sa_min = [_INF] * (n + 1)

    def push(self, high: float, low: float) -> tuple[float, float]:
        """Add one sample of each series; return ``(max of highs, min of lows)``."""
        j = self._pos
        if j == 0:
            self._start_block()
            mx = high
            mn = low
        else:
            mx = self._max
            mn = self._min
            if high > mx:
                mx = high
            if low < mn:
                mn = low
        self._max = mx
        self._min = mn
        self._hi[j] = high
        self._lo[j] = low
        p = j + 1
        self._pos = 0 if p == self._n else p
        smx = self._sa_max[p]
        smn = self._sa_min[p]
        return (smx if smx > mx else mx), (smn if smn < mn else mn)

    def _start_block(self) -> None:
        """Fold the finished block into suffix extremes (nothing to fold before the first)."""
        if not self._started:
            self._started = True
            return
        hi = self._hi
        lo = self._lo
        self._hi, self._hi_prev = self._hi_prev, hi
        self._lo, self._lo_prev = self._lo_prev, lo
        sa_max = self._sa_max
        sa_min = self._sa_min
        mx = -_INF
        mn = _INF
        for p in range(self._n - 1, 0, -1):
            h = hi[p]
            lw = lo[p]
            if h > mx:
                mx = h
            if lw < mn:
                mn = lw
            sa_max[p] = mx
            sa_min[p] = mn


class RollingSums:
    """Sums of two series over the last ``n`` samples (taker-buy volume and volume)."""

    __slots__ = (
        "_a",
        "_a_prev",
        "_b",
        "_b_prev",
        "_n",
        "_pos",
        "_sa_a",
        "_sa_b",
        "_started",
        "_sum_a",
        "_sum_b",
    )

    def __init__(self, n: int) -> None:
        """Create an empty window.

        Args:
            n: Window length in samples (>= 1).
        """
        _check_window(n)
        self._n = n
        self._pos = 0
        self._started = False
        self._sum_a = 0.0
        self._sum_b = 0.0
        self._a = [0.0] * n
        self._b = [0.0] * n
        self._a_prev = [0.0] * n
        self._b_prev = [0.0] * n
        self._sa_a = [0.0] * (n + 1)
        self._sa_b = [0.0] * (n + 1)

    def push(self, a: float, b: float) -> tuple[float, float]:
        """Add one sample of each series; return their window sums ``(sum a, sum b)``."""
        j = self._pos
        if j == 0:
            self._start_block()
            sa = 0.0 + a
            sb = 0.0 + b
        else:
            sa = self._sum_a + a
            sb = self._sum_b + b
        self._sum_a = sa
        self._sum_b = sb
        self._a[j] = a
        self._b[j] = b
        p = j + 1
        self._pos = 0 if p == self._n else p
        return self._sa_a[p] + sa, self._sa_b[p] + sb

    def _start_block(self) -> None:
        """Fold the finished block into suffix sums (nothing to fold before the first)."""
        if not self._started:
            self._started = True
            return
        a = self._a
        b = self._b
        self._a, self._a_prev = self._a_prev, a
        self._b, self._b_prev = self._b_prev, b
        sa_a = self._sa_a
        sa_b = self._sa_b
        ta = 0.0
        tb = 0.0
        for p in range(self._n - 1, 0, -1):
            ta += a[p]
            tb += b[p]
            sa_a[p] = ta
            sa_b[p] = tb


# --- batch twins -------------------------------------------------------------------------
#
# Layout: the padded series is cut into blocks, shape (blocks, n, ...), and each group of
# blocks is transposed to position-major (n, blocks, ...). The prefix and suffix sums then
# run as a loop over the n positions, each step one vectorised operation across all blocks
# of the group: the additions happen in exactly the incremental order, and numpy's cumsum
# (which is sequential too, but several times slower along a short axis) is avoided.


def block_count(length: int, n: int) -> int:
    """Number of blocks of ``n`` samples needed to hold ``length`` samples."""
    return -(-length // n)


def _blocks(x: NDArray[np.float64], n: int, fill: float) -> NDArray[np.float64]:
    """``x`` (time on axis 0) padded with ``fill`` to whole blocks, shaped (blocks, n, ...).

    Padding sits after the last real sample, so it can only reach statistics of positions
    that are cut off again: prefixes never look forward, and a block's suffix is used only
    once the next block exists.
    """
    length = x.shape[0]
    blocks = block_count(length, n)
    padded = np.full((blocks * n, *x.shape[1:]), fill, dtype=np.float64)
    padded[:length] = x
    return padded.reshape(blocks, n, *x.shape[1:])


def _group_size(n: int, width: int, blocks: int) -> int:
    """Blocks per group: sizeable vector steps, small work buffers.

    Enough blocks that one position-step is a sizeable vector operation, few enough that
    the work buffers stay small.
    """
    wanted = -(-_ROW_ELEMENTS // max(1, width))
    cap = max(1, _GROUP_ELEMENTS // max(1, n * width))
    return max(1, min(wanted, cap, blocks))


def _position_major(blocks: NDArray[np.float64]) -> NDArray[np.float64]:
    """(blocks, n, ...) to a contiguous (n, blocks, ...) copy."""
    return np.ascontiguousarray(np.moveaxis(blocks, 1, 0))


def _prefix(a: NDArray[np.float64], op: np.ufunc) -> NDArray[np.float64]:
    """In place along axis 0: ``a[j] = op(a[j-1], a[j])`` for j = 1, 2, ..."""
    for j in range(1, a.shape[0]):
        op(a[j - 1], a[j], out=a[j])
    return a


def _suffix(a: NDArray[np.float64], op: np.ufunc) -> NDArray[np.float64]:
    """In place along axis 0: ``a[p] = op(a[p+1], a[p])`` for p = n-2 down to 0."""
    for p in range(a.shape[0] - 2, -1, -1):
        op(a[p + 1], a[p], out=a[p])
    return a


def _unblock(blocks: NDArray[np.float64], length: int) -> NDArray[np.float64]:
    """Block-shaped results back to time on axis 0, padding dropped."""
    flat: NDArray[np.float64] = blocks.reshape(-1, *blocks.shape[2:])[:length]
    return flat


def _load(x: NDArray[np.float64], b0: int, n: int, out: NDArray[np.float64]) -> None:
    """Copy blocks ``b0 ..`` of ``x`` into ``out`` (n, blocks, ...), padding with 0.0."""
    length = x.shape[0]
    count = out.shape[1]
    rows = x[b0 * n : min((b0 + count) * n, length)]
    full = rows.shape[0] // n
    if full:
        out[:, :full] = np.moveaxis(rows[: full * n].reshape(full, n, *x.shape[1:]), 1, 0)
    if full < count:
        rest = rows[full * n :]
        out[: rest.shape[0], full] = rest
        out[rest.shape[0] :, full] = 0.0


def moment_groups(
    x: NDArray[np.float64], n: int
) -> Iterator[tuple[int, NDArray[np.float64], NDArray[np.float64]]]:
    """The batch moments, group of blocks by group, in position-major layout.

    Yields ``(first_block, dev, var)`` where ``dev`` and ``var`` have shape
    ``(n, blocks_in_group, ...)``: element ``[j, g]`` is sample ``(first_block + g) * n + j``
    (positions past the end of ``x`` are padding). The arrays are work buffers reused for
    the next group; consumers transform or copy them before advancing. :func:`rolling_moments`
    and the normaliser's batch path are built on this.
    """
    length = x.shape[0]
    tail = x.shape[1:]
    extra = (1,) * len(tail)
    blocks = block_count(length, n)
    if blocks == 0:
        return
    group = _group_size(n, int(np.prod(tail, dtype=np.int64)), blocks)
    shape = (n, group, *tail)
    s1 = np.empty(shape)
    s2 = np.empty(shape)
    v = np.empty(shape)
    u = np.empty(shape)
    uu = np.empty(shape)
    kb = np.empty((group, *tail))
    inv_first = np.array([1.0 / (j + 1) for j in range(n)]).reshape(n, *extra)
    inv_full = 1.0 / n
    for b0 in range(0, blocks, group):
        count = min(group, blocks - b0)
        xg = s1[:, :count]
        _load(x, b0, n, xg)
        kg = kb[:count]
        kg[...] = xg[0]
        vg = v[:, :count]
        np.subtract(xg, kg, out=vg)
        # Each block's predecessor around the block's own shift (block 0 has none).
        ug = u[:, :count]
        first = 1 if b0 == 0 else 0
        if first:
            ug[:, 0] = 0.0
        else:
            _load(x, b0 - 1, n, u[:, :1])
            np.subtract(ug[:, 0], kg[0], out=ug[:, 0])
        np.subtract(xg[:, :-1], kg[1:], out=ug[:, 1:])
        uug = uu[:, :count]
        np.multiply(ug, ug, out=uug)
        _suffix(uug, np.add)
        _suffix(ug, np.add)
        s1g = xg  # the raw values are no longer needed
        np.copyto(s1g, vg)
        _prefix(s1g, np.add)
        s2g = s2[:, :count]
        np.multiply(vg, vg, out=s2g)
        _prefix(s2g, np.add)
        np.add(s1g[: n - 1, first:], ug[1:, first:], out=s1g[: n - 1, first:])
        np.add(s2g[: n - 1, first:], uug[1:, first:], out=s2g[: n - 1, first:])
        if first:
            s1g[:, 0] *= inv_first
            s2g[:, 0] *= inv_first
            s1g[:, 1:] *= inv_full
            s2g[:, 1:] *= inv_full
        else:
            s1g *= inv_full
            s2g *= inv_full
        np.multiply(s1g, s1g, out=uug)
        s2g -= uug
        vg -= s1g
        yield b0, vg, s2g


def store_group(out: NDArray[np.float64], b0: int, values: NDArray[np.float64]) -> None:
    """Write a position-major group from :func:`moment_groups` into time-major ``out``."""
    n = values.shape[0]
    count = values.shape[1]
    start = b0 * n
    stop = min(start + count * n, out.shape[0])
    full = (stop - start) // n
    if full:
        view = out[start : start + full * n].reshape(full, n, *out.shape[1:])
        view[...] = np.moveaxis(values[:, :full], 0, 1)
    if start + full * n < stop:
        rest = stop - start - full * n
        out[start + full * n : stop] = values[:rest, full]


def rolling_moments(
    x: NDArray[np.float64], n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Batch twin of :class:`RollingMoments` along axis 0 of ``x`` (1-D, or 2-D for columns).

    Args:
        x: Samples, time on axis 0; further axes are independent series.
        n: Window length.

    Returns:
        ``(deviation, variance)`` arrays shaped like ``x``: ``x[t]`` minus the mean of its
        window, and the window's population variance, exactly as the incremental structure
        reports them after the ``t``-th push.
    """
    _check_window(n)
    x = np.asarray(x, dtype=np.float64)
    dev = np.empty_like(x)
    var = np.empty_like(x)
    for b0, dev_g, var_g in moment_groups(x, n):
        store_group(dev, b0, dev_g)
        store_group(var, b0, var_g)
    return dev, var


def _rolling_extreme(x: NDArray[np.float64], n: int, op: np.ufunc) -> NDArray[np.float64]:
    """Shared body of :func:`rolling_max` and :func:`rolling_min` (1-D)."""
    _check_window(n)
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] == 0:
        return np.empty_like(x)
    empty = -_INF if op is np.maximum else _INF
    xt = _position_major(_blocks(x, n, empty))
    suffix = np.full_like(xt, empty)
    suffix[: n - 1, 1:] = _suffix(xt[:, :-1].copy(), op)[1:]
    _prefix(xt, op)
    op(suffix, xt, out=xt)
    return _unblock(np.moveaxis(xt, 0, 1), x.shape[0])


def rolling_max(x: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Batch twin of the maximum half of :class:`RollingExtremes` (1-D ``x``)."""
    return _rolling_extreme(x, n, np.maximum)


def rolling_min(x: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Batch twin of the minimum half of :class:`RollingExtremes` (1-D ``x``)."""
    return _rolling_extreme(x, n, np.minimum)


def rolling_sum(x: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Batch twin of one half of :class:`RollingSums` (1-D ``x``)."""
    _check_window(n)
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] == 0:
        return np.empty_like(x)
    xt = _position_major(_blocks(x, n, 0.0))
    suffix = np.zeros_like(xt)
    suffix[: n - 1, 1:] = _suffix(xt[:, :-1].copy(), np.add)[1:]
    _prefix(xt, np.add)
    np.add(suffix, xt, out=xt)
    return _unblock(np.moveaxis(xt, 0, 1), x.shape[0])
