"""lgbm_ai's labels, cross-sectional features and walk-forward, on constructed data: a label says
whether a long held over the horizon paid both fees, and exists only once that horizon's bars are
all there; the market factor uses only bars of the same period; a model trained at T learned only
from labels known by T, and votes on what follows."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from common.times import DAY_MS
from config.models import LgbmAiConfig
from marketdata.chunk import BarChunk, problems
from signals.lgbm.features import MARKET_FEATURES, SYMBOL_FEATURES, market_features
from signals.lgbm.labels import forward_labels
from signals.lgbm.model import LgbmModel

COST = 0.0024  # both fees and both slippages


def test_a_label_is_whether_the_horizons_log_return_pays_the_round_trip_and_a_gap_leaves_none():
    times = np.arange(6, dtype=np.int64) * DAY_MS
    close = np.array([100.0, 101.0, 100.1, 100.2, 103.0, 103.0])
    label, known = forward_labels(times, np.zeros(6, np.int64), close, 2, DAY_MS, COST)
    # 100 -> 100.1 (+0.1 %, below the cost), 101 -> 100.2, 100.1 -> 103, 100.2 -> 103; the last two have no horizon
    assert label[:4].tolist() == [0.0, 0.0, 1.0, 1.0] and np.isnan(label[4:]).all()
    assert known[:4].tolist() == [(t + 2 + 1) * DAY_MS for t in range(4)]  # the close of the horizon's last bar
    holed = times.copy()
    holed[3:] += DAY_MS  # days 0, 1, 2, 4, 5, 6: the bar of day 3 is missing
    label, _ = forward_labels(holed, np.zeros(6, np.int64), close, 2, DAY_MS, COST)
    assert label[[0, 3]].tolist() == [0.0, 1.0] and np.isnan(label[[1, 2, 4, 5]]).all()  # day 1 and 2 span the hole


def test_the_market_factor_is_the_mean_over_the_symbols_of_the_same_period():
    times = np.array([0, 0, 0, 60, 60], np.int64)
    own = np.zeros((5, len(SYMBOL_FEATURES)))
    r7 = SYMBOL_FEATURES.index("ret_7d")
    own[:, r7] = [0.01, 0.03, 0.05, -0.02, 0.02]
    own[2, 0] = np.nan  # still warming up: not part of the mean, and no features of its own
    found = market_features(times, own)
    market_7d = MARKET_FEATURES.index("market_7d")
    assert found[0, market_7d] == pytest.approx(0.02) and found[3, market_7d] == pytest.approx(0.0)
    assert found[1, MARKET_FEATURES.index("relative_7d")] == pytest.approx(0.01)
    assert np.isnan(found[2]).all()


def daily_bars(days: int, symbols: int, seed: int) -> BarChunk:
    """A persistent market: each symbol's daily return repeats the sign of the one before more often than not."""
    rng = np.random.default_rng(seed)
    returns = np.zeros((days, symbols))
    for day in range(1, days):
        returns[day] = 0.6 * returns[day - 1] + rng.normal(0, 0.02, symbols)
    close = 100 * np.exp(np.cumsum(returns, axis=0))
    times = np.repeat(np.arange(days, dtype=np.int64) * DAY_MS, symbols)
    symbol = np.tile(np.arange(symbols, dtype=np.int64), days)
    c = close.reshape(-1)
    o = np.concatenate([c[:symbols], c[:-symbols]])
    columns = [o, np.maximum(o, c) * 1.01, np.minimum(o, c) * 0.99, c, np.ones(len(c))]
    return BarChunk(symbol, times, *columns, problems(symbol, *columns), DAY_MS)


def test_a_model_trains_walk_forward_on_labels_known_by_then_and_its_votes_beat_a_coin_on_a_persistent_market():
    bars = daily_bars(400, 3, seed=8)
    saved = {}
    config = LgbmAiConfig(horizon="2d", min_train="120d", retrain_every="30d", train_window="365d", min_edge=0.02)
    model = LgbmModel(
        config, ["AAA", "BBB", "CCC"], DAY_MS, COST, save=lambda m: saved.setdefault(m.version, m), load=saved.get
    )
    votes = []
    for start in range(0, 400, 40):  # chunks of 40 days, 3 symbols each
        rows = slice(3 * start, 3 * (start + 40))
        chunk = BarChunk(
            *(
                column[rows]
                for column in (
                    bars.symbol,
                    bars.open_time,
                    bars.open,
                    bars.high,
                    bars.low,
                    bars.close,
                    bars.volume,
                    bars.problem,
                )
            ),
            DAY_MS,
        )
        votes.append((chunk, asyncio.run(model.vote(chunk))))
    assert len(saved) >= 8 and all(m.label_end <= m.trained_at for m in saved.values())
    first_voted = min(int(chunk.open_time[i]) for chunk, v in votes for i in np.flatnonzero(v.action != 2))
    assert first_voted >= min(m.trained_at for m in saved.values())  # no vote before the first model
    hits = total = 0
    close = bars.close.reshape(400, 3)
    for chunk, v in votes:
        for i in np.flatnonzero((v.action == 1) | (v.action == -1)):
            day, symbol = int(chunk.open_time[i]) // DAY_MS, int(chunk.symbol[i])
            if day + 2 < 400:
                up = close[day + 2, symbol] > close[day, symbol]
                hits += up == (v.action[i] == 1)
                total += 1
    assert total > 100 and hits / total > 0.55
