"""trading_ai: EMA crossover, MACD and RSI combined into one vote, per symbol, a chunk at a time.

Score = (trend + momentum + rsi_term) / 3 with trend = sign(EMA fast - EMA slow), momentum =
sign(MACD histogram), rsi_term = +1 below `rsi_oversold`, -1 above `rsi_overbought`, else 0.
BUY when score >= `threshold`, SELL when <= -threshold, else HOLD; confidence = |score|. No vote
during the warm-up (until the slowest indicator is defined).
"""

from __future__ import annotations

import msgspec
import numpy as np

from config.models import TradingAiConfig
from config.schema import PeperConfig
from marketdata.chunk import BarChunk
from signals.kernels import RsiState, ema, wilder_rsi
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

SCORE_REASONS = tuple(f"score {k / 3:+.2f}" for k in range(-3, 4))  # indexed by 3 * score + 3


class TechnicalState(msgspec.Struct):
    bars: int = 0
    fast: float | None = None
    slow: float | None = None
    macd_fast: float | None = None
    macd_slow: float | None = None
    macd_signal: float | None = None
    rsi: RsiState = msgspec.field(default_factory=RsiState)


class TechnicalRules(PerSymbolModel):
    State = TechnicalState

    @classmethod
    def of(cls, config: PeperConfig) -> TechnicalRules:
        """The model `[trading_ai]` configures, over `[test] symbols`: what its actor runs, and `train` offline."""
        return cls(config.trading_ai, list(config.test.symbols))

    def __init__(self, config: TradingAiConfig, symbols: list[str]):
        super().__init__(symbols)
        self.config = config
        self.warmup = max(config.ema_slow, config.macd_slow + config.macd_signal, config.rsi_period + 1)

    def version(self) -> str:
        return "rules-1"

    def vote_series(self, state: TechnicalState, chunk: BarChunk, rows: np.ndarray, votes: Votes) -> None:
        config = self.config
        closes = chunk.close[rows].tolist()
        fast, state.fast = ema(closes, 2.0 / (config.ema_fast + 1), state.fast)
        slow, state.slow = ema(closes, 2.0 / (config.ema_slow + 1), state.slow)
        macd_fast, state.macd_fast = ema(closes, 2.0 / (config.macd_fast + 1), state.macd_fast)
        macd_slow, state.macd_slow = ema(closes, 2.0 / (config.macd_slow + 1), state.macd_slow)
        line = macd_fast - macd_slow
        signal, state.macd_signal = ema(line.tolist(), 2.0 / (config.macd_signal + 1), state.macd_signal)
        rsi = wilder_rsi(closes, config.rsi_period, state.rsi)
        number = state.bars + np.arange(1, len(rows) + 1)
        state.bars += len(rows)
        trend = np.sign(fast - slow)
        momentum = np.sign(line - signal)
        rsi_term = np.where(rsi < config.rsi_oversold, 1.0, np.where(rsi > config.rsi_overbought, -1.0, 0.0))
        thirds = (trend + momentum + rsi_term).astype(np.int64)
        score = thirds / 3
        action = np.where(score >= config.threshold, BUY, np.where(score <= -config.threshold, SELL, HOLD))
        warm = (number < self.warmup) | np.isnan(rsi)
        votes.action[rows] = np.where(warm, ABSTAIN, action)
        votes.confidence[rows] = np.where(warm, 0.0, np.abs(score))
        votes.reason[rows] = np.where(warm, WARM_UP, choose(thirds + 3, SCORE_REASONS))
