"""The backtest use case: drive the decision core over historical candles at full speed.

A plain loop, no asyncio, around the one :class:`~application.decision_cycle.DecisionCycle`
that live and paper trading run too: for each closed candle the venue matches resting
orders, the cycle applies the resulting events, updates the signal and the market facts,
asks the strategy and executes its commands. Only the venue, the source of candles and the
crash-safety scope (none here) differ from a live run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from application.brakes import BrakeGate
from application.calendar_events import CalendarEvents
from application.decision_cycle import DecisionCycle
from application.execution import ExecutionService
from application.ports.exchange import ReplayVenue
from application.run_record import RunRecorder
from application.signals import SignalTracker
from domain.candles import Candle
from domain.market_facts import MarketFacts
from domain.performance import DrawdownTracker
from domain.strategy import Strategy

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class BacktestReport:
    """Everything a backtest measured. Money is Decimal, exact."""

    symbol: str
    market: str
    candles: int
    first_open_time: int | None
    last_open_time: int | None
    gaps: int
    missing_candles: int
    orders: int
    fills: int
    maker_fills: int
    taker_fills: int
    rejects: int
    risk_blocks: int
    cancels: int
    fees: Decimal
    funding: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    initial_equity: Decimal
    final_equity: Decimal
    final_cash: Decimal
    position: Decimal
    last_price: Decimal | None
    max_drawdown: Decimal
    max_drawdown_amount: Decimal
    #: What the drawdown brakes and the leverage guard did (None: brakes off).
    brakes: dict[str, object] | None = None
    #: Weekend-mode switches and CME gaps the strategy's calendar reported (all 0 without a
    #: calendar overlay).
    calendar: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with Decimals as strings (exact in JSON)."""
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


class BacktestRunner:
    """Runs one strategy on one venue over a candle series.

    Args:
        venue: The simulated exchange, advanced candle by candle.
        strategy: The decision core.
        execution: The execution service wired to ``venue``.
        progress: Called with the number of candles processed every ``progress_every``.
        progress_every: Progress callback period in candles.
        signals: The signal decided on every candle (features, systems, ensemble), exactly
            as in a live run.
        market: The market facts handed to the strategy (default windows when not given).
        recorder: Records candles, fills, requests and decisions for the run's metrics.
        brakes: The drawdown brake and leverage guard, applied in the cycle as live.
        calendar: Reports the strategy's weekend switches and CME gaps (None: counted
            only, for the report).
    """

    def __init__(
        self,
        venue: ReplayVenue,
        strategy: Strategy,
        execution: ExecutionService,
        progress: Callable[[int], None] | None = None,
        progress_every: int = 10_000,
        signals: SignalTracker | None = None,
        market: MarketFacts | None = None,
        recorder: RunRecorder | None = None,
        brakes: BrakeGate | None = None,
        calendar: CalendarEvents | None = None,
    ) -> None:
        self._recorder = recorder
        self.calendar = calendar if calendar is not None else CalendarEvents()
        self._execution = execution
        self.brakes = brakes
        self.cycle = DecisionCycle(
            execution,
            strategy,
            replay=venue,
            signals=signals,
            market=market,
            observer=recorder,
            brakes=brakes,
            calendar=self.calendar,
        )
        self._progress = progress
        self._progress_every = progress_every

    def run(
        self, candles: Iterable[Candle], gaps: Callable[[], list[Any]] | None = None
    ) -> BacktestReport:
        """Process every candle and report.

        Args:
            candles: Closed 1m candles in time order.
            gaps: Returns the gaps the source met (read after the loop).
        """
        execution = self._execution
        account = execution.account
        drawdown = DrawdownTracker(account.initial_equity)
        observe = drawdown.observe
        equity = account.equity
        progress = self._progress
        every = self._progress_every
        next_report = every
        count = 0
        first: int | None = None
        last_candle: Candle | None = None
        step = self.cycle.on_candle
        for candle in candles:
            step(candle)
            observe(equity(candle.close))
            if last_candle is None:
                first = candle.open_time
            last_candle = candle
            count += 1
            if count == next_report and progress is not None:
                progress(count)
                next_report += every
        if progress is not None:
            progress(count)
        gap_list = gaps() if gaps is not None else []
        return self._report(count, first, last_candle, gap_list, drawdown)

    def _report(
        self,
        count: int,
        first: int | None,
        last: Candle | None,
        gaps: list[Any],
        drawdown: DrawdownTracker,
    ) -> BacktestReport:
        execution = self._execution
        account = execution.account
        position = account.position
        stats = execution.stats
        price = last.close if last is not None else None
        mark = price if price is not None else ZERO
        return BacktestReport(
            symbol=execution.instrument.symbol,
            market=execution.instrument.market.value,
            candles=count,
            first_open_time=first,
            last_open_time=last.open_time if last is not None else None,
            gaps=len(gaps),
            missing_candles=sum(getattr(g, "missing", 0) for g in gaps),
            orders=stats.orders_placed,
            fills=stats.fills,
            maker_fills=stats.maker_fills,
            taker_fills=stats.taker_fills,
            rejects=stats.rejects,
            risk_blocks=stats.risk_blocks,
            cancels=stats.cancels,
            fees=account.fees_quote,
            funding=position.funding,
            realized_pnl=position.realized_pnl,
            unrealized_pnl=position.unrealized_pnl(mark),
            initial_equity=account.initial_equity,
            final_equity=account.equity(mark),
            final_cash=account.cash,
            position=position.quantity,
            last_price=price,
            max_drawdown=drawdown.max_drawdown,
            max_drawdown_amount=drawdown.max_drawdown_amount,
            brakes=self._brake_summary(),
            calendar=self.calendar.stats.to_dict(),
        )

    def _brake_summary(self) -> dict[str, object] | None:
        gate = self.brakes
        if gate is None:
            return None
        summary = gate.stats.to_dict()
        summary["level"] = str(gate.level)
        brake = gate.brake
        if brake is not None:
            summary["peak"] = str(brake.peak)
        return summary
