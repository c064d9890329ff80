"""The target-weight book: next-open fills, fees, slippage, the band, the breaker, shorts that pay to
borrow, round trips and their PnL — and, on a random market of several symbols with gaps, the very
equity and trades of the per-tick reference book, however the ticks are cut into parts; the
volatility target's sizing; the desk's mixture of the experts' portfolios."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from common.times import DAY_MS, MINUTE_MS
from config.schema import TraderConfig
from marketdata.chunk import BarChunk, problems
from tests.reference.portfolio import ReferenceBook
from trading.portfolio import BookRules, Decision, PortfolioBook
from trading.prices import ChunkPrices
from trading.sizing import VolatilityTarget, capped, equal_weights

SYMBOLS = ["AAA", "BBB", "CCC"]
RULES = BookRules(
    fee_rate=0.001,
    slippage=0.0,
    allow_short=False,
    borrow_rate_per_day=0.0,
    rebalance_band=0.0,
    drawdown_limit=0.0,
    cooldown_ms=0,
    initial_equity=1000.0,
)


def prices_of(rows: list[tuple[str, int, float, float]], interval_ms: int = MINUTE_MS) -> ChunkPrices:
    """rows: (symbol, open time, open, close), time-major."""
    symbol = np.array([SYMBOLS.index(r[0]) for r in rows], np.int64)
    times = np.array([r[1] for r in rows], np.int64)
    opens, closes = (np.array([r[i] for r in rows], np.float64) for i in (2, 3))
    highs, lows, volume = np.maximum(opens, closes), np.minimum(opens, closes), np.ones(len(rows))
    chunk = BarChunk(
        symbol,
        times,
        opens,
        highs,
        lows,
        closes,
        volume,
        problems(symbol, opens, highs, lows, closes, volume),
        interval_ms,
    )
    return ChunkPrices.of(chunk, np.unique(times), len(SYMBOLS))


def one_symbol(closes: list[float]) -> ChunkPrices:
    opens = [closes[0]] + closes[:-1]
    return prices_of([("AAA", MINUTE_MS * i, o, c) for i, (o, c) in enumerate(zip(opens, closes))])


def test_a_target_fills_at_the_next_bars_open_with_fees_and_the_book_is_marked_at_every_close():
    prices = one_symbol([100.0, 100.0, 110.0, 121.0, 121.0, 110.0])
    book = PortfolioBook(RULES, SYMBOLS)
    result = book.run(prices, 0, 6, [Decision(0, {0: 0.5}), Decision(3, {0: 0.0})])
    quantity = 0.5 * 1000 / 100  # half the equity at the decision's close, 100
    entry_fee, exit_fee = 100 * quantity * 0.001, 121 * quantity * 0.001
    expected = [
        1000,
        1000 - entry_fee,
        1000 - entry_fee + 10 * quantity,
        1000 - entry_fee + 21 * quantity,
        1000 - entry_fee - exit_fee + 21 * quantity,
        1000 - entry_fee - exit_fee + 21 * quantity,
    ]
    np.testing.assert_allclose(result.equity, expected, rtol=0, atol=1e-9)
    [opened], [closed] = result.opened, result.closed
    assert (opened.entry_time, opened.entry_price, closed.exit_time, closed.exit_price) == (60_000, 100, 240_000, 121)
    assert closed.pnl == pytest.approx(21 * quantity - entry_fee - exit_fee) and closed.fees == pytest.approx(
        entry_fee + exit_fee
    )
    np.testing.assert_allclose(result.exposure[[0, 1, 2, 4]], [0, 500 / expected[1], 550 / expected[2], 0], rtol=1e-12)
    assert result.traded.tolist() == pytest.approx([0, 500, 0, 0, 605, 0]) and result.fills == 2


def test_slippage_moves_both_fills_against_the_book_and_spot_is_long_only():
    prices = one_symbol([100.0, 100.0, 100.0, 100.0])
    book = PortfolioBook(dataclasses.replace(RULES, slippage=0.01, fee_rate=0.0), SYMBOLS)
    [closed] = book.run(prices, 0, 4, [Decision(0, {0: 1.0}), Decision(1, {0: 0.0})]).closed
    assert (closed.entry_price, closed.exit_price) == pytest.approx((101.0, 99.0))
    flat = PortfolioBook(RULES, SYMBOLS)
    assert not flat.run(prices, 0, 4, [Decision(0, {0: -0.5})]).opened  # a short on spot: flat
    short = PortfolioBook(dataclasses.replace(RULES, allow_short=True, borrow_rate_per_day=0.01), SYMBOLS)
    result = short.run(
        one_symbol([100.0, 100.0, 90.0, 90.0, 90.0]), 0, 5, [Decision(0, {0: -0.5}), Decision(3, {0: 0.0})]
    )
    [trade] = result.closed
    borrowed = 5 * 100 * 0.01 / 1440 + 2 * 5 * 90 * 0.01 / 1440  # 5 units short over ticks 1, 2 and 3
    assert trade.side == "SHORT" and trade.pnl == pytest.approx(5 * 10 - 0.5 - 0.45 - borrowed)


def test_the_band_skips_small_rebalances_but_never_an_open_a_close_or_a_turn():
    prices = one_symbol([100.0] * 8)
    book = PortfolioBook(dataclasses.replace(RULES, rebalance_band=0.05, fee_rate=0.0, allow_short=True), SYMBOLS)
    decisions = [
        Decision(0, {0: 0.01}),
        Decision(2, {0: 0.04}),
        Decision(3, {0: 0.2}),
        Decision(4, {0: -0.01}),
        Decision(6, {0: 0.0}),
    ]
    result = book.run(prices, 0, 8, decisions)
    assert [d.orders for d in decisions] == [{0: 1}, {}, {0: 1}, {0: -1}, {0: 1}]
    # two long lots (0.01, then grown to 0.2), both closed when it turns short; then the short closes
    assert [t.side for t in result.closed] == ["LONG", "LONG", "SHORT"] and result.fills == 5


def test_the_breaker_closes_everything_past_the_drawdown_limit_and_waits_out_its_cooldown():
    closes = [100.0, 100.0, 120.0, 100.0, 95.0, 95.0, 95.0, 95.0, 100.0, 100.0]
    rules = dataclasses.replace(RULES, fee_rate=0.0, drawdown_limit=0.1, cooldown_ms=3 * MINUTE_MS)
    book = PortfolioBook(rules, SYMBOLS)
    decisions = [Decision(0, {0: 1.0}), Decision(4, {0: 1.0}), Decision(7, {0: 1.0})]
    result = book.run(one_symbol(closes), 0, 10, decisions)
    # long 10 units from tick 1; the peak is 1200 at tick 2; tick 3's 1000 is 16.7 % below: closed at tick 4's open
    [first] = result.closed
    assert (first.exit_time, first.exit_price) == (4 * MINUTE_MS, 100.0)
    assert decisions[1].orders == {}  # tick 4 lies in the cooldown (until tick 6)
    assert [t.entry_time for t in result.opened] == [MINUTE_MS, 8 * MINUTE_MS]  # tick 7's decision opens again


def test_trades_are_lots_closed_first_in_first_out_and_an_open_lot_is_marked():
    book = PortfolioBook(dataclasses.replace(RULES, fee_rate=0.001), SYMBOLS)
    prices = one_symbol([100.0, 100.0, 110.0, 110.0, 120.0, 120.0])
    # 0.5 of 1000 at 100 (5 units), then to 1.0 of ~1050 at 110 (~4.5 more), then down to 0.2 at 120
    result = book.run(prices, 0, 6, [Decision(0, {0: 0.5}), Decision(2, {0: 1.0}), Decision(4, {0: 0.2})])
    first, second = result.opened
    assert (first.entry_price, first.quantity, second.entry_price) == (100.0, 5.0, 110.0)
    sold = result.closed
    assert [t.entry_price for t in sold] == [100.0, 110.0] and sold[0].quantity == 5.0  # the oldest lot first
    assert sold[0].pnl == pytest.approx(5 * 20 - 5 * 100 * 0.001 - 5 * 120 * 0.001)
    assert sold[0].remaining > 0 and sold[1].remaining == pytest.approx(second.quantity - sold[1].quantity)
    [(lot, (units, pnl))] = book.open_pnl().items()
    assert lot == second.trade_id and units == pytest.approx(second.quantity - sold[1].quantity)
    assert pnl == pytest.approx(units * (120 - 110) - units * 110 * 0.001)


def random_market(seed: int, ticks: int = 600):
    rng = np.random.default_rng(seed)
    rows, decisions = [], {}
    price = {s: 100.0 * (1 + i) for i, s in enumerate(SYMBOLS)}
    for t in range(ticks):
        for symbol in SYMBOLS:
            if rng.random() < 0.1:  # a gap of this symbol
                continue
            step = price[symbol] * float(np.exp(rng.normal(0, 0.01)))
            rows.append((symbol, t * MINUTE_MS, price[symbol], step))
            price[symbol] = step
        if rng.random() < 0.15:
            decisions[t] = {s: float(np.clip(rng.normal(0.2, 0.4), -0.6, 0.6)) for s in range(3) if rng.random() < 0.8}
    return prices_of(rows), decisions


@pytest.mark.parametrize("size", [1, 7, 600])
@pytest.mark.parametrize("allow_short", [False, True])
def test_the_book_trades_as_the_per_tick_reference_however_the_ticks_are_cut(size, allow_short):
    prices, decisions = random_market(11)
    rules = dataclasses.replace(
        RULES,
        slippage=0.0005,
        allow_short=allow_short,
        borrow_rate_per_day=0.02,
        rebalance_band=0.03,
        drawdown_limit=0.04,
        cooldown_ms=20 * MINUTE_MS,
    )
    book, oracle = PortfolioBook(rules, SYMBOLS), ReferenceBook(rules, SYMBOLS)
    closed, equity = [], []
    for lo in range(0, len(prices.time), size):
        hi = min(len(prices.time), lo + size)
        part = [Decision(t, targets) for t, targets in sorted(decisions.items()) if lo <= t < hi]
        result = book.run(prices, lo, hi, part)
        closed += result.closed
        equity += result.equity.tolist()
    for t, time in enumerate(prices.time.tolist()):
        bars = {
            SYMBOLS[s]: (float(prices.open[t, s]), float(prices.close[t, s]))
            for s in range(3)
            if not np.isnan(prices.close[t, s])
        }
        oracle.tick(time, bars, MINUTE_MS, {SYMBOLS[s]: w for s, w in decisions[t].items()} if t in decisions else None)
    np.testing.assert_allclose(equity, oracle.equity, rtol=1e-10)
    assert [(t.trade_id, t.exit_time, t.side) for t in closed] == [
        (t.trade_id, t.exit_time, t.side) for t in oracle.closed
    ]
    np.testing.assert_allclose([t.pnl for t in closed], [t.pnl for t in oracle.closed], rtol=1e-9, atol=1e-9)
    assert len(closed) > 20 and oracle.trips > 0  # the case covers round trips and the breaker


def constructed_returns(sigma_daily: float, days: int, symbols: int, correlation: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(days)[:, None]
    own = rng.standard_normal((days, symbols))
    return sigma_daily * (np.sqrt(correlation) * common + np.sqrt(1 - correlation) * own)


def test_the_volatility_targeted_book_hits_its_target_within_ten_percent_and_never_exceeds_full_exposure():
    symbols = ["AAA", "BBB", "CCC", "DDD"]
    config = TraderConfig(volatility_target=0.2, volatility_window="30d", max_exposure=1.0)
    sizer = VolatilityTarget(config, symbols, DAY_MS)
    returns = constructed_returns(0.8 / np.sqrt(365), 1500, 4, 0.5, seed=3)  # 80 % a year each, correlated 0.5
    closes = 100 * np.exp(np.cumsum(returns, axis=0))
    present = np.ones(4, bool)
    held, realised, exposures = None, [], []
    for day in range(len(closes)):
        if held is not None:
            realised.append(float(held @ (closes[day] / closes[day - 1] - 1)))
        sizer.observe(day, np.arange(4), closes[day])
        held = sizer.weights(np.ones(4), present)
        exposures.append(float(np.abs(held).sum()))
    volatility = np.std(realised[60:], ddof=1) * np.sqrt(365)
    assert volatility == pytest.approx(0.2, rel=0.1)
    assert max(exposures) <= 1.0 + 1e-12
    calm = VolatilityTarget(config, symbols, DAY_MS)  # a calm market would need leverage: capped at the equity
    quiet = 100 * np.exp(np.cumsum(constructed_returns(0.05 / np.sqrt(365), 60, 4, 0.5, seed=4), axis=0))
    for day in range(60):
        calm.observe(day, np.arange(4), quiet[day])
    assert np.abs(calm.weights(np.ones(4), present)).sum() == pytest.approx(1.0)
    half = calm.weights(np.array([1.0, 0.5, 0.0, 0.0]), present)
    assert half[2] == half[3] == 0.0 and 0 < half[1] < half[0]


def test_equal_weights_and_the_cap():
    assert equal_weights(np.array([True, False, True]), 1.0).tolist() == [0.5, 0.0, 0.5]
    assert capped(np.array([0.8, -0.6]), 1.0).tolist() == pytest.approx([0.8 / 1.4, -0.6 / 1.4])
