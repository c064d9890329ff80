"""lava_ai: volatility- and volume-adaptive mean reversion, per symbol, on decision bars.

Consumes decision bars (`md.bar`, one symbol's in time order at a time); produces one vote per bar.
z = (close - mean) / std over `[lava_ai] window` (in time; Bollinger). The entry band widens with
realised volatility: band = z_entry * max(1, vol_short / vol_long) (std of log returns over the
window and over twice it). Flat, a close below -band enters long (BUY; with `trend`, a period in
time, only while the close is above its mean over that period: a dip inside an uptrend) and one
above +band enters short (SELL), at confidence min(1, |z| / (2 * band)); a volume spike (volume
z-score > `volume_spike_z`) signals a breakout, not an overreaction: no entry (HOLD). A position is
held — the same vote at the entry's confidence, bar after bar — until z has come back to
`z_exit` from the mean (long: z >= -z_exit; short: z <= z_exit); then HOLD. Flat inside the band:
HOLD at confidence 1 - |z| / band. No vote during the warm-up (twice the window, and the trend
period); HOLD at confidence 0 in a flat market (a zero std).
"""

from __future__ import annotations

import msgspec
import numpy as np

from common.times import INTERVAL_MS, in_bars
from config.models import LavaAiConfig
from config.schema import PeperConfig
from marketdata.chunk import BarChunk
from signals.kernels import log_returns, rolling_mean_std
from signals.model import (
    ABSTAIN,
    BUY,
    HOLD,
    SELL,
    WARM_UP,
    PerSymbolModel,
    Votes,
    choose,
)

REASONS = (
    "z inside the band",
    "z beyond the band",
    "volume spike: a breakout, not an overreaction",
    "flat market",
    "holding until z reverts",
    "z reverted: out",
)
INSIDE, BEYOND, SPIKE, FLAT, HOLDING, REVERTED = range(6)


class MeanReversionState(msgspec.Struct):
    bars: int = 0
    previous_close: float | None = None
    price_tail: bytes = b""  # float64, the last window - 1 values of each series
    volume_tail: bytes = b""
    short_tail: bytes = b""
    long_tail: bytes = b""
    trend_tail: bytes = b""
    side: int = 0  # the position the votes hold: 1 long, -1 short, 0 flat
    held: float = 0.0  # its entry's confidence


class MeanReversion(PerSymbolModel):
    State = MeanReversionState

    @classmethod
    def of(cls, config: PeperConfig) -> MeanReversion:
        """The model `[lava_ai]` configures, over `[test] symbols`: what its actor runs, and `train` offline."""
        return cls(config.lava_ai, list(config.test.symbols), INTERVAL_MS[config.feed.decision_interval])

    def __init__(self, config: LavaAiConfig, symbols: list[str], decision_ms: int):
        super().__init__(symbols)
        self.config = config
        self.window = max(2, in_bars(config.window, decision_ms))
        self.trend = in_bars(config.trend, decision_ms) if config.trend else 0
        self.warmup = max(2 * self.window + 1, self.trend)

    def version(self) -> str:
        return "meanrev-3"

    def vote_series(self, state: MeanReversionState, chunk: BarChunk, rows: np.ndarray, votes: Votes) -> None:
        config = self.config
        window = self.window
        close, volume = chunk.close[rows], chunk.volume[rows]
        mean, std, state.price_tail = rolling_mean_std(close, window, state.price_tail)
        volume_mean, volume_std, state.volume_tail = rolling_mean_std(volume, window, state.volume_tail)
        first_return = state.previous_close is None
        returns, state.previous_close = log_returns(close, state.previous_close)
        if first_return:  # the very first bar has no return: the return series starts one bar later
            returns = returns[1:]
        _, short, state.short_tail = rolling_mean_std(returns, window, state.short_tail)
        _, long, state.long_tail = rolling_mean_std(returns, 2 * window, state.long_tail)
        if self.trend:
            trend, _, state.trend_tail = rolling_mean_std(close, self.trend, state.trend_tail)
        else:
            trend = np.zeros(len(close))
        if first_return:
            short, long = np.concatenate([[np.nan], short]), np.concatenate([[np.nan], long])
        number = state.bars + np.arange(1, len(rows) + 1)
        state.bars += len(rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (close - mean) / std
            band = config.z_entry * np.maximum(1.0, short / long)
            volume_z = np.where(volume_std == 0.0, 0.0, (volume - volume_mean) / volume_std)
        warm = (number < self.warmup) | np.isnan(mean) | np.isnan(long) | np.isnan(volume_mean) | np.isnan(trend)
        flat = (std == 0.0) | (long == 0.0)
        action, confidence, reason = np.full(len(rows), ABSTAIN, np.int8), np.zeros(len(rows)), np.zeros(len(rows), int)
        for i in np.flatnonzero(~warm).tolist():
            action[i], confidence[i], reason[i] = self._decide(
                state, float(z[i]), float(band[i]), float(volume_z[i]), bool(flat[i]), float(close[i]) > float(trend[i])
            )
        votes.action[rows] = action
        votes.confidence[rows] = confidence
        votes.reason[rows] = np.where(warm, WARM_UP, choose(reason, REASONS))

    def _decide(
        self, state: MeanReversionState, z: float, band: float, volume_z: float, flat: bool, above_trend: bool
    ) -> tuple[int, float, int]:
        """(action, confidence, reason) of one bar, moving the position the votes hold."""
        config = self.config
        if flat:
            state.side, state.held = 0, 0.0
            return HOLD, 0.0, FLAT
        if state.side:
            if (z >= -config.z_exit) if state.side > 0 else (z <= config.z_exit):
                state.side, state.held = 0, 0.0
                return HOLD, 0.0, REVERTED
            return (BUY if state.side > 0 else SELL), state.held, HOLDING
        if volume_z > config.volume_spike_z:
            return HOLD, min(1.0, volume_z / (2 * config.volume_spike_z)), SPIKE
        if abs(z) < band:
            return HOLD, 1.0 - abs(z) / band, INSIDE
        if z < 0 and not above_trend:
            return HOLD, min(1.0, abs(z) / (2 * band)), BEYOND
        state.side, state.held = (1 if z < 0 else -1), min(1.0, abs(z) / (2 * band))
        return (BUY if z < 0 else SELL), state.held, BEYOND
