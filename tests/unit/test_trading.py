"""The ensemble's arithmetic and the paper broker's fills: next open only, fees, slippage, limits."""

from __future__ import annotations

import pytest

from config.schema import TraderConfig
from messages.trading import ModelVote
from signals import Bar
from trading.broker import PaperBroker
from trading.ensemble import combine

VOTES = [ModelVote("trading_ai", "BUY", 0.8), ModelVote("lava_ai", "SELL", 0.5), ModelVote("lgbm_ai", None, 0.0)]


def test_combine_renormalises_over_the_models_that_voted():
    weights = {"trading_ai": 0.2, "lava_ai": 0.3, "lgbm_ai": 0.5}
    score, action = combine(VOTES, weights, threshold=0.1)
    assert score == pytest.approx((0.2 * 0.8 - 0.3 * 0.5) / 0.5)
    assert action == "HOLD"  # 0.02 < 0.1
    assert combine(VOTES[:1], weights, 0.1) == (pytest.approx(0.8), "BUY")
    assert combine([ModelVote("lgbm_ai", None, 0.0)], weights, 0.1) == (0.0, "HOLD")


def bar(t: int, o: float, h: float, l: float, c: float) -> Bar:
    return Bar(t, o, h, l, c, 10.0)


def test_an_order_fills_at_the_next_bars_open_never_at_the_decision_bar():
    config = TraderConfig(fee_rate=0.001, slippage=0.0, stop_loss=0.5, take_profit=0.5, position_fraction=0.5)
    broker = PaperBroker(config)
    broker.on_bar("BTCUSDT", bar(0, 100, 101, 99, 100))
    broker.decide("BTCUSDT", 0, "BUY", VOTES)
    opened, closed = broker.on_bar("BTCUSDT", bar(60_000, 102, 103, 101, 102))
    assert [o.entry_price for o in opened] == [102.0] and opened[0].entry_time == 60_000
    broker.decide("BTCUSDT", 60_000, "SELL", VOTES)
    _, closed = broker.on_bar("BTCUSDT", bar(120_000, 104, 105, 103, 104))
    [trade] = closed
    assert trade.exit_price == 104.0 and trade.exit_time == 120_000
    quantity = 10_000 * 0.5 / 102
    assert trade.fees == pytest.approx((102 + 104) * quantity * 0.001)
    assert trade.pnl == pytest.approx(2 * quantity - trade.fees)
    assert trade.ret == pytest.approx(trade.pnl / (102 * quantity))
    assert broker.equity == pytest.approx(10_000 + trade.pnl)


def test_slippage_moves_both_fills_against_the_trader():
    broker = PaperBroker(TraderConfig(fee_rate=0.0, slippage=0.01, stop_loss=0.5, take_profit=0.5))
    broker.decide("X", 0, "BUY", VOTES)
    [opened], _ = broker.on_bar("X", bar(60_000, 100, 100, 100, 100))
    broker.decide("X", 60_000, "SELL", VOTES)
    _, [closed] = broker.on_bar("X", bar(120_000, 100, 100, 100, 100))
    assert opened.entry_price == pytest.approx(101.0) and closed.exit_price == pytest.approx(99.0)
    assert closed.pnl < 0


def test_stop_loss_take_profit_and_max_holding_close_positions():
    config = TraderConfig(fee_rate=0.0, slippage=0.0, stop_loss=0.02, take_profit=0.04, max_holding_bars=3)
    broker = PaperBroker(config)
    broker.decide("X", 0, "BUY", VOTES)
    _, closed = broker.on_bar("X", bar(60_000, 100, 100.5, 97, 99))  # low reaches the stop at 98
    assert [(t.exit_price, t.exit_reason) for t in closed] == [(98.0, "stop-loss")]
    broker.decide("X", 60_000, "BUY", VOTES)
    _, closed = broker.on_bar("X", bar(120_000, 100, 105, 99.5, 104))
    assert [(t.exit_price, t.exit_reason) for t in closed] == [(104.0, "take-profit")]
    broker.decide("X", 120_000, "BUY", VOTES)
    for t in (180_000, 240_000, 300_000):
        assert broker.on_bar("X", bar(t, 100, 100.1, 99.9, 100))[1] == []
    _, closed = broker.on_bar("X", bar(360_000, 100.5, 101, 100, 100))
    assert [(t.exit_time, t.exit_price, t.exit_reason) for t in closed] == [(360_000, 100.5, "max holding time")]


def test_spot_is_long_only_unless_shorts_are_allowed():
    long_only = PaperBroker(TraderConfig())
    long_only.decide("X", 0, "SELL", VOTES)
    assert long_only.on_bar("X", bar(60_000, 100, 100, 100, 100)) == ([], [])
    shorts = PaperBroker(TraderConfig(allow_short=True, fee_rate=0.0, slippage=0.0))
    shorts.decide("X", 0, "SELL", VOTES)
    [opened], _ = shorts.on_bar("X", bar(60_000, 100, 100, 100, 100))
    assert opened.side == "SHORT"
