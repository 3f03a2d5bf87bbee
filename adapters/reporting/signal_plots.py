"""The research signals plot: price, long / short conviction, and ICs by horizon.

One PNG with three panels:

1. the close, with the out-of-sample part shaded and the split marked;
2. long conviction (up) and short conviction (drawn downwards) on the same time axis;
3. the IC of every series at every horizon, in sample (solid) and out of sample (hatched),
   with whiskers of ± the noise band (two standard errors of an IC on overlapping
   returns), so a bar whose whisker crosses zero reads as "indistinguishable from zero".

A few months of 1m candles are far more points than a figure has pixels; the time panels
are drawn from bucket aggregates (last close, mean convictions) of about
:data:`MAX_POINTS` buckets; no bucket spans a gap in the data, and the lines break at
gaps instead of being drawn straight across them. matplotlib runs with the Agg backend:
no display needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from domain.signals.evaluation import SAMPLES, IcResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MAX_POINTS", "plot_signals"]

#: Upper bound on the points drawn per time series.
MAX_POINTS = 2000

#: A bucket-to-bucket step this many times the median step is drawn as a break.
_GAP_FACTOR = 10.0

_HORIZON_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")


def _segment_starts(times: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Rows that follow a gap: a step of more than ``_GAP_FACTOR`` times the median step."""
    if times.size < 2:
        return np.empty(0, dtype=np.intp)
    steps = np.diff(times)
    median = max(float(np.median(steps)), 1.0)
    return (np.flatnonzero(steps > _GAP_FACTOR * median) + 1).astype(np.intp)


def _buckets(
    times: npt.NDArray[np.int64], max_points: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Buckets of the time panels: about ``max_points`` of them, none spanning a gap.

    Returns:
        The start row of every bucket, and the positions (among the buckets) of those
        that begin right after a gap.
    """
    n = times.shape[0]
    count = max(1, min(n, max_points))
    even = np.linspace(0, n, count, endpoint=False).astype(np.intp)
    after_gap = _segment_starts(times)
    starts = np.unique(np.concatenate((even, after_gap)))
    return starts, np.searchsorted(starts, after_gap).astype(np.intp)


def _with_breaks(
    times: npt.NDArray[np.int64],
    breaks: npt.NDArray[np.intp],
    *columns: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.datetime64], list[npt.NDArray[np.float64]]]:
    """Insert a NaN point before each bucket in ``breaks`` so lines stop at gaps."""
    if breaks.size == 0:
        return times.astype("datetime64[ms]"), list(columns)
    gap_times = times[breaks - 1] + 1
    out_times = np.insert(times, breaks, gap_times).astype("datetime64[ms]")
    return out_times, [np.insert(c, breaks, np.nan) for c in columns]


def plot_signals(
    path: Path | str,
    *,
    title: str,
    open_time: npt.ArrayLike,
    close: npt.ArrayLike,
    long: npt.ArrayLike,
    short: npt.ArrayLike,
    split_at: int,
    ics: Sequence[IcResult],
    max_points: int = MAX_POINTS,
) -> None:
    """Draw the research plot to ``path`` (PNG).

    Args:
        path: Output file.
        title: Figure title (symbol, period, method).
        open_time: Open times (ms) of the rows.
        close: Closes.
        long: Long conviction per row.
        short: Short conviction per row.
        split_at: First out-of-sample row.
        ics: The IC results to chart (any order; series keep their first-seen order).
        max_points: Bucket count bound for the time panels.

    Raises:
        ValueError: If the arrays differ in length or are empty.
        OSError: If the file cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    times = np.asarray(open_time, dtype=np.int64)
    closes = np.asarray(close, dtype=np.float64)
    longs = np.asarray(long, dtype=np.float64)
    shorts = np.asarray(short, dtype=np.float64)
    n = times.shape[0]
    if n == 0 or any(a.shape != (n,) for a in (closes, longs, shorts)):
        raise ValueError("plot_signals needs equal, non-empty series")

    starts, breaks = _buckets(times, max_points)
    ends = np.append(starts[1:], n) - 1
    bucket_times = times[ends]  # each point sits at its bucket's last candle
    bucket_close = closes[ends]
    sizes = np.diff(np.append(starts, n)).astype(np.float64)
    bucket_long = np.add.reduceat(longs, starts) / sizes
    bucket_short = np.add.reduceat(shorts, starts) / sizes
    t, (c, lo, sh) = _with_breaks(bucket_times, breaks, bucket_close, bucket_long, bucket_short)

    fig = plt.figure(figsize=(13, 10), constrained_layout=True)
    grid = fig.add_gridspec(3, 1, height_ratios=(2.2, 1.3, 1.8))
    ax_price = fig.add_subplot(grid[0])
    ax_conv = fig.add_subplot(grid[1], sharex=ax_price)
    ax_ic = fig.add_subplot(grid[2])
    fig.suptitle(title)

    ax_price.plot(t, c, color="#333333", linewidth=0.8)
    ax_price.set_ylabel("close")
    ax_conv.plot(t, lo, color="#2ca02c", linewidth=0.8, label="long conviction")
    ax_conv.plot(t, -sh, color="#d62728", linewidth=0.8, label="short conviction (down)")
    ax_conv.axhline(0.0, color="#999999", linewidth=0.5)
    ax_conv.set_ylabel("conviction (bucket mean)")
    ax_conv.legend(loc="upper left", fontsize=8)
    if 0 < split_at < n:
        # Axis positions in matplotlib's date units (its stubs type axvspan & co. as float).
        to_num = mdates.date2num
        first_out = np.datetime64(int(times[split_at]), "ms")
        last = np.datetime64(int(times[-1]), "ms")
        split_time = float(to_num(first_out))  # type: ignore[no-untyped-call]
        last_time = float(to_num(last))  # type: ignore[no-untyped-call]
        for ax in (ax_price, ax_conv):
            ax.axvspan(split_time, last_time, color="#1f77b4", alpha=0.07, linewidth=0)
            ax.axvline(split_time, color="#1f77b4", linewidth=1.0, linestyle="--")
        ax_price.text(
            split_time,
            1.0,
            " out of sample",
            transform=ax_price.get_xaxis_transform(),
            va="top",
            fontsize=8,
            color="#1f77b4",
        )
    for ax in (ax_price, ax_conv):
        ax.grid(True, linewidth=0.3)
    ax_price.tick_params(labelbottom=False)

    _ic_bars(ax_ic, ics)
    fig.savefig(Path(path), dpi=110)
    plt.close(fig)


def _ic_bars(ax: Axes, ics: Sequence[IcResult]) -> None:
    """Grouped bars: one group per series, one bar per horizon and sample."""
    series: list[str] = []
    horizons: list[int] = []
    for r in ics:
        if r.series not in series:
            series.append(r.series)
        if r.horizon not in horizons:
            horizons.append(r.horizon)
    horizons.sort()
    by_key = {(r.series, r.horizon, r.sample): r for r in ics}
    slots = len(horizons) * 2
    width = 0.8 / max(1, slots)
    x = np.arange(len(series), dtype=np.float64)
    for hi, h in enumerate(horizons):
        colour = _HORIZON_COLOURS[hi % len(_HORIZON_COLOURS)]
        for si, sample in enumerate(SAMPLES):
            offset = (hi * 2 + si - (slots - 1) / 2.0) * width
            heights = []
            noise = []
            for name in series:
                result = by_key.get((name, h, sample))
                heights.append(np.nan if result is None else result.ic)
                noise.append(np.nan if result is None else result.noise)
            ax.bar(
                x + offset,
                np.nan_to_num(np.asarray(heights), nan=0.0),
                width,
                yerr=np.nan_to_num(np.asarray(noise), nan=0.0),
                error_kw={"elinewidth": 0.6, "capsize": 1.5, "ecolor": "#555555"},
                color=colour if sample == "in" else "white",
                edgecolor=colour,
                hatch=None if sample == "in" else "////",
                label=f"h={h} {'in sample' if sample == 'in' else 'out of sample'}",
            )
    ax.axhline(0.0, color="#333333", linewidth=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(series)
    ax.set_ylabel("IC vs forward log return")
    ax.set_title(
        "information coefficient by horizon (whiskers: ±2 s.e. with overlapping returns; "
        "a bar whose whisker crosses 0 is not distinguishable from no skill)",
        fontsize=10,
    )
    ax.legend(fontsize=7, ncol=len(horizons), loc="best")
    ax.grid(True, axis="y", linewidth=0.3)
