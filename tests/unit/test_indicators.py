"""Incremental indicators equal a straightforward whole-series numpy computation to 1e-9,
on the real shared 1m data."""

from __future__ import annotations

import numpy as np
import pytest

from marketdata.files import read_kline_files
from signals.indicators import Ema, Macd, RollingStats, WilderRsi
from tests.helpers.data import KLINES, requires_shared_data


@pytest.fixture(scope="module")
def closes() -> np.ndarray:
    times, columns = read_kline_files(KLINES / "BTCUSDT-1m.csv.gz", "1m")["BTCUSDT"]
    return columns["close"][:20_000]


def reference_ema(x: np.ndarray, period: int) -> np.ndarray:
    alpha = 2.0 / (period + 1)
    out = np.empty_like(x)
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = alpha * x[i] + (1 - alpha) * out[i - 1]
    return out


def reference_rsi(x: np.ndarray, period: int) -> np.ndarray:
    change = np.diff(x)
    gains, losses = np.maximum(change, 0), np.maximum(-change, 0)
    out = np.full(len(x), np.nan)
    gain, loss = gains[:period].mean(), losses[:period].mean()
    out[period] = 100 - 100 / (1 + gain / loss)
    for i in range(period, len(change)):
        gain = (gain * (period - 1) + gains[i]) / period
        loss = (loss * (period - 1) + losses[i]) / period
        out[i + 1] = 100 - 100 / (1 + gain / loss)
    return out


def run(indicator, values) -> list:
    return [indicator.update(float(v)) for v in values]


@requires_shared_data
def test_ema_matches_the_recursive_definition(closes):
    np.testing.assert_allclose(run(Ema(26), closes), reference_ema(closes, 26), rtol=0, atol=1e-9)


@requires_shared_data
def test_wilder_rsi_matches_the_whole_series_computation(closes):
    got = np.array([np.nan if v is None else v for v in run(WilderRsi(14), closes)])
    expected = reference_rsi(closes, 14)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[15:], expected[15:], rtol=0, atol=1e-9)


@requires_shared_data
def test_macd_matches_emas_of_the_whole_series(closes):
    got = run(Macd(12, 26, 9), closes)
    line = reference_ema(closes, 12) - reference_ema(closes, 26)
    signal = reference_ema(line, 9)
    assert all(v is None for v in got[:25]) and got[25] is not None
    values = np.array(got[25:])
    np.testing.assert_allclose(values[:, 0], line[25:], rtol=0, atol=1e-9)
    np.testing.assert_allclose(values[:, 1], signal[25:], rtol=0, atol=1e-9)
    np.testing.assert_allclose(values[:, 2], (line - signal)[25:], rtol=0, atol=1e-9)


@requires_shared_data
def test_rolling_mean_and_std_match_numpy_over_each_window(closes):
    period = 60
    got = run(RollingStats(period), closes)
    windows = np.lib.stride_tricks.sliding_window_view(closes, period)
    assert all(v is None for v in got[: period - 1])
    values = np.array(got[period - 1:])
    np.testing.assert_allclose(values[:, 0], windows.mean(axis=1), rtol=0, atol=1e-9)
    np.testing.assert_allclose(values[:, 1], windows.std(axis=1), rtol=0, atol=1e-9)
