"""A synthetic market with the features that matter to the models, labelled synthetic everywhere.

Consumes a seed, symbols, an interval and a number of days; produces {symbol: (open_time, columns)}
deterministically (numpy's PCG64 with that seed). Features:
- volatility clustering: GARCH(1,1) variance per symbol;
- regime changes: a Markov chain of bull / bear / sideways drifts shared by all symbols, each
  lasting `REGIME_DAYS` on average whatever the interval (so a trend follower deciding daily has
  trends to follow);
- correlation: each return is a common market factor plus a symbol's own noise;
- volume: log-normal, rising with the size of the bar's move and with volatility;
- OHLC consistent: open = previous close, high >= max(open, close), low <= min(open, close).
"""

from __future__ import annotations

import math

import numpy as np

from marketdata.table import COLUMNS

START_MS = 1_609_459_200_000  # 2021-01-01 00:00 UTC, a fixed start keeps replays reproducible
REGIME_DRIFT = np.array([0.004, -0.004, 0.0])  # daily log drift of bull, bear, sideways
REGIME_DAYS = 20.0  # mean length of a regime (days)
DAILY_VOLATILITY = 0.035  # long-run standard deviation of a day's log return
MARKET_SHARE = 0.6  # share of each symbol's variance from the market factor


def generate(
    seed: int, symbols: list[str], interval_ms: int, days: float
) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    rng = np.random.default_rng(seed)
    bars = int(days * 86_400_000 // interval_ms)
    count = len(symbols)
    day_share = interval_ms / 86_400_000  # a bar's share of a day: drift and variance scale with time
    alpha, beta = 0.08, 0.90
    omega = DAILY_VOLATILITY**2 * day_share * (1 - alpha - beta)
    stay = 1 - day_share / REGIME_DAYS
    variance = np.full(count, omega / (1 - alpha - beta))
    regime = 2
    shocks_market = rng.standard_normal(bars)
    shocks_own = rng.standard_normal((bars, count))
    regime_draws = rng.random(bars)
    regime_next = rng.integers(0, 3, bars)
    returns = np.empty((bars, count))
    variances = np.empty((bars, count))
    for t in range(bars):
        if regime_draws[t] > stay:
            regime = int(regime_next[t])
        sigma = np.sqrt(variance)
        shock = math.sqrt(MARKET_SHARE) * shocks_market[t] + math.sqrt(1 - MARKET_SHARE) * shocks_own[t]
        returns[t] = REGIME_DRIFT[regime] * day_share + sigma * shock
        variances[t] = variance
        variance = omega + alpha * returns[t] ** 2 + beta * variance
    start_prices = 10 ** rng.uniform(0, 4.5, count)
    close = start_prices * np.exp(np.cumsum(returns, axis=0))
    open_ = np.vstack([start_prices, close[:-1]])
    wick = np.abs(rng.standard_normal((bars, 2, count))) * np.sqrt(variances)[:, None, :] * 0.5
    high = np.maximum(open_, close) * (1 + wick[:, 0])
    low = np.minimum(open_, close) / (1 + wick[:, 1])
    base_volume = 10 ** rng.uniform(1, 5, count)
    move = np.abs(returns) / np.sqrt(variances)
    volume = base_volume * np.exp(0.5 * move + 0.3 * rng.standard_normal((bars, count)))
    open_time = START_MS + np.arange(bars, dtype=np.int64) * interval_ms
    nan = np.full(bars, np.nan)
    result = {}
    for i, symbol in enumerate(symbols):
        columns = {
            "open": open_[:, i],
            "high": high[:, i],
            "low": low[:, i],
            "close": close[:, i],
            "volume": volume[:, i],
            "quote_volume": volume[:, i] * close[:, i],
            "trades": nan,
            "taker_buy_base": nan,
        }
        result[symbol] = (open_time, {c: np.ascontiguousarray(columns[c]) for c in COLUMNS})
    return result
