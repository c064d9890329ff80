"""Incremental indicators, O(1) per bar, each equal to the textbook whole-series definition.

- `Ema(n)`: alpha = 2 / (n + 1), seeded with the first value.
- `WilderRsi(n)`: average gain/loss seeded with the simple mean of the first n changes, then
  Wilder's smoothing avg = (avg * (n - 1) + x) / n; RSI = 100 - 100 / (1 + gain / loss).
- `Macd(fast, slow, signal)`: line = EMA(fast) - EMA(slow), signal = EMA(signal) of the line.
- `RollingStats(n)`: mean and population std of the last n values; the running sums are
  re-summed from the window every n updates so rounding never accumulates.
Each returns None until it has enough bars.
"""

from __future__ import annotations

import math
from collections import deque


class Ema:
    def __init__(self, period: int):
        self.alpha = 2.0 / (period + 1)
        self.value: float | None = None

    def update(self, x: float) -> float:
        self.value = x if self.value is None else self.value + self.alpha * (x - self.value)
        return self.value


class WilderRsi:
    def __init__(self, period: int):
        self.period = period
        self.previous: float | None = None
        self.seed_gains: list[float] = []
        self.seed_losses: list[float] = []
        self.gain: float | None = None
        self.loss: float | None = None

    def update(self, close: float) -> float | None:
        previous, self.previous = self.previous, close
        if previous is None:
            return None
        change = close - previous
        up, down = max(change, 0.0), max(-change, 0.0)
        if self.gain is None:
            self.seed_gains.append(up)
            self.seed_losses.append(down)
            if len(self.seed_gains) < self.period:
                return None
            self.gain = sum(self.seed_gains) / self.period
            self.loss = sum(self.seed_losses) / self.period
        else:
            n = self.period
            self.gain = (self.gain * (n - 1) + up) / n
            self.loss = (self.loss * (n - 1) + down) / n
        if self.loss == 0.0:
            return 100.0 if self.gain > 0 else 50.0
        return 100.0 - 100.0 / (1.0 + self.gain / self.loss)


class Macd:
    def __init__(self, fast: int, slow: int, signal: int):
        self.fast, self.slow, self.signal = Ema(fast), Ema(slow), Ema(signal)
        self.slow_period = slow
        self.count = 0

    def update(self, close: float) -> tuple[float, float, float] | None:
        """(line, signal, histogram) once `slow` bars were seen."""
        line = self.fast.update(close) - self.slow.update(close)
        signal = self.signal.update(line)
        self.count += 1
        if self.count < self.slow_period:
            return None
        return line, signal, line - signal


class RollingStats:
    def __init__(self, period: int):
        self.period = period
        self.window: deque[float] = deque()
        self.total = 0.0
        self.total_squares = 0.0
        self.shift = 0.0  # values are summed relative to this, which keeps the squares small
        self.updates = 0

    def update(self, x: float) -> tuple[float, float] | None:
        """(mean, population std) of the last `period` values, once there are that many."""
        if not self.window:
            self.shift = x
        self.window.append(x)
        y = x - self.shift
        self.total += y
        self.total_squares += y * y
        if len(self.window) > self.period:
            old = self.window.popleft() - self.shift
            self.total -= old
            self.total_squares -= old * old
        self.updates += 1
        if self.updates % self.period == 0:
            self.shift = self.window[0]
            shifted = [v - self.shift for v in self.window]
            self.total = math.fsum(shifted)
            self.total_squares = math.fsum(v * v for v in shifted)
        if len(self.window) < self.period:
            return None
        mean = self.total / self.period
        variance = max(0.0, self.total_squares / self.period - mean * mean)
        return mean + self.shift, math.sqrt(variance)
