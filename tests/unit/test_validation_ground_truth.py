"""Each ground-truth check of ``gridbot validate`` passes on agreeing books and fails on a
doctored journal, log or emulator state."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from bootstrap.validation.books import ExchangeBooks, ExchangeTrade
from bootstrap.validation.ground_truth import (
    CheckResult,
    ProcessOutcome,
    check_client_ids_unique,
    check_critical_errors,
    check_events_once,
    check_fills_identical,
    check_flat,
    check_leverage,
    check_log_lines,
    check_orders_known,
    check_pnl,
    check_position_and_balances,
    run_checks,
)
from bootstrap.validation.journal import (
    BotAccount,
    JournalEvent,
    JournalFill,
    JournalOrder,
    JournalView,
)
from bootstrap.validation.logs import LogIndex, read_logs

D = Decimal
P = "gridbot-"
FLAT = "stopped after 10 candles\nflattened: 1 open orders cancelled, 0.002 closed; exchange "
FLAT += "position 0, flat confirmed by the exchange"


def trade(tid: int, oid: int, cid: str, side: str, price: str, qty: str, fee: str) -> ExchangeTrade:
    return ExchangeTrade(tid, oid, cid, side, D(price), D(qty), D(fee), "USDT", True, D(0), tid)


def books(**changes: object) -> ExchangeBooks:
    base = ExchangeBooks(
        futures=True,
        symbol="BTCUSDT",
        quote_asset="USDT",
        base_asset="BTC",
        step_size=D("0.001"),
        client_orders={"gridbot-0": [100], "gridbot-1": [101], "gridbot-2": [102]},
        trades=[
            trade(1, 100, "gridbot-0", "BUY", "100000", "0.002", "0.04"),
            trade(2, 101, "gridbot-1", "SELL", "100200", "0.002", "0.04008"),
        ],
        trades_complete=True,
        open_orders=[],
        initial_balances={"USDT": D(10000)},
        balances={"USDT": D("10000.31992")},
        position=D(0),
        realized_pnl=D("0.4"),
        fees={"USDT": D("0.08008")},
        funding=D(0),
        max_leverage=D("0.02"),
        max_leverage_at=1,
        leverage_observations=12,
        worst_case_leverage=D("0.5"),
        last_price=D("100100"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def journal(**changes: object) -> JournalView:
    base = JournalView(
        orders={
            "gridbot-0": JournalOrder("gridbot-0", "FILLED", 100, "grid:1"),
            "gridbot-1": JournalOrder("gridbot-1", "FILLED", 101, "tp"),
            "gridbot-2": JournalOrder("gridbot-2", "CANCELED", 102, "grid:2"),
        },
        events=[
            JournalEvent("gridbot-0", "OrderAccepted", {"exchange_order_id": "100"}),
            JournalEvent("gridbot-0", "OrderFilled", {"trade_id": "1"}),
            JournalEvent("gridbot-1", "OrderAccepted", {"exchange_order_id": "101"}),
            JournalEvent("gridbot-1", "OrderFilled", {"trade_id": "2"}),
            JournalEvent("gridbot-2", "OrderAccepted", {"exchange_order_id": "102"}),
            JournalEvent("gridbot-2", "OrderCanceled", {}),
        ],
        fills=[
            JournalFill(
                1, "gridbot-0", "BUY", D("0.002"), D(100000), D("0.04"), "USDT", "MAKER", 1
            ),
            JournalFill(
                2, "gridbot-1", "SELL", D("0.002"), D(100200), D("0.04008"), "USDT", "MAKER", 2
            ),
        ],
        funding=[],
        account=BotAccount(
            cash=D("10000.31992"),
            base=D(0),
            position=D(0),
            realized_pnl=D("0.4"),
            fees_quote=D("0.08008"),
            fees_by_asset={"USDT": D("0.08008")},
            funding=D(0),
        ),
        reconciliations=[],
        equity=[],
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def log_lines(skip: tuple[str, ...] = ()) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = [
        {"event": "order.submit", "client_order_id": "gridbot-0"},
        {"event": "order.accepted", "client_order_id": "gridbot-0"},
        {"event": "fill", "client_order_id": "gridbot-0", "trade_id": 1},
        {"event": "order.submit", "client_order_id": "gridbot-1"},
        {"event": "order.accepted", "client_order_id": "gridbot-1"},
        {"event": "fill", "client_order_id": "gridbot-1", "trade_id": 2},
        {"event": "order.submit", "client_order_id": "gridbot-2"},
        {"event": "order.accepted", "client_order_id": "gridbot-2"},
        {"event": "order.canceled", "client_order_id": "gridbot-2"},
    ]
    out = []
    for line in lines:
        key = f"{line['event']}:{line.get('client_order_id')}"
        if key not in skip:
            out.append(
                {"time": "2025-01-01T00:00:00.000Z", "level": "INFO", "run_id": "r1", **line}
            )
    return out


def index(lines: list[dict[str, object]]) -> LogIndex:
    idx = LogIndex()
    for line in lines:
        idx.add(line)
    return idx


def outcomes(**last: object) -> list[ProcessOutcome]:
    first = ProcessOutcome(0, -9, "SIGKILL:random", 0, True)
    final = dataclasses.replace(ProcessOutcome(1, 0, "SIGTERM", 0, True), **last)  # type: ignore[arg-type]
    return [first, final]


def all_checks(
    b: ExchangeBooks, j: JournalView, logs: LogIndex, o: list[ProcessOutcome]
) -> list[CheckResult]:
    return run_checks(b, j, logs, o, prefix=P, cap=D(3), final_output=FLAT)


def test_agreeing_books_pass_every_check() -> None:
    results = all_checks(books(), journal(), index(log_lines()), outcomes())
    assert [r.name for r in results if not r.passed] == []
    assert len(results) == 10


def test_an_exchange_order_unknown_to_the_journal_fails() -> None:
    orders = {**books().client_orders, "gridbot-3": [103], "other-9": [104]}
    result = check_orders_known(books(client_orders=orders), journal(), P)
    assert not result.passed and result.evidence["unknown"] == ["gridbot-3"]
    # Another bot's order (other prefix) is not ours to know.
    orders.pop("gridbot-3")
    assert check_orders_known(books(client_orders=orders), journal(), P).passed


def test_a_journal_order_under_another_exchange_id_fails() -> None:
    rows = dict(journal().orders)
    rows["gridbot-2"] = JournalOrder("gridbot-2", "CANCELED", 999, "grid:2")
    result = check_orders_known(books(), journal(orders=rows), P)
    assert not result.passed and "gridbot-2" in result.evidence["mismatched"][0]


@pytest.mark.parametrize(
    "repeat",
    [
        JournalEvent("gridbot-0", "OrderAccepted", {"exchange_order_id": "100"}),
        JournalEvent("gridbot-2", "OrderCanceled", {}),
    ],
)
def test_an_acceptance_or_cancellation_journaled_twice_fails(repeat: JournalEvent) -> None:
    doctored = journal(events=[*journal().events, repeat])
    result = check_events_once(doctored)
    assert not result.passed
    assert result.evidence["repeated"] == [f"{repeat.client_order_id}: {repeat.kind} x2"]
    assert check_events_once(journal()).passed


def test_a_new_acceptance_after_a_cancel_replace_is_not_a_repeat() -> None:
    replaced = JournalEvent("gridbot-0", "OrderAccepted", {"exchange_order_id": "900"})
    assert check_events_once(journal(events=[*journal().events, replaced])).passed


def test_a_client_id_used_for_two_orders_fails() -> None:
    orders = {**books().client_orders, "gridbot-1": [101, 105]}
    result = check_client_ids_unique(books(client_orders=orders))
    assert not result.passed and result.evidence["reused"] == ["gridbot-1: orders [101, 105]"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", D("0.003")), ("price", D("100201")), ("fee", D("0.04009")), ("side", "BUY")],
)
def test_a_fill_that_differs_in_any_field_fails(field: str, value: object) -> None:
    fills = list(journal().fills)
    fills[1] = dataclasses.replace(fills[1], **{field: value})  # type: ignore[arg-type]
    result = check_fills_identical(books(), journal(fills=fills))
    assert not result.passed and len(result.evidence["differ"]) == 1


def test_a_missing_an_extra_fill_and_a_truncated_history_fail() -> None:
    fills = list(journal().fills)
    assert not check_fills_identical(books(), journal(fills=fills[:1])).passed
    extra = dataclasses.replace(fills[0], trade_id=3)
    assert not check_fills_identical(books(), journal(fills=[*fills, extra])).passed
    assert not check_fills_identical(books(trades_complete=False), journal()).passed


def test_balances_and_position_must_match_up_to_the_display_rounding() -> None:
    acct = journal().account
    within = dataclasses.replace(acct, cash=acct.cash + D("0.00000001"))
    assert check_position_and_balances(books(), journal(account=within)).passed
    beyond = dataclasses.replace(acct, cash=acct.cash + D("0.00000002"))
    assert not check_position_and_balances(books(), journal(account=beyond)).passed
    moved = dataclasses.replace(acct, position=D("0.001"))
    assert not check_position_and_balances(books(), journal(account=moved)).passed


def test_spot_balances_are_compared_per_asset() -> None:
    spot = books(futures=False, balances={"USDT": D("9000"), "BTC": D("0.01")})
    acct = dataclasses.replace(journal().account, cash=D("9000"), base=D("0.01"))
    assert check_position_and_balances(spot, journal(account=acct)).passed
    short = dataclasses.replace(acct, base=D("0.009"))
    assert not check_position_and_balances(spot, journal(account=short)).passed


@pytest.mark.parametrize(
    ("field", "delta"),
    [("realized_pnl", D("0.01")), ("fees_quote", D("0.001")), ("funding", D("-0.5"))],
)
def test_pnl_fees_and_funding_must_equal_the_exchange_accounting(
    field: str, delta: Decimal
) -> None:
    acct = journal().account
    doctored = dataclasses.replace(acct, **{field: getattr(acct, field) + delta})  # type: ignore[arg-type]
    result = check_pnl(books(), journal(account=doctored))
    assert not result.passed
    assert check_pnl(books(), journal()).passed


def test_spot_fees_are_compared_per_asset() -> None:
    spot = books(futures=False, fees={"BTC": D("0.000002"), "USDT": D("0.2")})
    acct = dataclasses.replace(
        journal().account, fees_by_asset={"BTC": D("0.000002"), "USDT": D("0.2")}
    )
    assert check_pnl(spot, journal(account=acct)).passed
    wrong = dataclasses.replace(acct, fees_by_asset={"USDT": D("0.2")})
    assert not check_pnl(spot, journal(account=wrong)).passed


def test_leverage_above_the_cap_or_never_measured_fails() -> None:
    assert check_leverage(books(max_leverage=D("3")), D(3)).passed
    above = check_leverage(books(max_leverage=D("3.0001")), D(3))
    assert not above.passed and above.evidence["max_effective"] == "3.0001"
    assert not check_leverage(books(leverage_observations=0), D(3)).passed


@pytest.mark.parametrize(
    "missing",
    [
        "order.submit:gridbot-1",
        "fill:gridbot-0",
        "order.canceled:gridbot-2",
        "order.accepted:gridbot-2",
    ],
)
def test_every_journaled_order_event_and_fill_needs_its_log_line(missing: str) -> None:
    result = check_log_lines(journal(), index(log_lines(skip=(missing,))))
    assert not result.passed
    assert sum(result.evidence["missing"].values()) == 1


def test_an_order_adopted_by_reconciliation_needs_no_submit_line() -> None:
    report = {"adopted_unknown": ["gridbot-1"]}
    j = journal(reconciliations=[report])
    assert check_log_lines(j, index(log_lines(skip=("order.submit:gridbot-1",)))).passed


def test_a_full_log_rotation_fails_the_log_check() -> None:
    logs = index(log_lines())
    logs.full = True
    assert not check_log_lines(journal(), logs).passed


def test_flat_needs_no_open_order_no_position_and_the_confirmation() -> None:
    assert check_flat(books(), P, FLAT).passed
    assert not check_flat(books(open_orders=["gridbot-7"]), P, FLAT).passed
    assert check_flat(books(open_orders=["manual-1"]), P, FLAT).passed  # not ours
    assert not check_flat(books(position=D("-0.001")), P, FLAT).passed
    assert not check_flat(books(), P, "stopped after 10 candles").passed
    spot = books(futures=False, balances={"USDT": D(9000), "BTC": D("0.0009")})
    assert check_flat(spot, P, FLAT).passed  # dust below one lot
    assert not check_flat(dataclasses.replace(spot, balances={"BTC": D("0.002")}), P, FLAT).passed


@pytest.mark.parametrize(
    "last",
    [
        {"exit_code": 1},  # SIGTERM but the engine failed
        {"ended_by": None, "exit_code": 3},  # reconciliation refused on its own
        {"tracebacks": 1},
    ],
)
def test_unexpected_exits_and_tracebacks_are_critical(last: dict[str, object]) -> None:
    assert not check_critical_errors(outcomes(**last), index(log_lines())).passed


def test_a_killed_process_must_have_died_of_the_sigkill() -> None:
    bad = [ProcessOutcome(0, 1, "SIGKILL:submit_placed", 0, True), *outcomes()[1:]]
    assert not check_critical_errors(bad, index(log_lines())).passed


def test_an_error_line_in_the_log_is_critical() -> None:
    lines = [*log_lines(), {"event": "log.error", "level": "ERROR", "message": "engine failed"}]
    result = check_critical_errors(outcomes(), index(lines))
    assert not result.passed and "engine failed" in result.detail


def test_the_log_index_reads_rotated_files_oldest_first_and_counts_torn_lines(
    tmp_path: Path,
) -> None:
    log = tmp_path / "gridbot.log"
    lines = log_lines()
    (tmp_path / "gridbot.log.2").write_text("\n".join(json.dumps(x) for x in lines[:3]) + "\n")
    (tmp_path / "gridbot.log.1").write_text(
        "\n".join(json.dumps(x) for x in lines[3:6]) + '\n{"event": "fill", "tra\n'
    )
    log.write_text("\n".join(json.dumps(x) for x in lines[6:]) + "\n")
    idx = read_logs(log, backups=5)
    assert idx.files == ["gridbot.log.2", "gridbot.log.1", "gridbot.log"]
    assert idx.lines == len(lines) and idx.torn == 1 and not idx.full
    assert check_log_lines(journal(), idx).passed
    assert read_logs(log, backups=2).full
