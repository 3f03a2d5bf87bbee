"""Gathering a journal into the report model (application only; the journal is a fake)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from application.ports.journal_history import DecisionPoint, OrderSpan, RunRecord
from application.ports.signal_journal import WeightUpdateEntry
from application.report.journal import BUY_AND_HOLD, EmptyJournal, gather_journal
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import Liquidity, MarketType, Side
from domain.events import FundingPaid
from domain.orders import Fill

D = Decimal
T0 = 1_704_067_200_000  # Monday 2024-01-01
WEEK = 7 * 86_400_000


class FakeJournal:
    def __init__(self, runs: list[RunRecord], start: dict[str, str] | None) -> None:
        self._runs = runs
        self._start = start
        self.fill_list: list[Fill] = []
        self.funding: list[FundingPaid] = []
        self.spans: list[OrderSpan] = []
        self.equity: list[tuple[int, Decimal]] = []
        self.decision_list: list[DecisionPoint] = []

    def runs(self) -> list[RunRecord]:
        return self._runs

    def initial_account(self) -> dict[str, str] | None:
        return self._start

    def fills(self) -> list[Fill]:
        return self.fill_list

    def funding_payments(self) -> list[FundingPaid]:
        return self.funding

    def order_spans(self) -> list[OrderSpan]:
        return self.spans

    def equity_curve(self) -> list[tuple[int, Decimal]]:
        return self.equity

    def decisions(self) -> list[DecisionPoint]:
        return self.decision_list

    def weight_updates(self) -> list[WeightUpdateEntry]:
        return []


def _instrument(market: str, symbol: str):  # type: ignore[no-untyped-def]
    return builtin_instrument(MarketType(market), symbol)


def _spot_journal() -> FakeJournal:
    journal = FakeJournal(
        [RunRecord(T0, "BTCUSDT", "SPOT")], {"cash": "1000", "base": "0.01", "price": "40000"}
    )
    # A base-asset commission is worth fee x price; a BNB one its recorded quote value.
    journal.fill_list = [
        Fill(1, "a", Side.BUY, D("0.01"), D("40000"), D("0.00001"), "BTC", Liquidity.MAKER, T0 + 5),
        Fill(
            2,
            "b",
            Side.SELL,
            D("0.01"),
            D("41000"),
            D("0.001"),
            "BNB",
            Liquidity.TAKER,
            T0 + WEEK + 5,
            fee_quote=D("0.3"),
        ),
    ]
    journal.equity = [(T0, D("1400")), (T0 + 10, D("1401")), (T0 + WEEK + 10, D("1418.6"))]
    journal.spans = [
        OrderSpan("a", "BUY", D("40000"), T0 + 1, T0 + 5, True),
        OrderSpan("c", "SELL", D("42000"), T0 + 2, T0 + 3, False),
    ]
    journal.decision_list = [DecisionPoint(T0 + 60_000, 0.4, 0.1, "UP")]
    return journal


def test_fees_are_valued_as_the_account_books_them_and_weeks_add_up() -> None:
    data = gather_journal(_spot_journal(), _instrument, "fake")
    assert data.initial_equity == D("1400")  # 1000 USDT + 0.01 BTC at 40,000
    assert [w.fees for w in data.weeks] == [D("0.40000"), D("0.3")]
    assert sum(w.pnl for w in data.weeks) == D("1418.6") - D("1400")
    assert [w.label for w in data.weeks] == ["2024-W01", "2024-W02"]
    assert [f.side for f in data.fills] == ["BUY", "SELL"]
    # The open order rests until the end of the history; the closed one until its last event.
    assert [(s.start, s.end) for s in data.levels] == [(T0 + 1, T0 + 5), (T0 + 2, data.end)]
    assert data.end == T0 + WEEK + 10 and data.start == T0
    assert data.convictions[0].regime == "UP"
    assert data.tables[0].title == "Summary"
    assert dict(data.tables[0].rows)["fills"] == "2 (maker 1 / taker 1)"


def test_order_times_from_a_faster_clock_neither_stretch_the_period_nor_draw_levels() -> None:
    """An accelerated replay: the market is in 2024, the bot stamps its order events today."""
    journal = _spot_journal()
    today = T0 + 150 * WEEK
    journal.spans.append(OrderSpan("d", "BUY", D("39000"), today, today + 5, True))
    journal.spans.append(OrderSpan("e", "BUY", D("39500"), T0 + 2, today, False))
    data = gather_journal(journal, _instrument, "fake")
    assert data.end == T0 + WEEK + 10
    assert [(s.start, s.end) for s in data.levels] == [
        (T0 + 1, T0 + 5),
        (T0 + 2, data.end),
        (T0 + 2, data.end),
    ]
    assert any("1 of 4 orders rested outside the market period" in n for n in data.notes)


def test_a_stop_mark_from_a_faster_clock_is_shown_at_the_period_end() -> None:
    """The mark written at a stop carries the bot's clock: today, in an accelerated replay."""
    journal = _spot_journal()
    journal.equity.append((T0 + 150 * WEEK, D("1420")))
    data = gather_journal(journal, _instrument, "fake")
    last = T0 + WEEK + 5 + 60_000  # the last fill, plus a minute
    assert data.end == last
    assert [(p.time, p.equity) for p in data.equity][-1] == (last, D("1420"))
    assert any("1 equity mark(s) stamped after the last decision" in n for n in data.notes)


def test_closes_give_the_price_chart_and_a_buy_and_hold_line() -> None:
    candles = [
        Candle(T0 + i * 60_000, D(p), D(p), D(p), D(p), D(1), T0 + i * 60_000 + 59_999)
        for i, p in enumerate(("40000", "40400", "39600"))
    ]
    outside = Candle(T0 - WEEK, D(1), D(1), D(1), D(1), D(1), T0 - WEEK + 59_999)
    data = gather_journal(_spot_journal(), _instrument, "fake", [outside, *candles])
    assert [p.close for p in data.prices] == [D("40000"), D("40400"), D("39600")]
    assert [p.equity for p in data.baselines[BUY_AND_HOLD]] == [D(1400), D(1414), D(1386)]
    assert not any("--data" in n for n in data.notes)


def test_a_journal_the_bot_never_started_is_refused() -> None:
    with pytest.raises(EmptyJournal, match="never started"):
        gather_journal(FakeJournal([], None), _instrument, "empty.db")


def test_the_latest_calibration_is_reported_even_from_an_older_journaled_summary() -> None:
    """An update journaled before its summary carried the reliability table still shows one:
    taken from the calibration journaled with it."""
    table = [{"low": 0.5, "high": 0.6, "count": 40, "predicted": 0.55, "observed": 0.6}]
    old_summary = {
        "boundary": T0 + WEEK,
        "source": "refit",
        "system_weights_before": {"UP": 0.3, "DOWN": 0.3, "NEUTRAL": 0.4},
        "system_weights_after": {"UP": 0.1, "DOWN": 0.1, "NEUTRAL": 0.8},
        "calibration": {
            "method": "platt",
            "samples": 40,
            "base_rate": 0.6,
            "brier": 0.23,
            "brier_base_rate": 0.24,
            "brier_previous_out_of_sample": None,
        },
    }
    fitted = {"fitted_at": T0 + WEEK, "reliability": table}
    entry = WeightUpdateEntry(
        T0 + WEEK, "refit", True, "{}", json.dumps(fitted), json.dumps(old_summary)
    )
    journal = _spot_journal()
    journal.weight_updates = lambda: [entry]  # type: ignore[method-assign]
    data = gather_journal(journal, _instrument, "fake")
    c = data.calibration
    assert c is not None
    assert (c.fitted_at, c.method, c.samples, c.brier, c.brier_base_rate, c.brier_previous) == (
        T0 + WEEK,
        "platt",
        40,
        0.23,
        0.24,
        None,
    )
    assert [tuple(r) for r in c.reliability] == [(0.5, 0.6, 40, 0.55, 0.6)]
    assert gather_journal(_spot_journal(), _instrument, "fake").calibration is None
