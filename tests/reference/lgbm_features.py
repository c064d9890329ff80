"""lgbm_ai's per-bar feature state before the redesign (a test oracle)."""

from __future__ import annotations

import math
from collections import deque

from tests.reference import Bar
from tests.reference.indicators import Ema, RollingStats, WilderRsi

LOOKBACK = 61
DAY_MS = 86_400_000


class FeatureState:
    """Per-symbol incremental features; `update` returns the row for this bar, or None in warm-up."""

    def __init__(self) -> None:
        self.closes: deque[float] = deque(maxlen=LOOKBACK)
        self.vol_15, self.vol_60 = RollingStats(15), RollingStats(60)
        self.volume = RollingStats(60)
        self.rsi = WilderRsi(14)
        self.ema = Ema(50)

    def update(self, bar: Bar) -> list[float] | None:
        closes = self.closes
        log_return = math.log(bar.close / closes[-1]) if closes else None
        closes.append(bar.close)
        vol_15 = self.vol_15.update(log_return) if log_return is not None else None
        vol_60 = self.vol_60.update(log_return) if log_return is not None else None
        volume = self.volume.update(math.log1p(bar.volume))
        rsi = self.rsi.update(bar.close)
        ema = self.ema.update(bar.close)
        if len(closes) < LOOKBACK or vol_15 is None or vol_60 is None or volume is None or rsi is None:
            return None
        minute = (bar.open_time % DAY_MS) / DAY_MS * 2 * math.pi
        close = bar.close
        return [
            math.log(close / closes[-2]), math.log(close / closes[-6]), math.log(close / closes[-16]),
            math.log(close / closes[0]), vol_15[1], vol_60[1], rsi / 100.0,
            0.0 if volume[1] == 0 else (math.log1p(bar.volume) - volume[0]) / volume[1],
            close / ema - 1.0, (bar.high - bar.low) / close, math.sin(minute), math.cos(minute),
        ]

