"""Metrics equal hand-computed values on a small constructed trade log."""

from __future__ import annotations

import math

import pytest

from analytics.metrics import DAY_MS, trade_metrics


def trade(i: int, pnl: float, day: int) -> dict:
    return {"trade_id": f"t{i}", "pnl": pnl, "return": pnl / 1000, "exit_time": day * DAY_MS + i}


def test_metrics_of_a_small_log_match_hand_computation():
    log = [trade(1, 100.0, 0), trade(2, -50.0, 0), trade(3, -150.0, 1), trade(4, 200.0, 2)]
    m = trade_metrics(log, initial_equity=1000.0)
    assert m.trades == 4 and m.win_rate == 0.5
    assert m.total_pnl == 100.0 and m.roi == pytest.approx(0.1) and m.average_pnl == 25.0
    # equity 1100 (peak), 1050, 900, 1100: the deepest fall is 200 from 1100
    assert m.max_drawdown == pytest.approx(200 / 1100)
    assert m.profit_factor == pytest.approx(300 / 200)
    daily = [1050 / 1000 - 1, 900 / 1050 - 1, 1100 / 900 - 1]
    mean = sum(daily) / 3
    std = math.sqrt(sum((r - mean) ** 2 for r in daily) / 2)
    assert m.sharpe == pytest.approx(mean / std * math.sqrt(365))


def test_an_empty_log_has_no_rates():
    m = trade_metrics([], initial_equity=1000.0)
    assert (m.trades, m.win_rate, m.roi, m.max_drawdown, m.profit_factor, m.sharpe) == (0, None, 0.0, 0.0, None, None)


def test_curve_metrics_and_exposure_match_hand_computation():
    from analytics.metrics import curve_metrics, exposure
    times = [0, DAY_MS // 2, DAY_MS, DAY_MS + 10, 2 * DAY_MS]
    values = [1000.0, 1200.0, 900.0, 1000.0, 1100.0]
    m = curve_metrics(times, values, 1000.0, positions=2, winners=1)
    assert m.trades == 2 and m.win_rate == 0.5
    assert m.roi == pytest.approx(0.1) and m.total_pnl == pytest.approx(100.0)
    assert m.max_drawdown == pytest.approx(300 / 1200)  # 1200 -> 900
    daily = [1200 / 1000 - 1, 1000 / 1200 - 1, 1100 / 1000 - 1]  # each day's last value
    mean = sum(daily) / 3
    std = math.sqrt(sum((r - mean) ** 2 for r in daily) / 2)
    assert m.sharpe == pytest.approx(mean / std * math.sqrt(365))
    # two symbols x 10 bars of 60 s; one trade held 3 bars, one 2 bars
    trades = [{"entry_time": 0, "exit_time": 180_000}, {"entry_time": 60_000, "exit_time": 180_000}]
    assert exposure(trades, symbol_bars=20, interval_ms=60_000) == pytest.approx(5 / 20)
