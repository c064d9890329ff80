"""Array kernels over one symbol's series, each with its state passed in and handed back.

Every kernel equals the textbook whole-series definition however the series is cut into chunks
(a chunk of 1 bar or of 256 gives the same numbers; tests hold them to a per-bar reference):
- `ema(x, alpha, last)`: y = y + alpha * (x - y), seeded with the first value;
- `wilder_rsi(x, period, state)`: average gain and loss seeded with the simple mean of the first
  `period` changes, then y = (y * (period - 1) + change) / period; RSI = 100 - 100 / (1 + gain / loss);
- `rolling_mean_std(x, n, tail)`: mean and population std of the last n values (two-pass per
  window, so no rounding accumulates over a long replay; the tail carried as float64 bytes);
- `log_returns(x, previous)`: log(x[t] / x[t-1]) with the previous chunk's last value carried.
The recursions are plain loops over Python floats (a scipy/numba kernel costs more per call than
these do per bar at chunk sizes of a few hundred); the windows are numpy. Values not yet defined
(warm-up) are NaN.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

NAN = math.nan


def ema(values: list[float], alpha: float, last: float | None) -> tuple[np.ndarray, float | None]:
    out = []
    append = out.append
    y = last
    for x in values:
        y = x if y is None else y + alpha * (x - y)
        append(y)
    return np.array(out, np.float64), y


class RsiState(msgspec.Struct):
    previous: float | None = None
    seed_gains: list[float] = []
    seed_losses: list[float] = []
    gain: float | None = None
    loss: float | None = None


def wilder_rsi(values: list[float], period: int, state: RsiState) -> np.ndarray:
    out = []
    append = out.append
    previous, gain, loss = state.previous, state.gain, state.loss
    n = period
    for close in values:
        if previous is None:
            previous = close
            append(NAN)
            continue
        change = close - previous
        previous = close
        up = max(0.0, change)
        down = -change if change < 0.0 else 0.0
        if gain is None:
            state.seed_gains.append(up)
            state.seed_losses.append(down)
            if len(state.seed_gains) < n:
                append(NAN)
                continue
            gain = sum(state.seed_gains) / n
            loss = sum(state.seed_losses) / n
            state.seed_gains, state.seed_losses = [], []
        else:
            gain = (gain * (n - 1) + up) / n
            loss = (loss * (n - 1) + down) / n
        if loss == 0.0:
            append(100.0 if gain > 0 else 50.0)
        else:
            append(100.0 - 100.0 / (1.0 + gain / loss))
    state.previous, state.gain, state.loss = previous, gain, loss
    return np.array(out, np.float64)


def rolling_mean_std(values: np.ndarray, n: int, tail: bytes) -> tuple[np.ndarray, np.ndarray, bytes]:
    """Mean and population std of the n values ending at each position; `tail` holds up to n - 1
    earlier ones (float64 bytes: a checkpoint carries it as it is, no list to build per call)."""
    earlier = np.frombuffer(tail, np.float64)
    full = np.concatenate([earlier, values]) if len(earlier) else np.asarray(values, np.float64)
    mean = np.full(len(values), NAN)
    std = np.full(len(values), NAN)
    if len(full) >= n and len(values) == 1:  # live: one window, without the sliding view's setup
        window = full[-n:]
        window_mean = np.add.reduce(window) / n
        deviation = window - window_mean
        mean[0] = window_mean
        std[0] = np.sqrt(np.add.reduce(np.multiply(deviation, deviation, out=deviation)) / n)
    elif len(full) >= n:
        windows = sliding_window_view(full, n)[max(0, len(earlier) - n + 1) :]
        first = len(values) - len(windows)
        # numpy's own mean and var, with the mean computed once: the same operations, bit for bit,
        # whatever the chunk (one bar live, a thousand in a replay)
        window_mean = np.add.reduce(windows, axis=1) / n
        deviation = windows - window_mean[:, None]
        mean[first:] = window_mean
        std[first:] = np.sqrt(np.add.reduce(np.multiply(deviation, deviation, out=deviation), axis=1) / n)
    return mean, std, full[-(n - 1) :].tobytes() if n > 1 else b""


def log_returns(values: np.ndarray, previous: float | None) -> tuple[np.ndarray, float | None]:
    """log(x[t] / x[t-1]); the first is NaN without a previous value."""
    if not len(values):
        return np.empty(0), previous
    before = np.concatenate([[NAN if previous is None else previous], values[:-1]])
    return np.log(values / before), float(values[-1])
