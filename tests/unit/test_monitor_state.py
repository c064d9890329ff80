"""The monitor's derived figures: each symbol's bar age with the live late alarm, today's PnL, and the
exchange's side of the book when an executor runs."""

from __future__ import annotations

import time

from messages.control import ActorStatus, StatusReply
from messages.counters import ExecutorCounters
from messages.market import Clock, KlineBatch
from messages.trading import TradeClosed
from monitor.state import MonitorState
from monitor.view import render_text

DAY = 86_400_000


def batch(symbols: list[str], open_time: int) -> KlineBatch:
    n = len(symbols)
    return KlineBatch.of(
        interval_ms=60_000,
        symbol=symbols,
        open_time=[open_time] * n,
        open=[1.0] * n,
        high=[1.0] * n,
        low=[1.0] * n,
        close=[1.0] * n,
        volume=[1.0] * n,
        quote_volume=[1.0] * n,
        trades=[1.0] * n,
        taker_buy_base=[1.0] * n,
    )


def closed(trade_id: str, exit_time: int, pnl: float) -> TradeClosed:
    return TradeClosed(
        trade_id=trade_id,
        symbol="AAAUSDT",
        side="LONG",
        entry_time=exit_time - 60_000,
        entry_price=1.0,
        exit_time=exit_time,
        exit_price=1.0,
        quantity=1.0,
        fees=0.0,
        pnl=pnl,
        ret=0.0,
        exit_reason="signal",
        votes=[],
    )


def test_a_live_bar_older_than_a_bar_plus_the_deadline_is_late_and_a_replay_never_is():
    live = MonitorState(mode="live", interval_s=60.0, tick_deadline_s=5.0)
    now = time.time()
    minute = int(now // 60) * 60_000
    live.on_message("md.kline", batch(["AAAUSDT"], minute - 60_000))  # closed at `minute`: fresh
    live.on_message("md.kline", batch(["BBBUSDT"], minute - 4 * 60_000), now)  # three bars behind
    fresh_age, fresh_late = live.bar_age("AAAUSDT", now)
    stale_age, stale_late = live.bar_age("BBBUSDT", now)
    assert not fresh_late and 0 <= fresh_age < 60
    assert stale_late and stale_age > 180
    assert live.bar_age("CCCUSDT", now) == (None, False)
    replay = MonitorState(mode="replay", interval_s=60.0)
    replay.on_message("md.kline", batch(["AAAUSDT"], 1_600_000_000_000))
    age, late = replay.bar_age("AAAUSDT", time.time() + 30)
    assert not late and 29 < age < 40  # since it arrived


def test_todays_pnl_counts_the_trades_closed_on_the_current_bars_utc_day():
    state = MonitorState()
    day = 18_700 * DAY
    for trade in (
        closed("a", day - 60_000, 50.0),
        closed("b", day + 60_000, -20.0),
        closed("c", day + 2 * 60_000, 5.0),
    ):
        state.on_message("trade.closed", trade)
    assert state.day_pnl() == 0.0  # no bar yet
    state.on_message("md.clock", Clock(bar_time=day + 3 * 60_000), now=0.0)
    assert state.day_pnl() == -15.0


def test_with_an_executor_the_trading_panel_shows_the_exchanges_orders_and_holdings_beside_the_paper_book():
    state = MonitorState()
    executor = ExecutorCounters(
        orders=12, filled=11, refused={"NOTIONAL": 2, "HALTED": 1}, holdings={"BTCUSDT": 0.0123, "ETHUSDT": 0.0}
    )
    status = [ActorStatus(name="executor", pid=7, state="running", restarts=0, heartbeat_age_s=0.1, uptime_s=9.0,
                          counters=executor)]  # fmt: skip
    state.on_status(StatusReply(daemon_pid=1, run_dir="run", uptime_s=9.0, actors=status), time.monotonic())
    screen = render_text(state, width=140, height=40)
    assert "trading (paper · exchange)" in screen
    assert "exchange: 12 orders, 11 filled, 3 refused (most: NOTIONAL)" in screen
    assert "held there (base units): BTC 0.0123 " in screen and "open positions: 0" in screen
    assert "exchange" not in render_text(MonitorState(), width=140, height=40)
