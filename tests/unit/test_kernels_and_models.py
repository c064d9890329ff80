"""Every array kernel and every rule model equals its per-bar reference to 1e-9, on 20,000 real bars
(taken as decision bars), however the bars are cut into chunks (1, 7 or 256 bars), and a model
restored from a snapshot goes on exactly as one that never stopped."""

from __future__ import annotations

import numpy as np
import pytest

from common.times import DAY_MS
from config.models import LavaAiConfig, TradingAiConfig
from marketdata.chunk import BarChunk, Universe
from marketdata.files import read_kline_files
from messages.market import KlineBatch
from signals import kernels
from signals.lgbm.features import SYMBOL_FEATURES, FeatureState, Horizons, features
from signals.mean_reversion import MeanReversion
from signals.model import ACTION_NAMES
from signals.technical import TechnicalRules
from tests.helpers.data import KLINES, requires_shared_data
from tests.reference import Bar
from tests.reference.indicators import Ema, Macd, RollingStats, WilderRsi
from tests.reference.mean_reversion import MeanReversion as ReferenceMeanReversion
from tests.reference.technical import TechnicalRules as ReferenceRules

CHUNKS = (1, 7, 256)
BARS = 20_000
EVERY_FORM = TradingAiConfig(forms=["momentum", "moving_average", "donchian", "ema_cross", "macd", "rsi"])


@pytest.fixture(scope="module")
def btc():
    _, columns = read_kline_files(KLINES / "BTCUSDT-1m.csv.gz", "1m")["BTCUSDT"]
    times, _ = read_kline_files(KLINES / "BTCUSDT-1m.csv.gz", "1m")["BTCUSDT"]
    return times[:BARS], {name: values[:BARS] for name, values in columns.items()}


def pieces(n: int, size: int):
    return [(start, min(n, start + size)) for start in range(0, n, size)]


def reference(indicator, values) -> np.ndarray:
    out = []
    for value in values:
        found = indicator.update(float(value))
        out.append(np.nan if found is None else found)
    return np.array(out, dtype=object if isinstance(out[-1], tuple) else float)


@requires_shared_data
@pytest.mark.parametrize("size", CHUNKS)
def test_ema_and_rsi_equal_the_per_bar_reference_across_chunks(btc, size):
    _, columns = btc
    closes = columns["close"]
    ema, rsi, last, state = [], [], None, kernels.RsiState()
    for lo, hi in pieces(len(closes), size):
        part, last = kernels.ema(closes[lo:hi].tolist(), 2 / 27, last)
        ema.append(part)
        rsi.append(kernels.wilder_rsi(closes[lo:hi].tolist(), 14, state))
    np.testing.assert_allclose(np.concatenate(ema), reference(Ema(26), closes), rtol=0, atol=1e-9)
    got, expected = np.concatenate(rsi), reference(WilderRsi(14), closes)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[15:], expected[15:], rtol=0, atol=1e-9)


@requires_shared_data
@pytest.mark.parametrize("size", CHUNKS)
def test_rolling_mean_and_std_and_macd_equal_the_reference_across_chunks(btc, size):
    _, columns = btc
    closes = columns["close"]
    means, stds, tail = [], [], b""
    for lo, hi in pieces(len(closes), size):
        mean, std, tail = kernels.rolling_mean_std(closes[lo:hi], 60, tail)
        means.append(mean)
        stds.append(std)
    stats = RollingStats(60)
    expected = [stats.update(float(c)) for c in closes]
    valid = [i for i, e in enumerate(expected) if e is not None]
    assert np.isnan(np.concatenate(means)[: valid[0]]).all()
    np.testing.assert_allclose(np.concatenate(means)[valid], [expected[i][0] for i in valid], rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.concatenate(stds)[valid], [expected[i][1] for i in valid], rtol=0, atol=1e-9)
    macd, fast, slow, signal = Macd(12, 26, 9), None, None, None
    lines = []
    for lo, hi in pieces(len(closes), size):
        a, fast = kernels.ema(closes[lo:hi].tolist(), 2 / 13, fast)
        b, slow = kernels.ema(closes[lo:hi].tolist(), 2 / 27, slow)
        s, signal = kernels.ema((a - b).tolist(), 2 / 10, signal)
        lines.append(np.column_stack([a - b, s]))
    got = np.concatenate(lines)
    want = np.array([v[:2] for v in (macd.update(float(c)) for c in closes) if v is not None])
    np.testing.assert_allclose(got[25:], want, rtol=0, atol=1e-9)


@requires_shared_data
def test_rolling_windows_are_bit_identical_however_the_series_is_cut(btc):
    """A paced replay cuts chunks by wall time; its decisions must equal a full-speed replay's byte for byte."""
    _, columns = btc
    closes = columns["close"]
    results = []
    for size in (1, 7, 256, len(closes)):
        means, stds, tail = [], [], b""
        for lo, hi in pieces(len(closes), size):
            mean, std, tail = kernels.rolling_mean_std(closes[lo:hi], 288, tail)
            means.append(mean)
            stds.append(std)
        results.append((np.concatenate(means), np.concatenate(stds)))
    for mean, std in results[1:]:
        assert np.array_equal(mean, results[0][0], equal_nan=True) and np.array_equal(
            std, results[0][1], equal_nan=True
        )


def chunks_of(times, columns, symbol: str, size: int):
    universe = Universe([symbol])
    for lo, hi in pieces(len(times), size):
        n = hi - lo
        batch = KlineBatch.of(
            interval_ms=60_000,
            symbol=[symbol] * n,
            open_time=times[lo:hi].tolist(),
            **{
                c: columns[c][lo:hi].tolist()
                for c in ("open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base")
            },
        )
        yield BarChunk.from_batch(batch, universe)


def model_votes(model, times, columns, size):
    actions, confidences = [], []
    for chunk in chunks_of(times, columns, "BTCUSDT", size):
        votes = model.vote(chunk)
        actions.extend(votes.names())
        confidences.extend(votes.confidence.tolist())
    return actions, np.array(confidences)


def reference_votes(model, times, columns):
    votes = [
        model.update(Bar(int(t), *(float(columns[c][i]) for c in ("open", "high", "low", "close", "volume"))))
        for i, t in enumerate(times)
    ]
    return [v.action for v in votes], np.array([v.confidence for v in votes])


@requires_shared_data
@pytest.mark.parametrize("size", CHUNKS)
@pytest.mark.parametrize("kind", ["trading_ai", "lava_ai", "lava_ai with a trend"])
def test_each_rule_model_votes_as_its_per_bar_reference_across_chunks(btc, size, kind):
    times, columns = btc
    if kind == "trading_ai":
        model, oracle = TechnicalRules(EVERY_FORM, ["BTCUSDT"], DAY_MS), ReferenceRules(EVERY_FORM, DAY_MS)
    else:
        config = LavaAiConfig(trend="30d" if "trend" in kind else "")
        model, oracle = MeanReversion(config, ["BTCUSDT"], DAY_MS), ReferenceMeanReversion(config, DAY_MS)
    actions, confidences = model_votes(model, times, columns, size)
    expected_actions, expected_confidences = reference_votes(oracle, times, columns)
    assert actions == expected_actions
    np.testing.assert_allclose(confidences, expected_confidences, rtol=0, atol=1e-9)
    every = {"SELL", "HOLD"} if "trend" in kind else {"BUY", "SELL", "HOLD"}  # dips above the trend are rare here
    assert set(actions) <= set(ACTION_NAMES) and every <= set(actions)


@requires_shared_data
def test_lgbm_features_are_the_same_however_the_bars_are_cut_and_equal_their_definitions(btc):
    times, columns = btc
    horizons = Horizons(DAY_MS)  # the bars as daily decision bars: "7d" is 7 of them
    whole = []
    for size in CHUNKS:
        state, rows = FeatureState(), []
        for chunk in chunks_of(times[:3000], columns, "BTCUSDT", size):
            rows.append(features(state, horizons, chunk, np.arange(len(chunk))))
        whole.append(np.concatenate(rows))
    np.testing.assert_allclose(whole[0], whole[1], rtol=0, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(whole[0], whole[2], rtol=0, atol=1e-9, equal_nan=True)
    got, close = whole[2], columns["close"][:3000]
    warm = horizons.history - 1  # 50 days of history, and the bar itself
    assert np.isnan(got[:warm]).all(axis=1).all() and not np.isnan(got[warm:]).any()
    column = {name: i for i, name in enumerate(SYMBOL_FEATURES)}
    t = np.arange(warm, len(close))
    np.testing.assert_allclose(got[t, column["ret_7d"]], np.log(close[t] / close[t - 7]), rtol=0, atol=1e-12)
    returns = np.diff(np.log(close))
    windows = np.lib.stride_tricks.sliding_window_view(returns, 30)  # window i ends at return i + 29 = bar i + 30
    np.testing.assert_allclose(got[t, column["vol_30d"]], windows[t - 30].std(axis=1, ddof=1), rtol=0, atol=1e-12)


@requires_shared_data
def test_a_model_restored_from_its_snapshot_votes_as_one_that_never_stopped(btc):
    times, columns = btc
    whole = TechnicalRules(EVERY_FORM, ["BTCUSDT"], DAY_MS)
    actions, confidences = model_votes(whole, times, columns, 256)
    first, second = TechnicalRules(EVERY_FORM, ["BTCUSDT"], DAY_MS), TechnicalRules(EVERY_FORM, ["BTCUSDT"], DAY_MS)
    cut = 5_000
    head = model_votes(first, times[:cut], {c: v[:cut] for c, v in columns.items()}, 256)
    second.restore(first.snapshot(), [])
    tail = model_votes(second, times[cut:], {c: v[cut:] for c, v in columns.items()}, 256)
    assert head[0] + tail[0] == actions
    np.testing.assert_array_equal(np.concatenate([head[1], tail[1]]), confidences)
