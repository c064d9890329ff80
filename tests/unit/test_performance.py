"""The one set of figures and statistics: hand-computed on small constructed cases, the reality check
equal to arch's SPA test and blind to many configurations with no edge, the deflated Sharpe ratio
equal to Bailey & López de Prado's formula worked by hand."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from analytics.performance import Part, deflated_sharpe, reality_check, sharpe_difference, summarize
from common.times import DAY_MS


def test_the_figures_of_a_small_curve_match_hand_computation():
    times = np.array([0, DAY_MS // 2, DAY_MS, DAY_MS + 10, 2 * DAY_MS], np.int64)
    equity = np.array([1000.0, 1200.0, 900.0, 1000.0, 1100.0])
    part = Part(
        times,
        equity,
        1000.0,
        [120.0, -20.0],
        traded=np.array([500.0, 0, 0, 500.0, 0]),
        exposure=np.array([0.5, 0.5, 0.0, 0.2, 0.2]),
    )
    figures, daily = summarize([part])
    assert figures.roi == pytest.approx(0.1) and (figures.trades, figures.win_rate) == (2, 0.5)
    assert figures.max_drawdown == pytest.approx(300 / 1200)  # 1200 -> 900
    assert daily.tolist() == pytest.approx([1200 / 1000 - 1, 1000 / 1200 - 1, 1100 / 1000 - 1])  # each day's last close
    mean, std = np.mean(daily), np.std(daily, ddof=1)
    assert figures.sharpe == pytest.approx(mean / std * math.sqrt(365))
    assert figures.turnover == pytest.approx(1000 / equity.mean()) and figures.exposure == pytest.approx(0.28)


def test_a_flat_curve_has_sharpe_zero_and_fewer_than_two_days_have_none():
    flat = Part(np.arange(3, dtype=np.int64) * DAY_MS, np.full(3, 1000.0), 1000.0, [])
    assert summarize([flat])[0].sharpe == 0.0 and summarize([flat])[0].win_rate is None
    one_day = Part(np.array([0], np.int64), np.array([1010.0]), 1000.0, [])
    assert summarize([one_day])[0].sharpe is None


def test_summarize_compounds_parts_and_measures_drawdown_across_them():
    day = np.array([0, DAY_MS], np.int64)
    first = Part(day, np.array([110.0, 100.0]), 100.0, [5.0, -1.0])
    second = Part(day + 2 * DAY_MS, np.array([2200.0, 1980.0]), 2000.0, [3.0])
    figures, daily = summarize([first, second])
    assert figures.roi == pytest.approx(1.0 * 0.99 - 1)
    assert daily.tolist() == pytest.approx([0.1, 100 / 110 - 1, 0.1, 0.9 - 1])
    assert figures.max_drawdown == pytest.approx(1 - 0.99 * 1.0 / 1.1)  # from the peak 1.1 to the last close 0.99
    assert (figures.trades, figures.win_rate) == (3, pytest.approx(2 / 3))


def test_the_bootstrap_interval_is_zero_for_equal_strategies_and_above_zero_for_a_dominant_one():
    rng = np.random.default_rng(1)
    returns = rng.normal(0.001, 0.01, 200)
    same = sharpe_difference(returns, returns.copy(), block_days=5, samples=300, seed=1)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0}
    better = sharpe_difference(returns + 0.01, returns, block_days=5, samples=300, seed=1)
    assert 0 < better["low"] <= better["difference"] <= better["high"]
    assert sharpe_difference(returns + 0.01, returns, block_days=5, samples=300, seed=1) == better  # the seed decides
    with pytest.raises(ValueError, match="different lengths"):
        sharpe_difference(returns, returns[:-1], block_days=5, samples=10, seed=1)


def test_the_reality_check_is_arch_s_spa_against_cash_and_discounts_the_best_of_many_with_no_edge():
    from arch.bootstrap import SPA

    rng = np.random.default_rng(5)
    noise = rng.normal(0.0, 0.02, (65, 30))  # 65 configurations with no edge, 30 validation days
    spa = SPA(np.zeros(30), -noise.T, block_size=5, reps=2000, seed=1)
    spa.compute()
    assert reality_check(noise, block_days=5, samples=2000, seed=1) == pytest.approx(float(spa.pvalues["consistent"]))
    best_alone = max(range(65), key=lambda i: noise[i].mean() / noise[i].std())
    alone = reality_check(noise[best_alone : best_alone + 1], block_days=5, samples=2000, seed=1)
    assert alone < 0.1  # the best of them looks sure on its own ...
    assert reality_check(noise, block_days=5, samples=2000, seed=1) > 0.3  # ... not for all having been tried
    with_edge = np.vstack([rng.normal(0.0, 0.02, (65, 120)), rng.normal(0.01, 0.02, (1, 120))])
    assert reality_check(with_edge, block_days=5, samples=2000, seed=1) < 0.05  # a real edge among them is seen
    assert reality_check(np.empty((0, 30)), block_days=5, samples=200, seed=1) is None


def test_the_deflated_sharpe_ratio_equals_the_formula_worked_by_hand():
    rng = np.random.default_rng(9)
    returns = rng.normal(0.002, 0.02, 250)
    trials, variance = 40, 0.0025
    # by hand: SR, skewness, kurtosis of the returns; the expected maximum of 40 null Sharpe ratios
    sr = returns.mean() / returns.std(ddof=1)
    centred = returns - returns.mean()
    skew = (centred**3).mean() / returns.std() ** 3
    kurt = (centred**4).mean() / returns.std() ** 4
    z = NormalDist().inv_cdf
    sr0 = math.sqrt(variance) * (
        (1 - 0.5772156649015329) * z(1 - 1 / 40) + 0.5772156649015329 * z(1 - 1 / (40 * math.e))
    )
    expected = NormalDist().cdf((sr - sr0) * math.sqrt(249) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    assert deflated_sharpe(returns, trials, variance) == pytest.approx(expected, rel=1e-12)
    # more trials, the same returns: less sure; a flat series is never sure; one trial: the probabilistic
    # Sharpe ratio against 0 (nothing was chosen)
    assert deflated_sharpe(returns, 4000, variance) < deflated_sharpe(returns, trials, variance)
    assert deflated_sharpe(np.zeros(30), trials, variance) == 0.0
    psr = NormalDist().cdf(sr * math.sqrt(249) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    assert deflated_sharpe(returns, 1, variance) == pytest.approx(psr, rel=1e-12) and psr > expected
