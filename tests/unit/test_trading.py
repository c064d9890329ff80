"""The ensemble's arithmetic and the chunk broker: next-open fills, fees, slippage, risk limits, equity
marked to market — and, on a random market of several symbols with gaps, the very trades of the
per-bar broker it replaced, however the bars are cut into chunks."""

from __future__ import annotations

import dataclasses

import msgspec
import numpy as np
import pytest

from config.schema import TraderConfig
from marketdata.chunk import BarChunk, problems
from messages.trading import ModelVote
from signals.model import ABSTAIN, BUY, HOLD, SELL
from tests.reference import Bar
from tests.reference.broker import PaperBroker as ReferenceBroker
from trading.broker import BookRules, BookState, PaperBroker
from trading.ensemble import scores
from trading.shadow import shadow_rules

SYMBOLS = ["AAA", "BBB", "CCC"]


def chunk_of(rows: list[tuple[str, int, float, float, float, float]]) -> BarChunk:
    """rows: (symbol, open time, open, high, low, close), time-major."""
    symbol = np.array([SYMBOLS.index(r[0]) for r in rows], np.int64)
    columns = [np.array([r[i] for r in rows], np.float64) for i in range(2, 6)]
    volume = np.ones(len(rows))
    return BarChunk(symbol, np.array([r[1] for r in rows], np.int64), *columns, volume,
                    problems(symbol, *columns, volume), 60_000)


def run(broker: PaperBroker, rows, score, size: int = 10**9):
    """The broker over `rows` in chunks of `size` ticks: (opened, closed, equity per tick)."""
    chunk = chunk_of(rows)
    ticks = np.unique(chunk.open_time)
    opened, closed, equity = [], [], []
    for first in range(0, len(ticks), size):
        part_ticks = ticks[first:first + size]
        lo, hi = np.searchsorted(chunk.open_time, [part_ticks[0], part_ticks[-1] + 1])
        result = broker.run(chunk.rows(lo, hi), part_ticks, np.asarray(score, float)[lo:hi])
        opened += result.opened
        closed += result.closed
        equity += result.equity.tolist()
    return opened, closed, equity


def test_scores_renormalise_over_the_models_that_voted():
    action = np.array([[BUY, BUY, ABSTAIN], [SELL, HOLD, ABSTAIN], [ABSTAIN, ABSTAIN, ABSTAIN]])
    confidence = np.array([[0.8, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 0.0]])
    got = scores(action, confidence, np.array([0.2, 0.3, 0.5]))
    assert got[0] == pytest.approx((0.2 * 0.8 - 0.3 * 0.5) / 0.5)
    assert got[1] == pytest.approx(0.2 * 0.5 / 0.5) and got[2] == 0.0
    per_row = scores(action, confidence, np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    assert per_row.tolist() == pytest.approx([0.8, 1.0 * 0.0 + 0.0, 0.0])


def test_an_order_fills_at_the_next_bars_open_with_fees_never_at_the_decision_bar():
    config = TraderConfig(fee_rate=0.001, slippage=0.0, stop_loss=0.5, take_profit=0.5, position_fraction=0.5,
                          entry_threshold=0.3, exit_threshold=-0.3)
    broker = PaperBroker(BookRules.of(config), 10_000.0, SYMBOLS)
    rows = [("AAA", 0, 100, 101, 99, 100), ("AAA", 60_000, 102, 103, 101, 102), ("AAA", 120_000, 104, 105, 103, 104)]
    opened, [trade], equity = run(broker, rows, [0.5, -0.5, 0.0])
    assert [(o.entry_time, o.entry_price) for o in opened] == [(60_000, 102.0)]
    assert (trade.exit_time, trade.exit_price) == (120_000, 104.0)
    quantity = 10_000 * 0.5 / 102
    assert trade.fees == pytest.approx((102 + 104) * quantity * 0.001)
    assert trade.pnl == pytest.approx(2 * quantity - trade.fees) and broker.state.equity == pytest.approx(10_000 + trade.pnl)
    # marked to market: flat, then long at 102 closing at 102 (minus the entry fee), then realised
    assert equity == pytest.approx([10_000, 10_000 - 102 * quantity * 0.001, 10_000 + trade.pnl])


def test_slippage_moves_both_fills_against_the_trader():
    broker = PaperBroker(BookRules.of(TraderConfig(fee_rate=0.0, slippage=0.01, stop_loss=0.5, take_profit=0.5)),
                         10_000.0, SYMBOLS)
    rows = [("AAA", t, 100, 100, 100, 100) for t in (0, 60_000, 120_000)]
    [opened], [closed], _ = run(broker, rows, [1.0, -1.0, 0.0])
    assert opened.entry_price == pytest.approx(101.0) and closed.exit_price == pytest.approx(99.0) and closed.pnl < 0


def test_stop_loss_take_profit_and_max_holding_close_positions():
    rules = BookRules.of(TraderConfig(fee_rate=0.0, slippage=0.0, stop_loss=0.02, take_profit=0.04, max_holding_bars=3,
                                      slip_risk_exits=False))
    rows = [("AAA", 0, 100, 100, 100, 100), ("AAA", 60_000, 100, 100.5, 97, 99),      # buys; stop at 98 hit
            ("AAA", 120_000, 100, 105, 99.5, 104),                                   # bought again; target 104
            ("AAA", 180_000, 100, 100.1, 99.9, 100), ("AAA", 240_000, 100, 100.1, 99.9, 100),
            ("AAA", 300_000, 100, 100.1, 99.9, 100), ("AAA", 360_000, 100.5, 101, 100, 100)]
    score = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    _, closed, _ = run(PaperBroker(rules, 10_000.0, SYMBOLS), rows, score)
    assert [(t.exit_time, t.exit_price, t.exit_reason) for t in closed] == [
        (60_000, 98.0, "stop-loss"), (120_000, 104.0, "take-profit"), (360_000, 100.5, "max holding time")]


def test_spot_is_long_only_unless_shorts_are_allowed():
    rows = [("AAA", t, 100, 100, 100, 100) for t in (0, 60_000)]
    assert run(PaperBroker(BookRules.of(TraderConfig()), 10_000.0, SYMBOLS), rows, [-1.0, 0.0])[0] == []
    shorts = BookRules.of(TraderConfig(allow_short=True, fee_rate=0.0, slippage=0.0))
    [opened], _, _ = run(PaperBroker(shorts, 10_000.0, SYMBOLS), rows, [-1.0, 0.0])
    assert opened.side == "SHORT"


def test_a_trader_standing_aside_opens_nothing_however_sure_the_votes_and_its_shadow_books_still_trade():
    rows = [("AAA", t, 100, 100, 100, 100) for t in (0, 60_000, 120_000)]
    aside = TraderConfig(stand_aside=True, allow_short=True)
    assert run(PaperBroker(BookRules.of(aside), 10_000.0, SYMBOLS), rows, [1.0, -1.0, 0.0]) == ([], [], [10_000.0] * 3)
    [opened], _, _ = run(PaperBroker(shadow_rules(aside), 10_000.0, SYMBOLS), rows, [1.0, 0.0, 0.0])
    assert opened.side == "LONG"


def random_market(seed: int, ticks: int = 3_000) -> tuple[list, np.ndarray]:
    """Three symbols, random walks; one symbol misses stretches (per-symbol gaps); random scores."""
    rng = np.random.default_rng(seed)
    rows, score = [], []
    prices = {s: 100.0 for s in SYMBOLS}
    for tick in range(ticks):
        for symbol in SYMBOLS:
            if symbol == "CCC" and (tick // 200) % 3 == 1:
                continue
            open_ = prices[symbol]
            close = open_ * float(np.exp(rng.normal(0, 0.01)))
            high = max(open_, close) * (1 + abs(rng.normal(0, 0.004)))
            low = min(open_, close) * (1 - abs(rng.normal(0, 0.004)))
            prices[symbol] = close * float(np.exp(rng.normal(0, 0.002)))  # opens gap from the last close
            rows.append((symbol, tick * 60_000, open_, high, low, close))
            score.append(float(rng.choice([-0.9, -0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.9])))
    return rows, np.array(score)


def reference_trades(config: TraderConfig, rows, score):
    broker, closed, opened = ReferenceBroker(config), [], []
    threshold = config.entry_threshold
    by_tick: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        by_tick.setdefault(row[1], []).append(i)
    for tick, indices in by_tick.items():
        for i in sorted(indices, key=lambda i: rows[i][0]):
            o, c = broker.on_bar(rows[i][0], Bar(tick, *rows[i][2:], 1.0))
            opened += o
            closed += c
        for i in sorted(indices, key=lambda i: rows[i][0]):
            action = "BUY" if score[i] >= threshold else "SELL" if score[i] <= -threshold else "HOLD"
            broker.decide(rows[i][0], tick, action, [ModelVote("m", action, abs(score[i]))])
    return opened, closed, broker.equity


@pytest.mark.parametrize("size", [1, 7, 256])
@pytest.mark.parametrize("allow_short", [False, True])
def test_the_chunk_broker_makes_the_per_bar_brokers_trades_however_the_bars_are_cut(size, allow_short):
    config = TraderConfig(allow_short=allow_short, max_holding_bars=40, stop_loss=0.02, take_profit=0.03,
                          entry_threshold=0.3, exit_threshold=-0.3, slip_risk_exits=False)  # the old broker's rules
    rows, score = random_market(seed=11)
    expected_opened, expected_closed, expected_equity = reference_trades(config, rows, score)
    broker = PaperBroker(BookRules.of(config), config.initial_equity, SYMBOLS)
    opened, closed, equity = run(broker, rows, score, size)
    assert len(closed) > 100
    key = lambda t: (t.exit_time, t.symbol)  # noqa: E731
    got = sorted(((t.trade_id, t.side, t.entry_price, t.exit_time, t.exit_price, t.quantity, t.fees, t.pnl, t.exit_reason)
                  for t in closed), key=lambda t: (t[3], t[0]))
    want = sorted(((t.trade_id, t.side, t.entry_price, t.exit_time, t.exit_price, t.quantity, t.fees, t.pnl, t.exit_reason)
                   for t in sorted(expected_closed, key=key)), key=lambda t: (t[3], t[0]))
    assert got == want
    assert [o.trade_id for o in opened] == [o.trade_id for o in expected_opened]
    assert broker.state.equity == expected_equity


def test_equity_marked_to_market_is_the_same_however_the_bars_are_cut():
    config = TraderConfig(max_holding_bars=40, entry_threshold=0.3)
    rows, score = random_market(seed=5, ticks=800)
    curves = [run(PaperBroker(BookRules.of(config), 10_000.0, SYMBOLS), rows, score, size)[2] for size in (1, 7, 256)]
    assert curves[0] == curves[1] == curves[2]
    assert len(curves[0]) == 800 and min(curves[0]) < 10_000 < max(curves[0])


def test_hysteresis_a_minimum_hold_and_slipped_stops():
    config = TraderConfig(fee_rate=0.0, slippage=0.01, stop_loss=0.05, take_profit=0.5, entry_threshold=0.5,
                          exit_threshold=-0.2, min_holding_bars=3, max_holding_bars=100)
    rows = [("AAA", 60_000 * t, 100, 100, 100, 100) for t in range(8)]
    # buys at 0.6; 0.3 and -0.1 are above the exit threshold; -0.5 at bar 2 comes before the minimum hold
    score = [0.6, 0.3, -0.5, -0.1, -0.3, 0.0, 0.0, 0.0]
    [opened], [closed], _ = run(PaperBroker(BookRules.of(config), 10_000.0, SYMBOLS), rows, score)
    assert opened.entry_time == 60_000 and closed.exit_time == 5 * 60_000 and closed.exit_reason == "signal"
    stop = [("AAA", 0, 100, 100, 100, 100), ("AAA", 60_000, 100, 100, 100, 100), ("AAA", 120_000, 100, 100, 90, 92)]
    _, [stopped], _ = run(PaperBroker(BookRules.of(config), 10_000.0, SYMBOLS), stop, [0.9, 0.0, 0.0])
    entry = 100 * 1.01
    assert stopped.exit_reason == "stop-loss" and stopped.exit_price == pytest.approx(entry * 0.95 * 0.99)


@pytest.mark.parametrize("size", [1, 7, 256])
def test_the_trend_gate_lets_entries_through_only_above_the_symbols_ema_however_the_bars_are_cut(size):
    """Gated, the broker trades as an ungated one whose entry signals below the symbol's EMA (a per-bar
    reference, seeded with the first close) were never given."""
    config = TraderConfig(max_holding_bars=40, stop_loss=0.02, take_profit=0.03, entry_threshold=0.3,
                          exit_threshold=-0.3, trend_bars=50)
    rows, score = random_market(seed=3, ticks=1_500)
    alpha, trend, masked = 2 / 51, {}, score.copy()
    for i, (symbol, _, _, _, _, close) in enumerate(rows):
        trend[symbol] = close if symbol not in trend else trend[symbol] + alpha * (close - trend[symbol])
        if close <= trend[symbol] and score[i] >= config.entry_threshold:
            masked[i] = 0.0
    _, gated, gated_equity = run(PaperBroker(BookRules.of(config), 10_000.0, SYMBOLS), rows, score, size)
    ungated_rules = dataclasses.replace(BookRules.of(config), trend_bars=0)
    _, expected, expected_equity = run(PaperBroker(ungated_rules, 10_000.0, SYMBOLS), rows, masked, size)
    _, everything, _ = run(PaperBroker(ungated_rules, 10_000.0, SYMBOLS), rows, score, size)
    assert [(t.trade_id, t.exit_time, t.pnl) for t in gated] == [(t.trade_id, t.exit_time, t.pnl) for t in expected]
    assert gated_equity == expected_equity
    assert 30 < len(gated) < len(everything)


def test_the_trend_gate_goes_on_where_it_was_after_a_restore():
    """The EMA is part of the book's state: a book restored from a snapshot trades as one never stopped."""
    config = TraderConfig(max_holding_bars=40, entry_threshold=0.3, trend_bars=50)
    rows, score = random_market(seed=4, ticks=1_000)
    half = next(i for i, row in enumerate(rows) if row[1] >= 500 * 60_000)
    _, whole, _ = run(PaperBroker(BookRules.of(config), 10_000.0, SYMBOLS), rows, score, 64)
    first = PaperBroker(BookRules.of(config), 10_000.0, SYMBOLS)
    _, before, _ = run(first, rows[:half], score[:half], 64)
    restored = PaperBroker(BookRules.of(config), 10_000.0, SYMBOLS)
    restored.state = msgspec.msgpack.decode(msgspec.msgpack.encode(first.state), type=BookState)
    assert set(restored.state.trend) == set(SYMBOLS)
    _, after, _ = run(restored, rows[half:], score[half:], 64)
    assert [(t.trade_id, t.pnl) for t in before + after] == [(t.trade_id, t.pnl) for t in whole]


class EveryBarBroker(PaperBroker):
    """The same broker visiting every bar: what skipping to the next event must not change."""

    def _next_event(self, symbol, bars, start):
        return min(start, len(bars.tick))


@pytest.mark.parametrize("size", [7, 256])
@pytest.mark.parametrize("allow_short", [False, True])
def test_skipping_to_the_next_event_trades_as_visiting_every_bar(size, allow_short):
    config = TraderConfig(allow_short=allow_short, max_holding_bars=30, stop_loss=0.02, take_profit=0.03,
                          entry_threshold=0.3, exit_threshold=-0.1, min_holding_bars=5, trend_bars=20)
    rows, score = random_market(seed=7, ticks=1_500)
    skipping = run(PaperBroker(BookRules.of(config), 10_000.0, SYMBOLS), rows, score, size)
    visiting = run(EveryBarBroker(BookRules.of(config), 10_000.0, SYMBOLS), rows, score, size)
    trades = lambda result: [(t.trade_id, t.exit_time, t.exit_reason, t.pnl) for t in result[1]]  # noqa: E731
    assert len(trades(skipping)) > 100 and {t[2] for t in trades(skipping)} >= {"signal", "stop-loss", "take-profit"}
    assert trades(skipping) == trades(visiting) and skipping[2] == visiting[2]
