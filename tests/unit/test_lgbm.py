"""lgbm_ai's labels, calibration and cross-sectional features, on constructed data: fee-aware triple
barriers exactly as the broker would exit, Platt scaling that recovers a known mapping, and a
market factor that uses only bars of the same time."""

from __future__ import annotations

import numpy as np
import pytest

from signals.lgbm import MARKET_FEATURES, SYMBOL_FEATURES, Barriers, fit_platt, market_features, triple_barrier_labels

BARRIERS = Barriers(take_profit=0.04, stop_loss=0.02, horizon=3, fee_rate=0.001, slippage=0.0)


def path(opens, highs, lows, closes, symbol=0, start=0):
    n = len(opens)
    times = np.arange(start, start + n, dtype=np.int64) * 60_000
    bars = np.column_stack([opens, highs, lows, closes]).astype(float)
    return times, np.full(n, symbol, np.int64), bars


def test_a_target_a_stop_a_gap_and_a_time_limit_each_label_the_trade_as_the_broker_would_exit_it():
    # sample 0 enters at bar 1's open (100): bar 2 reaches 104 -> a win
    # sample 1 enters at bar 2's open (100): bar 2 falls to 97 (stop 98) before... -> a loss
    # sample 2 enters at bar 3 (100) and times out at bar 5's close 100.1: +0.1 % gross, -0.1 % net -> a loss
    opens = [100, 100, 100, 100, 100, 100.1, 100.1]
    highs = [100, 101, 104.5, 100.5, 100.5, 100.5, 100.5]
    lows = [100, 99.5, 97, 99.5, 99.5, 99.5, 99.5]
    closes = [100, 100, 100, 100, 100, 100.1, 100.1]
    times, symbol, bars = path(opens, highs, lows, closes)
    label, end = triple_barrier_labels(times, symbol, bars, BARRIERS, 60_000, slippage=0.0, fee_rate=0.001)
    # the stop comes first when a bar reaches both: bar 2 reaches 97 and 104.5 -> sample 0 loses
    assert label[:4].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert np.isnan(label[4:]).all()  # not enough bars after them
    assert end[0] == times[3]
    highs[2], lows[2] = 104.5, 99.0  # now only the target: a win for samples 0 and 1
    times, symbol, bars = path(opens, highs, lows, closes)
    label, _ = triple_barrier_labels(times, symbol, bars, BARRIERS, 60_000, slippage=0.0, fee_rate=0.001)
    assert label[:2].tolist() == [1.0, 1.0]
    # a gap: a bar missing inside the window leaves no label
    times[3:] += 60_000
    label, _ = triple_barrier_labels(times, symbol, bars, BARRIERS, 60_000, slippage=0.0, fee_rate=0.001)
    assert np.isnan(label[:3]).all()


def test_platt_scaling_recovers_a_known_calibration():
    rng = np.random.default_rng(4)
    raw = rng.uniform(0.05, 0.95, 20_000)
    logit = np.log(raw / (1 - raw))
    truth = 1 / (1 + np.exp(-(0.5 * logit - 0.7)))
    label = (rng.uniform(size=raw.size) < truth).astype(float)
    a, b = fit_platt(raw, label)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(-0.7, abs=0.05)


def test_the_market_factor_is_the_mean_over_the_symbols_of_the_same_bar_time():
    times = np.array([0, 0, 0, 60, 60], np.int64)
    own = np.zeros((5, len(SYMBOL_FEATURES)))
    r48 = SYMBOL_FEATURES.index("ret_48")
    own[:, r48] = [0.01, 0.03, 0.05, -0.02, 0.02]
    own[2, 0] = np.nan  # still warming up: not part of the mean, and no features of its own
    found = market_features(times, own)
    market_48 = MARKET_FEATURES.index("market_48")
    assert found[0, market_48] == pytest.approx(0.02) and found[3, market_48] == pytest.approx(0.0)
    assert found[1, MARKET_FEATURES.index("relative_48")] == pytest.approx(0.01)
    assert np.isnan(found[2]).all()
