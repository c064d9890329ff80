"""trading_ai: EMA crossover, MACD and RSI combined into one vote, per symbol, O(1) per bar.

Score = (trend + momentum + rsi_term) / 3 with trend = sign(EMA fast - EMA slow), momentum =
sign(MACD histogram), rsi_term = +1 below `rsi_oversold`, -1 above `rsi_overbought`, else 0.
BUY when score >= `threshold`, SELL when <= -threshold, else HOLD; confidence = |score|.
"""

from __future__ import annotations

from config.models import TradingAiConfig
from tests.reference import Bar, Vote
from tests.reference.indicators import Ema, Macd, WilderRsi


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


class TechnicalRules:
    def __init__(self, config: TradingAiConfig):
        self.config = config
        self.fast, self.slow = Ema(config.ema_fast), Ema(config.ema_slow)
        self.macd = Macd(config.macd_fast, config.macd_slow, config.macd_signal)
        self.rsi = WilderRsi(config.rsi_period)
        self.bars = 0
        self.warmup = max(config.ema_slow, config.macd_slow + config.macd_signal, config.rsi_period + 1)

    def update(self, bar: Bar) -> Vote:
        close = bar.close
        fast, slow = self.fast.update(close), self.slow.update(close)
        macd = self.macd.update(close)
        rsi = self.rsi.update(close)
        self.bars += 1
        if self.bars < self.warmup or macd is None or rsi is None:
            return Vote(None, 0.0, f"warm-up {self.bars}/{self.warmup} bars")
        config = self.config
        trend, momentum = _sign(fast - slow), _sign(macd[2])
        rsi_term = 1 if rsi < config.rsi_oversold else -1 if rsi > config.rsi_overbought else 0
        score = (trend + momentum + rsi_term) / 3
        action = "BUY" if score >= config.threshold else "SELL" if score <= -config.threshold else "HOLD"
        return Vote(action, abs(score), f"ema {'up' if trend > 0 else 'down'} macd {macd[2]:+.3g} rsi {rsi:.0f}")
