"""rl_learner: the seed's ReinforcementLearningEngine — every expert's shadow book in, versioned weights out.

Consumes `md.kline`, `md.bar`, `clock`, `sig.<model>` of every enabled model, and `rl.command`
(rollbacks); produces `rl.credit` (`Credit`: each expert's net return over every tick of a chunk)
and `rl.weights` (`Weights`: a new version at every update tick, effective from that tick — the
schedule is in `learning.learner`, the trader's side of it in `actors.trader`),
and stores every version in the `weights` database of its store. Config: `[learning]` (the rule:
seed, hedge or thompson; rates, bounds, the period, initial weights), `[trader]` (the books trade
like the trader).

Credit comes from shadow books (`trading.shadow`): each model's book follows its votes alone, so
every model is credited on every bar whatever the ensemble did. Version `start_version` is the
projected initial weights. A rollback to V appends a new version equal to V, effective from the
next bar, and the next update tick keeps V's weights (a "held" version) instead of learning the
period the rollback cut, so a trader already past that bar decides with them too; history is
never rewritten. In replay its state (books, learner, rule) is checkpointed
at every chunk; restarted, it resumes from there and asks the feed and the models for the rest.
"""

from __future__ import annotations

import msgspec

from actors.base import Actor
from actors.runtime.entry import main
from common.times import INTERVAL_MS, duration_ms
from learning.learner import Learner, first_version, update_ticks
from marketdata.chunk import Universe
from messages import topics
from messages.counters import LearnerCounters
from messages.learning import Credit, WeightsCommand
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from storage.weights import get_weights, put_weights
from trading.assembly import ChunkAssembler
from trading.shadow import ShadowBooks


class _State(msgspec.Struct):
    learner: bytes
    books: bytes
    last_tick: int | None


class RlLearner(Actor):
    subscriptions = (topics.KLINE, topics.BAR, topics.CLOCK, topics.SIGNAL_PREFIX, topics.WEIGHTS_COMMAND)
    Counters = LearnerCounters
    keeps_outbox = True

    async def on_start(self) -> None:
        config = self.config
        self.models = self.topology.models
        self.interval_ms = INTERVAL_MS[config.feed.interval]
        self.update_ms = duration_ms(config.learning.update_every)
        self.assembler = ChunkAssembler(self.models, Universe(config.test.symbols))
        self.books = ShadowBooks(
            self.models, config.trader, config.test.symbols, INTERVAL_MS[config.feed.decision_interval]
        )
        start = first_version(config)
        self.experts = self.topology.experts(config)
        self.learner = Learner(config.learning, self.experts, self.topology.initial_weights(config), start)
        self.credit_rows = [self.books.experts.index(expert) for expert in self.experts]
        self.last_tick: int | None = None
        self.position = -1
        self.sources = {name for name in (self.topology.feed, *self.models) if name}
        found = self.recovery.resume(self.sources)
        if found is not None:
            saved = msgspec.msgpack.decode(found.state, type=_State)
            self.learner.restore(saved.learner)
            self.books.restore(saved.books)
            self.last_tick, self.position = saved.last_tick, found.upto
            self.log.info(
                "restarted: resumed from the checkpoint at %d (version %d)", found.upto, self.learner.state.version
            )
        elif get_weights(self.stores.own(), start.version) is None:
            put_weights(self.stores.own(), start)
        self.counters.version = self.learner.state.version

    async def on_running(self) -> None:
        self.recovery.catch_up(self.position, self.sources)

    def on_kline_batch(self, topic: str, batch: KlineBatch) -> None:
        """`KlineBatch(...)` on `md.kline`: the bars every book is marked on; on `md.bar`: the decision bars."""
        if batch.ts_event > self.position:
            if topic == topics.BAR:
                self.assembler.add_decision_bars(batch)
            else:
                self.assembler.add_bars(batch)
            self._advance()

    def on_vote_batch(self, topic: str, batch: VoteBatch) -> None:
        """`VoteBatch(model="lgbm_ai", ...)`: what that model's book follows."""
        self.assembler.add_votes(batch)
        self._advance()

    def on_clock(self, topic: str, clock: Clock) -> None:
        self._advance(force=not self.replay)

    def _advance(self, force: bool = False) -> None:
        while (voted := self.assembler.take(force=force)) is not None:
            returns, equity, _closed = self.books.run(voted)
            position = int(voted.batch.ts_event)
            self.publish(
                topics.CREDIT,
                Credit(
                    experts=self.books.experts,
                    bar_time=voted.ticks.tolist(),
                    returns=returns.tolist(),
                    equity=equity.tolist(),
                    ts_event=position,
                ),
                position,
            )
            versions = self.learner.observe(voted.ticks, returns[self.credit_rows], update_ticks(voted, self.update_ms))
            for version in versions:
                self.publish(topics.WEIGHTS, version, position)
            self.last_tick = int(voted.ticks[-1])
            self.position = position
            counters = self.counters
            counters.ticks += len(voted.ticks)
            counters.updates = self.learner.state.updates
            counters.version = self.learner.state.version
            if versions:  # durable before the checkpoint: a restart from an older one makes them again, equal
                put_weights(self.stores.own(), *versions)
            if self.replay:
                self._checkpoint()
            else:
                self.recovery.acknowledge(position)

    def _checkpoint(self) -> None:
        state = _State(self.learner.snapshot(), self.books.snapshot(), self.last_tick)
        self.recovery.checkpoint(self.position, msgspec.msgpack.encode(state))
        self.counters.checkpoints += 1

    def on_weights_command(self, topic: str, command: WeightsCommand) -> None:
        """`WeightsCommand(rollback_to=3, request_id="...")`: a new version equal to version 3, from the next bar."""
        target = get_weights(self.stores.own(), command.rollback_to)
        if target is None:
            self.log.error("rollback to version %d refused: no such version", command.rollback_to)
            return
        effective = (self.last_tick + self.interval_ms) if self.last_tick is not None else 0
        version = self.learner.rollback(target, effective, command.request_id)
        put_weights(self.stores.own(), version)
        self.publish(topics.WEIGHTS, version, max(self.position, 0))
        self.counters.rollbacks += 1
        self.counters.version = version.version
        if self.replay and self.position >= 0:  # restarted from the checkpoint before, it would reuse the number
            self._checkpoint()


if __name__ == "__main__":
    main(RlLearner)
