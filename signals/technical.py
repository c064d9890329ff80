"""trading_ai: technical rules — time-series momentum over an ensemble of lookbacks, per symbol.

Consumes decision bars (`md.bar`, one symbol's in time order at a time); produces one vote per
bar. The score is the mean of the configured forms over every lookback (`[trading_ai] lookbacks`,
in time, so "20d" is 20 daily bars or 120 4-hour bars), each +1 (up), -1 (down) or 0:
- `momentum`: the sign of the return over the lookback (time-series momentum, Moskowitz, Ooi &
  Pedersen 2012);
- `moving_average`: the sign of the close against its simple moving average over the lookback;
- `donchian`: +1 from a close above the highest high of the lookback before it, -1 from a close
  below the lowest low, held in between (a channel breakout);
and, once each, the classic rules: `ema_cross` (the sign of EMA fast minus EMA slow), `macd` (the
sign of that line minus its signal EMA) and `rsi` (+1 below `rsi_oversold`, -1 above
`rsi_overbought`). A form over a lookback the history does not cover yet is left out of the mean;
with none covered the model abstains (warm-up). BUY when the score is at least `threshold`, SELL
when at most -threshold, else HOLD; the confidence is |score|.
"""

from __future__ import annotations

import msgspec
import numpy as np

from common.times import INTERVAL_MS, in_bars
from config.models import TradingAiConfig
from config.schema import PeperConfig
from marketdata.chunk import BarChunk
from signals.kernels import RsiState, ema, wilder_rsi
from signals.model import ABSTAIN, BUY, HOLD, SELL, WARM_UP, PerSymbolModel, Votes

LOOKBACK_FORMS = ("momentum", "moving_average", "donchian")


class TechnicalState(msgspec.Struct):
    closes: list[float] = []  # the last max-lookback + 1 closes
    highs: list[float] = []  # the last max-lookback highs and lows
    lows: list[float] = []
    channel: dict[int, int] = {}  # lookback bars -> the Donchian state (+1, -1, 0)
    fast: float | None = None
    slow: float | None = None
    signal: float | None = None
    rsi: RsiState = msgspec.field(default_factory=RsiState)
    bars: int = 0


class TechnicalRules(PerSymbolModel):
    State = TechnicalState

    @classmethod
    def of(cls, config: PeperConfig) -> TechnicalRules:
        """The model `[trading_ai]` configures over `[test] symbols`: what its actor runs, and `train` offline."""
        return cls(config.trading_ai, list(config.test.symbols), INTERVAL_MS[config.feed.decision_interval])

    def __init__(self, config: TradingAiConfig, symbols: list[str], decision_ms: int):
        super().__init__(symbols)
        self.config = config
        self.lookbacks = sorted({in_bars(lookback, decision_ms) for lookback in config.lookbacks})
        self.forms = list(config.forms)
        self.alpha_fast = 2.0 / (in_bars(config.ema_fast, decision_ms) + 1)
        self.alpha_slow = 2.0 / (in_bars(config.ema_slow, decision_ms) + 1)
        self.alpha_signal = 2.0 / (in_bars(config.macd_signal, decision_ms) + 1)
        self.slow_bars = in_bars(config.ema_slow, decision_ms)
        self.rsi_period = in_bars(config.rsi_period, decision_ms)
        self.keep = max(self.lookbacks) + 1

    def version(self) -> str:
        return "trend-2"

    def vote_series(self, state: TechnicalState, chunk: BarChunk, rows: np.ndarray, votes: Votes) -> None:
        config, forms = self.config, self.forms
        closes = chunk.close[rows].tolist()
        fast, state.fast = ema(closes, self.alpha_fast, state.fast)
        slow, state.slow = ema(closes, self.alpha_slow, state.slow)
        line = fast - slow
        signal, state.signal = ema(line.tolist(), self.alpha_signal, state.signal)
        rsi = wilder_rsi(closes, self.rsi_period, state.rsi)
        for i, row in enumerate(rows.tolist()):
            close, high, low = closes[i], float(chunk.high[row]), float(chunk.low[row])
            terms = self._lookback_terms(state, close)
            state.closes = (state.closes + [close])[-self.keep :]
            state.highs, state.lows = (state.highs + [high])[-self.keep :], (state.lows + [low])[-self.keep :]
            state.bars += 1
            warm_slow = state.bars >= self.slow_bars
            if "ema_cross" in forms and warm_slow:
                terms.append(float(np.sign(line[i])))
            if "macd" in forms and warm_slow:
                terms.append(float(np.sign(line[i] - signal[i])))
            if "rsi" in forms and not np.isnan(rsi[i]):
                terms.append(1.0 if rsi[i] < config.rsi_oversold else -1.0 if rsi[i] > config.rsi_overbought else 0.0)
            if not terms:
                votes.action[row], votes.confidence[row], votes.reason[row] = ABSTAIN, 0.0, WARM_UP
                continue
            score = sum(terms) / len(terms)
            votes.action[row] = BUY if score >= config.threshold else SELL if score <= -config.threshold else HOLD
            votes.confidence[row] = abs(score)
            votes.reason[row] = f"trend {score:+.2f} over {len(terms)} rules"

    def _lookback_terms(self, state: TechnicalState, close: float) -> list[float]:
        """Each lookback form's term for a new close, from the history before it (Donchian state updated)."""
        terms: list[float] = []
        history = state.closes
        for bars in self.lookbacks:
            if len(history) < bars:
                continue
            if "momentum" in self.forms:
                terms.append(float(np.sign(close - history[-bars])))
            if "moving_average" in self.forms:
                window = history[-(bars - 1) :] + [close] if bars > 1 else [close]
                terms.append(float(np.sign(close - sum(window) / len(window))))
            if "donchian" in self.forms:
                top, bottom = max(state.highs[-bars:]), min(state.lows[-bars:])
                level = state.channel.get(bars, 0)
                level = 1 if close > top else -1 if close < bottom else level
                state.channel[bars] = level
                terms.append(float(level))
        return terms
