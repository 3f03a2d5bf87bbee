"""Report renderer port: the one model of a run that every report is drawn from.

Whatever the source (a backtest, an evaluation, a bot's journal), the application gathers it
into :class:`ReportData`; the renderer draws and writes exactly that, computing nothing that
a reader would take as a result. Money stays Decimal here; the renderer converts to floats
only to draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, Protocol

from domain.attribution import WeekAttribution


class EquityPoint(NamedTuple):
    """Equity at a time (Unix ms)."""

    time: int
    equity: Decimal


class PricePoint(NamedTuple):
    """A candle's close at its open time (Unix ms)."""

    time: int
    close: Decimal


class TradeMark(NamedTuple):
    """One fill, as drawn on the price chart."""

    time: int
    side: str
    price: Decimal
    quantity: Decimal
    liquidity: str


class LevelSpan(NamedTuple):
    """A limit order resting at ``price`` from ``start`` to ``end`` (Unix ms): a grid level."""

    price: Decimal
    side: str
    start: int
    end: int


class ConvictionPoint(NamedTuple):
    """The signal's decision on a candle."""

    time: int
    long: float
    short: float
    regime: str


class WeightPoint(NamedTuple):
    """The signal's system weights in use from ``time`` on, and where they came from.

    Attributes:
        time: When they came into use (Unix ms): a weekly boundary, or the run's start.
        source: ``start`` (the weights before the first update) or the update's outcome
            (``refit``, ``current``, ``heuristic``, ``skipped``).
        weights: Each trend system's share of the ensemble (UP, DOWN, NEUTRAL; sum 1).
    """

    time: int
    source: str
    weights: Mapping[str, float]


class ReliabilityRow(NamedTuple):
    """One bin of a calibration's reliability table.

    Attributes:
        low: Lower edge of the predicted probability.
        high: Upper edge.
        samples: Samples whose prediction fell in the bin.
        predicted: Their mean predicted probability (None: empty bin).
        observed: Their observed hit rate (None: empty bin).
    """

    low: float
    high: float
    samples: int
    predicted: float | None
    observed: float | None


class CalibrationReport(NamedTuple):
    """The latest weekly fit of the conviction-to-hit-rate map, with its scores.

    Attributes:
        fitted_at: The weekly boundary it was fitted at (Unix ms).
        method: ``platt``, ``isotonic`` or ``constant``.
        samples: Held-out samples it was fitted on.
        base_rate: Their hit rate (None: no samples).
        brier: Brier score of the map on them (None: no samples).
        brier_base_rate: Brier score of always predicting the base rate: the bar to beat.
        brier_previous: The previous map's Brier score on the same samples (None: none).
        reliability: Predicted against observed hit rate, per bin.
    """

    fitted_at: int
    method: str
    samples: int
    base_rate: float | None
    brier: float | None
    brier_base_rate: float | None
    brier_previous: float | None
    reliability: tuple[ReliabilityRow, ...]


class Table(NamedTuple):
    """A titled table of text cells, with an optional note shown under it."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


class Kpi(NamedTuple):
    """One of the seed's KPIs: its target, the measured value and whether it is met."""

    name: str
    target: str
    value: str
    met: bool | None


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one report shows.

    Attributes:
        title: The report's heading.
        source: Where the history came from (a path, a URL without password, a command).
        symbol: The traded symbol.
        market: ``SPOT`` or ``USDM_FUTURES``.
        start: First time covered, Unix ms.
        end: Last time covered, Unix ms.
        initial_equity: Equity before the first observation.
        equity: The strategy's equity curve.
        baselines: Equity curves of the baselines, by name, on the same data.
        prices: Closes (empty when the source has no market data).
        fills: Every fill.
        levels: Every limit order's resting interval.
        convictions: The signal's decisions (empty when the signal was off).
        weights: The signal's system weights over time, one point per weekly update
            (empty when the weights never were re-examined).
        calibration: The latest weekly calibration (None: none was fitted).
        weeks: Per-ISO-week attribution of the strategy's PnL.
        tables: Metrics and other tables, in display order.
        kpis: The seed's KPIs, met or not.
        notes: Plain-language caveats the reader must see (missing data, approximations).
        strategy_name: How the strategy's curve is labelled.
    """

    title: str
    source: str
    symbol: str
    market: str
    start: int
    end: int
    initial_equity: Decimal
    equity: Sequence[EquityPoint]
    baselines: Mapping[str, Sequence[EquityPoint]] = field(default_factory=dict)
    prices: Sequence[PricePoint] = ()
    fills: Sequence[TradeMark] = ()
    levels: Sequence[LevelSpan] = ()
    convictions: Sequence[ConvictionPoint] = ()
    weights: Sequence[WeightPoint] = ()
    calibration: CalibrationReport | None = None
    weeks: Sequence[WeekAttribution] = ()
    tables: Sequence[Table] = ()
    kpis: Sequence[Kpi] = ()
    notes: Sequence[str] = ()
    strategy_name: str = "strategy"


class ReportRenderer(Protocol):
    """Writes a report: one HTML file and the images it references, in one directory."""

    def render(self, data: ReportData, out_dir: Path) -> Path:
        """Write the report into ``out_dir`` (created if needed); returns the HTML file."""
        ...
