"""lgbm_ai's features: each decision bar described by its symbol's past and the market's, nothing later.

Consumes one symbol's decision bars in time order (with its `FeatureState`) and then every row of a
chunk together; produces a float matrix, one row per bar, NaN in the warm-up. Periods are in time —
fractions of `[lgbm_ai] lookback` (the longest, "50d" by default; the names give them in days at
that default), counted in decision bars — so the features mean the same at any decision interval:
- own: log returns over 1 bar, 3, 7, 14 and 30 days; volatility of 1-bar log returns over 7 and
  30 days and their ratio (the volatility regime); the close against its 20- and 50-day means;
  Wilder's RSI over 14 days; the bar's range and body relative to its close; the log volume's
  z-score over 30 days;
- market (`market_features`): the mean 7- and 30-day return of every symbol with features in the
  same period, and the row's own 7- and 30-day return relative to it.
"""

from __future__ import annotations

import msgspec
import numpy as np

from common.times import duration_ms
from marketdata.chunk import BarChunk
from signals.kernels import RsiState, wilder_rsi

SYMBOL_FEATURES = (
    "ret_1",
    "ret_3d",
    "ret_7d",
    "ret_14d",
    "ret_30d",
    "vol_7d",
    "vol_30d",
    "vol_ratio",
    "sma_20d_gap",
    "sma_50d_gap",
    "rsi_14d",
    "range",
    "body",
    "volume_z_30d",
)  # at lookback "50d"
MARKET_FEATURES = ("market_7d", "market_30d", "relative_7d", "relative_30d")
FEATURES = SYMBOL_FEATURES + MARKET_FEATURES


class FeatureState(msgspec.Struct):
    closes: list[float] = []  # the last `history` closes
    volumes: list[float] = []  # the last 30 days of log volumes
    rsi: RsiState = msgspec.field(default_factory=RsiState)


class Horizons:
    """The feature periods in decision bars: the days of the names, scaled from 50 to `lookback`."""

    def __init__(self, decision_ms: int, lookback: str = "50d"):
        scale = duration_ms(lookback) / 50 / decision_ms  # decision bars per "day" of the names

        def bars(days: int, least: int = 1) -> int:
            return max(least, round(days * scale))

        self.returns = tuple(sorted({1, bars(3, 2), bars(7, 3), bars(14, 4), bars(30, 5)}))
        self.vol_short, self.vol_long = bars(7, 2), bars(30, 3)
        self.sma = (bars(20, 2), bars(50, 3))
        self.rsi = bars(14, 2)
        self.volume = bars(30, 2)
        self.history = max(max(self.returns), self.vol_long, max(self.sma)) + 1


def features(state: FeatureState, horizons: Horizons, chunk: BarChunk, rows: np.ndarray) -> np.ndarray:
    """One symbol's own feature rows, advancing its state."""
    found = np.full((len(rows), len(SYMBOL_FEATURES)), np.nan)
    rsi = wilder_rsi(chunk.close[rows].tolist(), horizons.rsi, state.rsi)
    for i, row in enumerate(rows.tolist()):
        close = float(chunk.close[row])
        state.closes = (state.closes + [close])[-horizons.history :]
        state.volumes = (state.volumes + [float(np.log1p(chunk.volume[row]))])[-horizons.volume :]
        closes = np.array(state.closes)
        if len(closes) < horizons.history:
            continue
        logs = np.log(closes)
        steps = np.diff(logs)
        volume = np.array(state.volumes)
        short, long = steps[-horizons.vol_short :].std(ddof=1), steps[-horizons.vol_long :].std(ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            found[i] = [
                *(logs[-1] - logs[-1 - k] for k in horizons.returns),
                short,
                long,
                short / long,
                *(close / closes[-k:].mean() - 1 for k in horizons.sma),
                rsi[i] / 100.0,
                (chunk.high[row] - chunk.low[row]) / close,
                (close - chunk.open[row]) / close,
                (volume[-1] - volume.mean()) / volume.std() if volume.std() > 0 else 0.0,
            ]
    return found


def market_features(times: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Per row: the mean 7- and 30-day return of every symbol with features in the same period (the
    market factor), and the row's own returns relative to it."""
    periods, period = np.unique(times, return_inverse=True)
    found = np.full((len(times), len(MARKET_FEATURES)), np.nan)
    ready = ~np.isnan(own).any(axis=1)
    count = np.bincount(period[ready], minlength=len(periods))
    with np.errstate(invalid="ignore", divide="ignore"):
        for column, name in enumerate(("ret_7d", "ret_30d")):
            values = own[:, SYMBOL_FEATURES.index(name)]
            mean = np.bincount(period[ready], weights=values[ready], minlength=len(periods)) / count
            found[:, column] = mean[period]
            found[:, column + 2] = values - mean[period]
    found[~ready] = np.nan
    return found
