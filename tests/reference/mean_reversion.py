"""lava_ai: volatility- and volume-adaptive mean reversion, per symbol, O(1) per bar.

z = (close - mean) / std over `window` bars (Bollinger). The entry band widens with realised
volatility: band = z_entry * max(1, vol_short / vol_long) (std of log returns over `window` and
`4 * window` bars). A volume spike (volume z-score > `volume_spike_z`) signals a breakout, not an
overreaction: HOLD. Otherwise BUY below -band, SELL above +band, HOLD inside;
confidence = min(1, |z| / (2 * band)) outside the band, 1 - |z| / band inside.
"""

from __future__ import annotations

import math

from config.models import LavaAiConfig
from tests.reference import Bar, Vote
from tests.reference.indicators import RollingStats


class MeanReversion:
    def __init__(self, config: LavaAiConfig):
        self.config = config
        self.price = RollingStats(config.window)
        self.volume = RollingStats(config.window)
        self.returns_short = RollingStats(config.window)
        self.returns_long = RollingStats(4 * config.window)
        self.previous_close: float | None = None
        self.bars = 0
        self.warmup = 4 * config.window + 1

    def update(self, bar: Bar) -> Vote:
        price = self.price.update(bar.close)
        volume = self.volume.update(bar.volume)
        short = long = None
        if self.previous_close is not None:
            log_return = math.log(bar.close / self.previous_close)
            short, long = self.returns_short.update(log_return), self.returns_long.update(log_return)
        self.previous_close = bar.close
        self.bars += 1
        if self.bars < self.warmup or price is None or volume is None or short is None or long is None:
            return Vote(None, 0.0, f"warm-up {self.bars}/{self.warmup} bars")
        mean, std = price
        if std == 0.0 or long[1] == 0.0:
            return Vote("HOLD", 0.0, "flat market")
        config = self.config
        z = (bar.close - mean) / std
        band = config.z_entry * max(1.0, short[1] / long[1])
        volume_z = 0.0 if volume[1] == 0.0 else (bar.volume - volume[0]) / volume[1]
        if volume_z > config.volume_spike_z:
            return Vote("HOLD", min(1.0, volume_z / (2 * config.volume_spike_z)), f"volume spike z {volume_z:.1f}")
        if abs(z) < band:
            return Vote("HOLD", 1.0 - abs(z) / band, f"z {z:+.2f} inside band {band:.2f}")
        action = "BUY" if z < 0 else "SELL"
        return Vote(action, min(1.0, abs(z) / (2 * band)), f"z {z:+.2f} beyond band {band:.2f}")
