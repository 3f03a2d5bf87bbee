"""The backtest use case: drive the decision core over historical candles at full speed.

A plain loop, no asyncio: for each closed candle the venue matches resting orders, the
execution service applies the resulting events, the strategy answers each event and then the
candle itself. Live trading runs the same strategy and execution service; only the venue and
the source of candles differ.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from application.execution import ExecutionService
from application.ports.exchange import ReplayVenue
from application.run_record import RunRecorder
from application.signals import SignalTracker
from domain.candles import Candle
from domain.events import ExecutionEvent
from domain.orders import Order
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
        recorder: Records candles, fills, requests and decisions for the run's metrics.
    """

    def __init__(
        self,
        venue: ReplayVenue,
        strategy: Strategy,
        execution: ExecutionService,
        progress: Callable[[int], None] | None = None,
        progress_every: int = 10_000,
        signals: SignalTracker | None = None,
        recorder: RunRecorder | None = None,
    ) -> None:
        self._signals = signals
        self._recorder = recorder
        self._venue = venue
        self._strategy = strategy
        self._execution = execution
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
        venue = self._venue
        strategy = self._strategy
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
        on_candle = venue.on_candle
        decide = strategy.on_candle
        signal = self._signals.on_candle if self._signals is not None else None
        recorder = self._recorder
        record = recorder.on_candle if recorder is not None else None
        for candle in candles:
            execution.mark_price = candle.close
            events = on_candle(candle)
            if events:
                self._react(execution.apply(events))
            commands = decide(candle, execution)
            if commands:
                if recorder is not None:
                    recorder.on_commands(commands)
                self._react(execution.execute(commands))
            observe(equity(candle.close))
            if record is not None:
                record(candle)
            if signal is not None:
                decision = signal(candle)
                if decision is not None and recorder is not None:
                    recorder.on_decision(decision)
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

    def _react(self, produced: list[tuple[ExecutionEvent, Order | None]]) -> None:
        """Let the strategy answer every event, including events its answers produce."""
        queue = deque(produced)
        strategy = self._strategy
        execution = self._execution
        recorder = self._recorder
        while queue:
            event, order = queue.popleft()
            if recorder is not None:
                recorder.on_event(event, order)
            commands = strategy.on_execution(event, order, execution)
            if commands:
                if recorder is not None:
                    recorder.on_commands(commands)
                queue.extend(execution.execute(commands))

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
        )
