"""strength_ai: cross-sectional relative strength — hold the strongest symbols, else cash.

Consumes decision bars (`md.bar`: every symbol's bar of a period together); produces one vote per
bar. A symbol's strength is its mean log return over `[strength_ai] lookbacks` (in time); at each
period the `top` strongest of the symbols with a bar and enough history vote BUY — with `absolute`,
only those whose strength is above 0 (relative strength with an absolute-momentum filter, so a
market where everything falls is sat out) — and the `top` weakest vote SELL when their strength is
below 0 (a short, where allowed; flat otherwise); the rest HOLD. Confidence 1 for BUY and SELL, 0
for HOLD. A symbol without enough history abstains (warm-up).
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

from common.times import INTERVAL_MS, in_bars
from config.models import StrengthAiConfig
from config.schema import PeperConfig
from marketdata.chunk import PROBLEM_REASONS, BarChunk
from signals.model import ABSTAIN, BUY, HOLD, SELL, WARM_UP, Votes


class StrengthState(msgspec.Struct):
    closes: dict[str, list[float]] = {}  # symbol -> its last max-lookback + 1 closes


class RelativeStrength:
    @classmethod
    def of(cls, config: PeperConfig) -> RelativeStrength:
        return cls(config.strength_ai, list(config.test.symbols), INTERVAL_MS[config.feed.decision_interval])

    def __init__(self, config: StrengthAiConfig, symbols: list[str], decision_ms: int):
        self.config = config
        self.symbols = list(symbols)
        self.lookbacks = sorted({in_bars(lookback, decision_ms) for lookback in config.lookbacks})
        self.keep = max(self.lookbacks) + 1
        self.state = StrengthState()

    def version(self) -> str:
        return "strength-1"

    def vote(self, chunk: BarChunk) -> Votes:
        votes = Votes(
            np.full(len(chunk), ABSTAIN, np.int8),
            np.zeros(len(chunk)),
            np.array(PROBLEM_REASONS, dtype=object)[chunk.problem],
        )
        usable = np.flatnonzero(chunk.problem == 0)
        for period in np.unique(chunk.open_time[usable]):
            self._period(chunk, usable[chunk.open_time[usable] == period], votes)
        return votes

    def _period(self, chunk: BarChunk, rows: np.ndarray, votes: Votes) -> None:
        strength: dict[int, float] = {}
        for row in rows.tolist():
            name = self.symbols[int(chunk.symbol[row])]
            history = self.state.closes.setdefault(name, [])
            close = float(chunk.close[row])
            if len(history) >= self.lookbacks[-1]:
                strength[row] = sum(math.log(close / history[-bars]) for bars in self.lookbacks) / len(self.lookbacks)
            else:
                votes.reason[row] = WARM_UP
            history.append(close)
            del history[: -self.keep]
        ranked = sorted(strength, key=lambda row: (-strength[row], row))
        top, config = self.config.top, self.config
        for rank, row in enumerate(ranked):
            value = strength[row]
            if rank < top and (value > 0 or not config.absolute):
                action, reason = BUY, f"rank {rank + 1} of {len(ranked)}, strength {value:+.3f}"
            elif rank >= len(ranked) - top and value < 0:
                action, reason = SELL, f"rank {rank + 1} of {len(ranked)}, strength {value:+.3f}"
            else:
                action, reason = HOLD, f"rank {rank + 1} of {len(ranked)}"
            votes.action[row], votes.confidence[row], votes.reason[row] = action, 0.0 if action == HOLD else 1.0, reason

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.state)

    def take_journal(self) -> bytes | None:
        return None

    def horizon(self) -> int | None:
        return None

    def restore(self, raw: bytes, journal: list[bytes] | None = None) -> None:
        self.state = msgspec.msgpack.decode(raw, type=StrengthState)
