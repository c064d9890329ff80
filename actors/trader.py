"""trader: the ensemble (the seed's MultiAIOrchestrator) and a paper broker.

Consumes `md.kline`, `clock`, `sig.<model>` for every enabled model, `rl.weights`; produces
`decision` (per bar and symbol: every vote, the weights version, the score, the action),
`trade.open`, `trade.closed` (with every model's vote at entry) and `ack.trader`.
Config: `[trader]`; the enabled models are the `[actors]` among trading_ai, lava_ai, lgbm_ai,
mistral_ai.

Each clock tick t is handled in order once its klines and every enabled model's votes are in:
(1) orders decided on earlier bars fill at t's open and risk limits are checked (`PaperBroker`);
(2) trades closed in (1) are published and — in replay, with a learner — the trader waits for the
learner's weights whose cause lists them (re-sending them until answered, so a restarted learner
misses none); (3) every symbol is decided at t's close with the current weights, and t is
acknowledged. So a replay gives the same trades and weights at any speed. Live, votes missing
after `vote_deadline_ms` count as missing and the learner is not waited for.
"""

from __future__ import annotations

import asyncio
import time

from actors.base import Actor, main
from config.schema import MODEL_NAMES
from learning.engine import project
from messages import topics
from messages.learning import Weights
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from messages.system import Ack
from messages.trading import Decision, ModelVote
from signals import Bar
from trading.broker import PaperBroker
from trading.ensemble import combine


class Trader(Actor):
    subscriptions = (topics.KLINE, topics.CLOCK, topics.SIGNAL_PREFIX, topics.WEIGHTS)

    async def on_start(self) -> None:
        config = self.config
        self.models = [m for m in MODEL_NAMES if m in config.actors and config.actors[m].enabled]
        self.live = config.feed.mode == "live"
        learner = config.actors.get(config.trader.learner)
        self.learner = config.trader.learner if learner is not None and learner.enabled and not self.live else ""
        initial = {m: getattr(config.learning.initial_weights, m) for m in MODEL_NAMES}
        self.weights = project(initial, config.learning)
        self.weights_version = 0
        self.broker = PaperBroker(config.trader)
        self.bars: dict[int, dict[str, Bar]] = {}                    # tick -> symbol -> bar
        self.votes: dict[int, dict[str, dict[str, ModelVote]]] = {}  # tick -> model -> symbol -> vote
        self.clock = -1
        self.clock_seen_at: dict[int, float] = {}
        self.filled_tick: int | None = None       # tick whose fills are done, decisions pending
        self.awaiting: set[str] = set()            # trade ids the learner has not answered yet
        self.unanswered_frames: list[bytes] = []
        self.counters.update(decisions=0, trades_closed=0, ticks=0, missing_votes=0)

    async def on_running(self) -> None:
        self.spawn(self._timers(), "timers")

    # ----- inputs ---------------------------------------------------------------------------
    def on_kline_batch(self, topic: str, batch: KlineBatch) -> None:
        """`KlineBatch(...)`: the bars to fill, risk-check and decide on."""
        for i, symbol in enumerate(batch.symbol):
            self.bars.setdefault(batch.open_time[i], {})[symbol] = Bar(
                batch.open_time[i], batch.open[i], batch.high[i], batch.low[i], batch.close[i], batch.volume[i])

    def on_vote_batch(self, topic: str, batch: VoteBatch) -> None:
        """`VoteBatch(model="lava_ai", bar_time=[...], action=["BUY", None, ...], ...)`."""
        if batch.model not in self.models:
            return
        for symbol, bar_time, action, confidence in zip(batch.symbol, batch.bar_time, batch.action, batch.confidence):
            self.votes.setdefault(bar_time, {}).setdefault(batch.model, {}).setdefault(
                symbol, ModelVote(model=batch.model, action=action, confidence=confidence))
        self._advance()

    def on_clock(self, topic: str, clock: Clock) -> None:
        """`Clock(bar_time=T)`: every bar up to T was sent."""
        self.clock = max(self.clock, clock.bar_time)
        self.clock_seen_at.setdefault(clock.bar_time, time.monotonic())
        self._advance()

    def on_weights(self, topic: str, weights: Weights) -> None:
        """`Weights(version=12, weights={...}, cause=["BTCUSDT-1618..."])`: adopt a newer version."""
        if weights.version > self.weights_version:
            self.weights, self.weights_version = dict(weights.weights), weights.version
        self.awaiting.difference_update(weights.cause)
        if not self.awaiting:
            self.unanswered_frames.clear()
        self._advance()

    # ----- the tick loop --------------------------------------------------------------------
    def _advance(self) -> None:
        while not self.awaiting and self.bars:
            tick = min(self.bars)
            if tick > self.clock or not self._votes_complete(tick):
                return
            if self.filled_tick != tick:
                self._fill(tick)
                if self.awaiting:
                    return
            self._decide(tick)

    def _votes_complete(self, tick: int) -> bool:
        symbols = self.bars[tick]
        votes = self.votes.get(tick, {})
        complete = all(symbol in votes.get(model, {}) for model in self.models for symbol in symbols)
        if complete or not self.live:
            return complete
        return time.monotonic() - self.clock_seen_at.get(tick, time.monotonic()) > self.config.trader.vote_deadline_ms / 1000

    def _fill(self, tick: int) -> None:
        self.filled_tick = tick
        for symbol, bar in sorted(self.bars[tick].items()):
            opened, closed = self.broker.on_bar(symbol, bar)
            for trade in opened:
                self.publish(topics.TRADE_OPEN, trade)
            for trade in closed:
                frame = self.publish(topics.TRADE_CLOSED, trade)
                self.counters["trades_closed"] += 1
                if self.learner:
                    self.awaiting.add(trade.trade_id)
                    self.unanswered_frames.append(frame)

    def _decide(self, tick: int) -> None:
        votes = self.votes.pop(tick, {})
        for symbol in sorted(self.bars.pop(tick)):
            model_votes = []
            for model in self.models:
                vote = votes.get(model, {}).get(symbol)
                if vote is None:
                    self.counters["missing_votes"] += 1
                    vote = ModelVote(model=model, action=None, confidence=0.0)
                model_votes.append(vote)
            score, action = combine(model_votes, self.weights, self.config.trader.entry_threshold)
            self.publish(topics.DECISION, Decision(symbol=symbol, bar_time=tick, weights_version=self.weights_version,
                                                   score=score, action=action, votes=model_votes, ts_event=tick))
            self.broker.decide(symbol, tick, action, model_votes)
            self.counters["decisions"] += 1
        self.counters["ticks"] += 1
        self.filled_tick = None
        if tick == self.clock or not self.bars or min(self.bars) > self.clock:
            self.publish(topics.ack(self.name), Ack(upto=tick, ts_event=tick))

    async def _timers(self) -> None:
        """Re-send trades the learner has not answered (it may have restarted); live vote deadlines."""
        interval = self.config.trader.resend_interval_s
        while True:
            await asyncio.sleep(min(interval, self.config.trader.vote_deadline_ms / 1000) if self.live else interval)
            for frame in self.unanswered_frames:
                self.resend(frame)
            if self.live:
                self._advance()


if __name__ == "__main__":
    main(Trader)
