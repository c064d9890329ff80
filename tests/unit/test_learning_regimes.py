"""On a constructed market where trend pays in the first half and reversion in the second, the real
models' shadow books and the learner move the weight to the expert that pays, within a bounded
number of daily updates, in each half."""

from __future__ import annotations

import numpy as np
import pytest

from common.times import DAY_MS
from config.models import LavaAiConfig, TradingAiConfig
from config.schema import LearningConfig, TraderConfig
from learning.learner import Learner, update_ticks
from signals.mean_reversion import MeanReversion
from signals.technical import TechnicalRules
from tests.helpers.chunks import voted_chunks
from tests.unit.test_learning import table_of
from trading.shadow import ShadowBooks

HALF = 240  # days of each regime
WITHIN = 45  # updates into a half by which the paying expert must lead
SYMBOLS = ["AAAUSDT", "BBBUSDT"]


def constructed_market(seed: int = 2) -> np.ndarray:
    """[day, symbol] closes: trends of 30 days up or down at 1.5 % a day with a little noise, then an
    AR(1) deviation round a level (each day keeps half of yesterday's, plus 4 % noise): moves revert."""
    rng = np.random.default_rng(seed)
    trend = np.where((np.arange(HALF) // 30) % 2 == 0, 0.015, -0.012)
    trending = np.cumsum(trend)[:, None] + rng.normal(0, 0.004, (HALF, 2)).cumsum(axis=0) * 0.2
    deviation = np.zeros((HALF, 2))
    for day in range(1, HALF):
        deviation[day] = 0.5 * deviation[day - 1] + rng.normal(0, 0.04, 2)
    return 100 * np.exp(np.vstack([trending, trending[-1] + deviation]))


@pytest.mark.parametrize("algorithm", ["winners", "adahedge"])
def test_the_learner_moves_weight_to_trend_while_trend_pays_and_to_reversion_while_reversion_pays(algorithm):
    decision_ms = DAY_MS
    trend = TechnicalRules(TradingAiConfig(lookbacks=["5d", "10d", "20d"], threshold=0.3), SYMBOLS, decision_ms)
    reversion = MeanReversion(LavaAiConfig(window="6d", z_entry=1.2, volume_spike_z=50.0), SYMBOLS, decision_ms)
    chunks = voted_chunks(
        table_of(constructed_market(), decision_ms, SYMBOLS), [reversion, trend], SYMBOLS, decision_ms, ticks=32
    )  # sorted by name: lava_ai, trading_ai
    trader = TraderConfig(volatility_window="20d", drawdown_limit=0.0, rebalance_band=0.02)
    books = ShadowBooks(["lava_ai", "trading_ai"], trader, SYMBOLS, decision_ms)
    experts = ["lava_ai", "trading_ai", "cash"]
    learner = Learner(
        LearningConfig(algorithm=algorithm, discount=0.9), experts, {"lava_ai": 0.35, "trading_ai": 0.25, "cash": 0.4}
    )
    rows = [books.experts.index(e) for e in experts]
    versions, earned = [], np.zeros((2, 2))  # [half, expert]: log growth of lava_ai's and trading_ai's books
    for voted in chunks:
        returns = books.run(voted).returns
        half = (voted.ticks // DAY_MS >= HALF).astype(int)
        for h in (0, 1):
            earned[h] += np.log1p(returns[rows[:2]][:, half == h]).sum(axis=1)
        versions += learner.observe(voted.ticks, returns[rows], update_ticks(voted, DAY_MS))
    assert earned[0, 1] > 0 > earned[0, 0] and earned[1, 0] > 0 > earned[1, 1]  # the market is what it says
    by_day = {v.effective_from // DAY_MS: v.weights for v in versions}
    trending = [by_day[d] for d in range(WITHIN, HALF) if d in by_day]
    swinging = [by_day[d] for d in range(HALF + WITHIN, 2 * HALF) if d in by_day]
    assert len(trending) > 100 and len(swinging) > 100
    assert np.mean([w["trading_ai"] > w["lava_ai"] for w in trending]) > 0.9  # trend pays: it leads
    assert np.mean([w["lava_ai"] > w["trading_ai"] for w in swinging]) > 0.9  # reversion pays: it leads
    assert trending[-1]["trading_ai"] > 0.5 and swinging[-1]["lava_ai"] > 0.5
