"""lava_ai: volatility- and volume-adaptive mean reversion, per symbol, a chunk at a time.

z = (close - mean) / std over `window` bars (Bollinger). The entry band widens with realised
volatility: band = z_entry * max(1, vol_short / vol_long) (std of log returns over `window` and
`4 * window` bars). A volume spike (volume z-score > `volume_spike_z`) signals a breakout, not an
overreaction: HOLD. Otherwise BUY below -band, SELL above +band, HOLD inside;
confidence = min(1, |z| / (2 * band)) outside the band, 1 - |z| / band inside. No vote during the
warm-up (4 * window + 1 bars); HOLD at confidence 0 in a flat market (a zero std).
"""

from __future__ import annotations

import msgspec
import numpy as np

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

REASONS = ("z inside the band", "z beyond the band", "volume spike: a breakout, not an overreaction", "flat market")
INSIDE, BEYOND, SPIKE, FLAT = range(4)


class MeanReversionState(msgspec.Struct):
    bars: int = 0
    previous_close: float | None = None
    price_tail: bytes = b""    # float64, the last window - 1 values of each series
    volume_tail: bytes = b""
    short_tail: bytes = b""
    long_tail: bytes = b""


class MeanReversion(PerSymbolModel):
    State = MeanReversionState

    @classmethod
    def of(cls, config: PeperConfig) -> MeanReversion:
        """The model `[lava_ai]` configures, over `[test] symbols`: what its actor runs, and `train` offline."""
        return cls(config.lava_ai, list(config.test.symbols))

    def __init__(self, config: LavaAiConfig, symbols: list[str]):
        super().__init__(symbols)
        self.config = config
        self.warmup = 4 * config.window + 1

    def version(self) -> str:
        return "meanrev-1"

    def vote_series(self, state: MeanReversionState, chunk: BarChunk, rows: np.ndarray, votes: Votes) -> None:
        config = self.config
        window = config.window
        close, volume = chunk.close[rows], chunk.volume[rows]
        mean, std, state.price_tail = rolling_mean_std(close, window, state.price_tail)
        volume_mean, volume_std, state.volume_tail = rolling_mean_std(volume, window, state.volume_tail)
        first_return = state.previous_close is None
        returns, state.previous_close = log_returns(close, state.previous_close)
        if first_return:  # the very first bar has no return: the return series starts one bar later
            returns = returns[1:]
        _, short, state.short_tail = rolling_mean_std(returns, window, state.short_tail)
        _, long, state.long_tail = rolling_mean_std(returns, 4 * window, state.long_tail)
        if first_return:
            short, long = np.concatenate([[np.nan], short]), np.concatenate([[np.nan], long])
        number = state.bars + np.arange(1, len(rows) + 1)
        state.bars += len(rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (close - mean) / std
            band = config.z_entry * np.maximum(1.0, short / long)
            volume_z = np.where(volume_std == 0.0, 0.0, (volume - volume_mean) / volume_std)
        warm = (number < self.warmup) | np.isnan(mean) | np.isnan(long) | np.isnan(volume_mean)
        flat = (std == 0.0) | (long == 0.0)
        spike = volume_z > config.volume_spike_z
        beyond = np.abs(z) >= band
        action = np.where(flat | spike | ~beyond, HOLD, np.where(z < 0, BUY, SELL))
        with np.errstate(divide="ignore", invalid="ignore"):
            confidence = np.where(
                flat, 0.0, np.where(spike, np.minimum(1.0, volume_z / (2 * config.volume_spike_z)),
                                    np.where(beyond, np.minimum(1.0, np.abs(z) / (2 * band)), 1.0 - np.abs(z) / band)))
        reason = np.where(flat, FLAT, np.where(spike, SPIKE, np.where(beyond, BEYOND, INSIDE)))
        votes.action[rows] = np.where(warm, ABSTAIN, action)
        votes.confidence[rows] = np.where(warm, 0.0, confidence)
        votes.reason[rows] = np.where(warm, WARM_UP, choose(reason, REASONS))
