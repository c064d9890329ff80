"""trading_ai: time-series momentum over an ensemble of lookbacks, per symbol, one decision bar at a time.

Per lookback L (in bars): momentum = sign(close - close L bars ago); moving_average = sign(close -
mean of the last L closes, this one included); donchian = +1 after a close above the highest high
of the L bars before it, -1 after a close below their lowest low, else what it was. Once each:
ema_cross = sign(EMA fast - EMA slow) and macd = sign(that line - its signal EMA), both from the
slow period's bar on; rsi = +1 below oversold, -1 above overbought. Score = mean of the defined
terms (none: abstain); BUY at >= threshold, SELL at <= -threshold, else HOLD; confidence |score|.
"""

from __future__ import annotations

from collections import deque

from common.times import in_bars
from config.models import TradingAiConfig
from tests.reference import Bar, Vote
from tests.reference.indicators import Ema, WilderRsi


def _sign(x: float) -> float:
    return float((x > 0) - (x < 0))


class TechnicalRules:
    def __init__(self, config: TradingAiConfig, decision_ms: int):
        self.config = config
        self.lookbacks = sorted({in_bars(lookback, decision_ms) for lookback in config.lookbacks})
        longest = max(self.lookbacks)
        self.closes: deque[float] = deque(maxlen=longest)
        self.highs: deque[float] = deque(maxlen=longest)
        self.lows: deque[float] = deque(maxlen=longest)
        self.channel = {bars: 0.0 for bars in self.lookbacks}
        self.fast, self.slow = Ema(in_bars(config.ema_fast, decision_ms)), Ema(in_bars(config.ema_slow, decision_ms))
        self.signal = Ema(in_bars(config.macd_signal, decision_ms))
        self.slow_bars = in_bars(config.ema_slow, decision_ms)
        self.rsi = WilderRsi(in_bars(config.rsi_period, decision_ms))
        self.bars = 0

    def update(self, bar: Bar) -> Vote:
        config, close = self.config, bar.close
        terms: list[float] = []
        history = list(self.closes)
        for bars in self.lookbacks:
            if len(history) < bars:
                continue
            if "momentum" in config.forms:
                terms.append(_sign(close - history[-bars]))
            if "moving_average" in config.forms:
                window = history[len(history) - bars + 1 :] + [close]
                terms.append(_sign(close - sum(window) / len(window)))
            if "donchian" in config.forms:
                highs, lows = list(self.highs)[-bars:], list(self.lows)[-bars:]
                if close > max(highs):
                    self.channel[bars] = 1.0
                elif close < min(lows):
                    self.channel[bars] = -1.0
                terms.append(self.channel[bars])
        line = self.fast.update(close) - self.slow.update(close)
        signal = self.signal.update(line)
        rsi = self.rsi.update(close)
        self.closes.append(close)
        self.highs.append(bar.high)
        self.lows.append(bar.low)
        self.bars += 1
        if self.bars >= self.slow_bars:
            if "ema_cross" in config.forms:
                terms.append(_sign(line))
            if "macd" in config.forms:
                terms.append(_sign(line - signal))
        if "rsi" in config.forms and rsi is not None:
            terms.append(1.0 if rsi < config.rsi_oversold else -1.0 if rsi > config.rsi_overbought else 0.0)
        if not terms:
            return Vote(None, 0.0, "warm-up")
        score = sum(terms) / len(terms)
        action = "BUY" if score >= config.threshold else "SELL" if score <= -config.threshold else "HOLD"
        return Vote(action, abs(score), f"trend {score:+.2f}")
