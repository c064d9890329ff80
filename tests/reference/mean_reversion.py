"""lava_ai: volatility- and volume-adaptive mean reversion, per symbol, O(1) per decision bar.

z = (close - mean) / std over `window` bars (Bollinger). The entry band widens with realised
volatility: band = z_entry * max(1, vol_short / vol_long) (std of log returns over `window` and
`2 * window` bars). A volume spike (volume z-score > `volume_spike_z`) signals a breakout, not an
overreaction: no entry. Flat, BUY below -band (with `trend`: only above the mean close over it),
SELL above +band, at confidence min(1, |z| / (2 * band)); the position's vote is repeated at that
confidence until z is back within `z_exit` of the mean, then HOLD; flat inside: HOLD at 1 - |z| / band.
"""

from __future__ import annotations

import math

from common.times import in_bars
from config.models import LavaAiConfig
from tests.reference import Bar, Vote
from tests.reference.indicators import RollingStats


class MeanReversion:
    def __init__(self, config: LavaAiConfig, decision_ms: int):
        self.config = config
        window = max(2, in_bars(config.window, decision_ms))
        self.price = RollingStats(window)
        self.volume = RollingStats(window)
        self.returns_short = RollingStats(window)
        self.returns_long = RollingStats(2 * window)
        trend = in_bars(config.trend, decision_ms) if config.trend else 0
        self.trend = RollingStats(trend) if trend else None
        self.previous_close: float | None = None
        self.side, self.held = 0, 0.0
        self.bars = 0
        self.warmup = max(2 * window + 1, trend)

    def update(self, bar: Bar) -> Vote:
        price = self.price.update(bar.close)
        volume = self.volume.update(bar.volume)
        trend = self.trend.update(bar.close) if self.trend else (0.0, 0.0)
        short = long = None
        if self.previous_close is not None:
            log_return = math.log(bar.close / self.previous_close)
            short, long = self.returns_short.update(log_return), self.returns_long.update(log_return)
        self.previous_close = bar.close
        self.bars += 1
        if self.bars < self.warmup or price is None or volume is None or short is None or long is None or trend is None:
            return Vote(None, 0.0, f"warm-up {self.bars}/{self.warmup} bars")
        mean, std = price
        if std == 0.0 or long[1] == 0.0:
            self.side, self.held = 0, 0.0
            return Vote("HOLD", 0.0, "flat market")
        config = self.config
        z = (bar.close - mean) / std
        band = config.z_entry * max(1.0, short[1] / long[1])
        volume_z = 0.0 if volume[1] == 0.0 else (bar.volume - volume[0]) / volume[1]
        if self.side:
            reverted = z >= -config.z_exit if self.side > 0 else z <= config.z_exit
            if reverted:
                self.side, self.held = 0, 0.0
                return Vote("HOLD", 0.0, "reverted")
            return Vote("BUY" if self.side > 0 else "SELL", self.held, "holding")
        if volume_z > config.volume_spike_z:
            return Vote("HOLD", min(1.0, volume_z / (2 * config.volume_spike_z)), f"volume spike z {volume_z:.1f}")
        if abs(z) < band:
            return Vote("HOLD", 1.0 - abs(z) / band, f"z {z:+.2f} inside band {band:.2f}")
        action = ("BUY" if bar.close > trend[0] else "HOLD") if z < 0 else "SELL"
        confidence = min(1.0, abs(z) / (2 * band))
        if action != "HOLD":
            self.side, self.held = (1 if action == "BUY" else -1), confidence
        return Vote(action, confidence, f"z {z:+.2f} beyond band {band:.2f}")
