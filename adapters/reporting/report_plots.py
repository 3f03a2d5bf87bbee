"""The PNG charts of ``gridbot report``, drawn with matplotlib's Agg backend (no display).

Months of 1m candles are hundreds of thousands of points; a chart has about a thousand
pixels across. Every time series is reduced to at most :data:`MAX_POINTS` buckets before
drawing, keeping what the eye must not lose: the last value of an equity bucket, the
deepest point of a drawdown bucket, the low and high of a price bucket (drawn as a band).
The price chart comes as an overview of the whole period plus one chart per calendar month,
where grid levels (each limit order's resting interval) and individual fills are readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from application.ports.report import ReportData

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_POINTS", "ChartFiles", "draw_charts", "month_starts"]

MAX_POINTS = 2500
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_STRATEGY_COLOUR = "#1f4e9c"
_BASELINE_COLOURS = ("#e07b00", "#2a9d3a", "#8e44ad", "#b03a2e", "#7f8c8d", "#c2a000")
_REGIME_COLOURS = {"UP": "#2ca02c", "DOWN": "#d62728", "NEUTRAL": "#7f7f7f"}
_BUY = "#1a9850"
_SELL = "#d73027"
_DPI = 90
#: A step between points longer than this is a gap in the data: lines are not drawn across.
_GAP_MS = 24 * 3_600_000


class ChartFiles:
    """The file names (relative to the report directory) of the charts drawn, by role."""

    def __init__(self) -> None:
        self.equity: str | None = None
        self.price_overview: str | None = None
        self.price_months: list[tuple[str, str]] = []  # (label, file)
        self.conviction: str | None = None
        self.weights: str | None = None
        self.weekly: str | None = None


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _dates(ms: IntArray) -> npt.NDArray[np.datetime64]:
    return ms.astype("datetime64[ms]")


def _bucket_starts(n: int, max_points: int) -> npt.NDArray[np.intp]:
    count = max(1, min(n, max_points))
    return np.unique(np.linspace(0, n, count, endpoint=False).astype(np.intp))


def _reduce_last(times: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """Last point of each bucket (the first point is kept too, so a line starts where it did)."""
    n = times.shape[0]
    if n <= MAX_POINTS:
        return times, values
    starts = _bucket_starts(n, MAX_POINTS)
    ends = np.append(starts[1:], n) - 1
    keep = np.unique(np.concatenate(([0], ends)))
    return times[keep], values[keep]


def _reduce_min(times: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    n = times.shape[0]
    if n <= MAX_POINTS:
        return times, values
    starts = _bucket_starts(n, MAX_POINTS)
    return times[starts], np.minimum.reduceat(values, starts)


def _reduce_band(
    times: IntArray, values: FloatArray, max_points: int = MAX_POINTS
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Per bucket: time, low, high, last."""
    n = times.shape[0]
    if n <= max_points:
        return times, values, values, values
    starts = _bucket_starts(n, max_points)
    ends = np.append(starts[1:], n) - 1
    return (
        times[starts],
        np.minimum.reduceat(values, starts),
        np.maximum.reduceat(values, starts),
        values[ends],
    )


def _gap_breaks(times: IntArray, *columns: FloatArray) -> tuple[Any, list[FloatArray]]:
    """Dates and columns with a NaN after every step of over a day, so lines stop at gaps."""
    if times.size < 2:
        return _dates(times), list(columns)
    after = np.flatnonzero(np.diff(times) > _GAP_MS) + 1
    if after.size == 0:
        return _dates(times), list(columns)
    out_times = np.insert(times, after, times[after - 1] + 1)
    return _dates(out_times), [np.insert(c, after, np.nan) for c in columns]


def _drawdown(values: FloatArray, initial: float) -> FloatArray:
    peaks = np.maximum.accumulate(np.concatenate(([initial], values)))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peaks > 0, (values - peaks) / peaks * 100.0, 0.0)


def _series(points: Sequence[Any]) -> tuple[IntArray, FloatArray]:
    times = np.fromiter((p[0] for p in points), dtype=np.int64, count=len(points))
    values = np.fromiter((float(p[1]) for p in points), dtype=np.float64, count=len(points))
    return times, values


def _style(ax: Axes) -> None:
    ax.grid(True, linewidth=0.3, alpha=0.7)
    ax.margins(x=0.005)


def _save(fig: Figure, out_dir: Path, name: str) -> str:
    fig.savefig(out_dir / name, dpi=_DPI)
    _pyplot().close(fig)
    return name


def month_starts(start: int, end: int) -> list[int]:
    """Unix ms of the first instant of every UTC calendar month that ``[start, end]`` touches."""
    first = datetime.fromtimestamp(start / 1000, tz=UTC)
    year, month = first.year, first.month
    months: list[int] = []
    while True:
        at = int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)
        if at > end:
            break
        months.append(at)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def draw_charts(data: ReportData, out_dir: Path) -> ChartFiles:
    """Draw every chart the data allows into ``out_dir``; returns their file names."""
    files = ChartFiles()
    if data.equity:
        files.equity = _equity_chart(data, out_dir)
    if data.prices or data.fills or data.levels:
        files.price_overview = _price_overview(data, out_dir)
        files.price_months = _price_months(data, out_dir)
    if data.convictions:
        files.conviction = _conviction_chart(data, out_dir)
    if data.weights:
        files.weights = _weights_chart(data, out_dir)
    if data.weeks:
        files.weekly = _weekly_chart(data, out_dir)
    return files


def _equity_chart(data: ReportData, out_dir: Path) -> str:
    plt = _pyplot()
    fig, (ax_eq, ax_dd) = plt.subplots(
        2, 1, figsize=(14, 6.5), sharex=True, gridspec_kw={"height_ratios": (2.2, 1)}
    )
    initial = float(data.initial_equity)
    curves = [(data.strategy_name, data.equity, _STRATEGY_COLOUR, 1.4)]
    for i, (name, points) in enumerate(data.baselines.items()):
        curves.append((name, points, _BASELINE_COLOURS[i % len(_BASELINE_COLOURS)], 0.9))
    for name, points, colour, width in curves:
        if not points:
            continue
        times, values = _series(points)
        ret = (values / initial - 1.0) * 100.0 if initial else values
        t, r = _reduce_last(times, ret)
        x, (y,) = _gap_breaks(t, r)
        ax_eq.plot(x, y, color=colour, linewidth=width, label=name)
        td, dd = _reduce_min(times, _drawdown(values, initial))
        x, (y,) = _gap_breaks(td, dd)
        ax_dd.plot(x, y, color=colour, linewidth=width * 0.8, label=name)
    ax_eq.axhline(0.0, color="#555555", linewidth=0.6)
    ax_eq.set_ylabel("return on initial equity (%)")
    ax_eq.legend(loc="upper left", fontsize=8)
    ax_eq.set_title("Equity against the baselines", fontsize=11)
    ax_dd.set_ylabel("drawdown (%)")
    for ax in (ax_eq, ax_dd):
        _style(ax)
    fig.tight_layout()
    return _save(fig, out_dir, "equity.png")


def _price_arrays(data: ReportData) -> tuple[IntArray, FloatArray]:
    return _series(data.prices)


def _fill_arrays(data: ReportData) -> tuple[IntArray, FloatArray, npt.NDArray[np.bool_]]:
    times = np.fromiter((f.time for f in data.fills), dtype=np.int64, count=len(data.fills))
    prices = np.fromiter(
        (float(f.price) for f in data.fills), dtype=np.float64, count=len(data.fills)
    )
    buys = np.fromiter((f.side == "BUY" for f in data.fills), dtype=np.bool_, count=len(data.fills))
    return times, prices, buys


def _draw_fills(
    ax: Axes, times: IntArray, prices: FloatArray, buys: npt.NDArray[np.bool_], size: float
) -> None:
    if times.size == 0:
        return
    ax.scatter(_dates(times[buys]), prices[buys], marker="^", s=size, color=_BUY, label="buy fill")
    ax.scatter(
        _dates(times[~buys]), prices[~buys], marker="v", s=size, color=_SELL, label="sell fill"
    )


def _price_overview(data: ReportData, out_dir: Path) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(14, 4.2))
    times, closes = _price_arrays(data)
    if times.size:
        t, low, high, last = _reduce_band(times, closes, 1500)
        x, (low, high, last) = _gap_breaks(t, low, high, last)
        ax.fill_between(x, low, high, color="#999999", alpha=0.35, linewidth=0)
        ax.plot(x, last, color="#333333", linewidth=0.7, label="close")
    ft, fp, fb = _fill_arrays(data)
    _draw_fills(ax, ft, fp, fb, 6.0 if ft.size < 2000 else 2.0)
    ax.set_title("Price and fills, whole period (one chart per month below)", fontsize=11)
    ax.set_ylabel(f"{data.symbol} price")
    ax.legend(loc="upper left", fontsize=8)
    _style(ax)
    fig.tight_layout()
    return _save(fig, out_dir, "price_overview.png")


def _price_months(data: ReportData, out_dir: Path) -> list[tuple[str, str]]:
    plt = _pyplot()
    import matplotlib.dates as mdates
    from matplotlib.collections import LineCollection

    times, closes = _price_arrays(data)
    ft, fp, fb = _fill_arrays(data)
    level_start = np.fromiter(
        (s.start for s in data.levels), dtype=np.int64, count=len(data.levels)
    )
    level_end = np.fromiter((s.end for s in data.levels), dtype=np.int64, count=len(data.levels))
    level_price = np.fromiter(
        (float(s.price) for s in data.levels), dtype=np.float64, count=len(data.levels)
    )
    level_buy = np.fromiter(
        (s.side == "BUY" for s in data.levels), dtype=np.bool_, count=len(data.levels)
    )
    charts: list[tuple[str, str]] = []
    months = month_starts(data.start, data.end)
    bounds = [*months[1:], None]
    for month, following in zip(months, bounds, strict=True):
        stop = following if following is not None else data.end + 1
        lo, hi = max(month, data.start), min(stop, data.end + 1)
        label = datetime.fromtimestamp(month / 1000, tz=UTC).strftime("%Y-%m")
        in_month = (times >= lo) & (times < hi)
        live = (level_start < hi) & (level_end >= lo)
        fm = (ft >= lo) & (ft < hi)
        if not (in_month.any() or fm.any() or (times.size == 0 and live.any())):
            continue  # a month inside a gap of the data: nothing traded, no market
        fig, ax = plt.subplots(figsize=(14, 4.6))
        if in_month.any():
            t, low, high, last = _reduce_band(times[in_month], closes[in_month], 3000)
            ax.fill_between(_dates(t), low, high, color="#999999", alpha=0.35, linewidth=0)
            ax.plot(_dates(t), last, color="#333333", linewidth=0.6, label="close")
        for mask, colour, name in (
            (live & level_buy, _BUY, "buy level"),
            (live & ~level_buy, _SELL, "sell level"),
        ):
            if not mask.any():
                continue
            a = mdates.date2num(_dates(np.maximum(level_start[mask], lo)))
            b = mdates.date2num(_dates(np.minimum(level_end[mask], hi)))
            y = level_price[mask]
            segments = np.stack((np.stack((a, y), axis=1), np.stack((b, y), axis=1)), axis=1)
            ax.add_collection(
                LineCollection(segments, colors=colour, linewidths=0.8, alpha=0.45, label=name)
            )
        _draw_fills(ax, ft[fm], fp[fm], fb[fm], 14.0 if fm.sum() < 500 else 5.0)
        ax.set_xlim(_dates(np.array([lo, hi], dtype=np.int64)))
        ax.autoscale(axis="y")
        ax.set_title(f"{label}: price, grid levels (resting orders) and fills", fontsize=11)
        ax.set_ylabel(f"{data.symbol} price")
        ax.legend(loc="upper left", fontsize=8, ncol=5)
        _style(ax)
        fig.tight_layout()
        charts.append((label, _save(fig, out_dir, f"price_{label}.png")))
    return charts


def _conviction_chart(data: ReportData, out_dir: Path) -> str:
    plt = _pyplot()
    points = data.convictions
    n = len(points)
    times = np.fromiter((p.time for p in points), dtype=np.int64, count=n)
    longs = np.fromiter((p.long for p in points), dtype=np.float64, count=n)
    shorts = np.fromiter((p.short for p in points), dtype=np.float64, count=n)
    regimes = [p.regime for p in points]
    starts = _bucket_starts(n, MAX_POINTS)
    sizes = np.diff(np.append(starts, n)).astype(np.float64)
    mean_long = np.add.reduceat(longs, starts) / sizes
    mean_short = np.add.reduceat(shorts, starts) / sizes
    bucket_regime = [max(set(chunk), key=chunk.count) for chunk in _chunks(regimes, starts, n)]
    fig, (ax_reg, ax_conv) = plt.subplots(
        2, 1, figsize=(14, 4.6), sharex=True, gridspec_kw={"height_ratios": (0.5, 2)}
    )
    import matplotlib.dates as mdates

    edges = np.append(times[starts], times[-1] + 60_000)
    x = mdates.date2num(_dates(edges))
    for regime, colour in _REGIME_COLOURS.items():
        bars = [
            (float(x[i]), float(x[i + 1] - x[i]))
            for i, r in enumerate(bucket_regime)
            if r == regime
        ]
        if bars:
            ax_reg.broken_barh(bars, (0, 1), facecolors=colour, label=regime)
    ax_reg.set_yticks([])
    ax_reg.set_title("Regime (dominant per bucket) and conviction", fontsize=11)
    ax_reg.legend(loc="upper left", fontsize=8, ncol=3)
    t = _dates(times[starts])
    ax_conv.plot(t, mean_long, color=_BUY, linewidth=0.8, label="long conviction")
    ax_conv.plot(t, -mean_short, color=_SELL, linewidth=0.8, label="short conviction (down)")
    ax_conv.axhline(0.0, color="#555555", linewidth=0.5)
    ax_conv.set_ylim(-1.05, 1.05)
    ax_conv.set_ylabel("conviction (bucket mean)")
    ax_conv.legend(loc="upper left", fontsize=8)
    _style(ax_conv)
    fig.tight_layout()
    return _save(fig, out_dir, "conviction.png")


#: How each weekly update's outcome is marked on the weights chart.
_SOURCE_MARKERS = {"start": "s", "refit": "o", "current": ".", "heuristic": "X", "skipped": "x"}


def _weights_chart(data: ReportData, out_dir: Path) -> str:
    """Each trend system's share of the ensemble as steps, one per weekly update."""
    plt = _pyplot()
    points = data.weights
    systems = list(dict.fromkeys(s for p in points for s in p.weights))
    end = max(data.end, points[-1].time)  # the last step lasts to the end of the period
    times = _dates(np.array([p.time for p in points] + [end], dtype=np.int64))
    fig, ax = plt.subplots(figsize=(14, 3.8))
    for system in systems:
        shares = [p.weights.get(system, 0.0) for p in points]
        colour = _REGIME_COLOURS.get(system, "#333333")
        ax.step(times, [*shares, shares[-1]], where="post", color=colour, label=system)
        for point, at, share in zip(points, times, shares, strict=False):
            ax.plot(at, share, marker=_SOURCE_MARKERS.get(point.source, "o"), color=colour)
    for source, marker in _SOURCE_MARKERS.items():
        if any(p.source == source for p in points):
            ax.plot([], [], marker=marker, linestyle="", color="#333333", label=source)
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel("share of the ensemble")
    ax.set_title("Signal system weights, one step per weekly update", fontsize=11)
    ax.legend(loc="upper left", fontsize=8, ncol=2 * len(systems))
    _style(ax)
    fig.tight_layout()
    return _save(fig, out_dir, "weights.png")


def _chunks(values: list[str], starts: npt.NDArray[np.intp], n: int) -> list[list[str]]:
    ends = [*starts[1:].tolist(), n]
    return [values[a:b] for a, b in zip(starts.tolist(), ends, strict=True)]


def _weekly_chart(data: ReportData, out_dir: Path) -> str:
    plt = _pyplot()
    weeks = data.weeks
    x = np.arange(len(weeks), dtype=np.float64)
    trading = np.array([float(w.trading) for w in weeks])
    fees = np.array([-float(w.fees) for w in weeks])
    funding = np.array([float(w.funding) for w in weeks])
    pnl = np.array([float(w.pnl) for w in weeks])
    fig, ax = plt.subplots(figsize=(14, 3.8))
    width = 0.27
    ax.bar(x - width, trading, width, color=_STRATEGY_COLOUR, label="trading (gross)")
    ax.bar(x, fees, width, color="#e07b00", label="fees (paid, negative)")
    ax.bar(x + width, funding, width, color="#8e44ad", label="funding")
    ax.plot(x, pnl, "o", color="#111111", markersize=3.5, label="week PnL")
    ax.axhline(0.0, color="#555555", linewidth=0.6)
    step = max(1, len(weeks) // 26)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([w.label for w in weeks][::step], rotation=45, fontsize=7, ha="right")
    ax.set_ylabel("quote")
    ax.set_title("Per-week attribution (ISO weeks, UTC)", fontsize=11)
    ax.legend(loc="upper left", fontsize=8, ncol=4)
    ax.grid(True, axis="y", linewidth=0.3)
    fig.tight_layout()
    return _save(fig, out_dir, "weekly.png")
