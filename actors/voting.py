"""The runtime every voting model shares: the bus, the acknowledgements and the restart — nothing else.

Consumes `md.bar` (the decision bars, `[feed] decision_interval`) and `clock`; produces on
`sig.<model>` the model's votes on every decision bar (one `VoteBatch` per model version the bars
were voted with — usually one; none for a chunk that completed no decision bar), and `ack.<model>`
after each clock, so a replay waits for the model (lossless, deterministic). The model itself is a
`signals.model.ChunkModel` the subclass makes (`make_model`): a pure function of the decision bars
it has seen, with its state explicit.

In replay the state is checkpointed at every clock, before the acknowledgement; after a restart
(the supervisor sets PEPER_RESTARTS) the model resumes from its checkpoint and asks the feed for
every chunk after it. Votes it publishes again carry the seqs they had, so receivers drop them.
"""

from __future__ import annotations

import inspect

from actors.base import Actor
from marketdata.chunk import OK, PROBLEM_REASONS, BarChunk, Universe
from messages import topics
from messages.columns import FLOAT, SMALL, factorized, packed
from messages.counters import VotingCounters
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from signals.model import ABSTAIN, ChunkModel, Votes
from storage.checkpoints import read_journal


class VotingActor(Actor):
    subscriptions = (topics.BAR, topics.CLOCK)
    Counters = VotingCounters
    keeps_outbox = True

    def make_model(self) -> ChunkModel:
        raise NotImplementedError

    async def on_start(self) -> None:
        self.universe = Universe(self.config.test.symbols)
        self.model = self.make_model()
        self.position = -1  # the newest chunk voted (its last bar time)
        self.sources = {self.topology.feed} if self.topology.feed else set()
        found = self.recovery.resume(self.sources)
        if found is not None:
            self.model.restore(found.state, read_journal(self.stores.checkpoints(), self.name, found.upto))
            self.position = self.counters.restored_upto = found.upto
            self.log.info("restarted: resumed from the checkpoint at %d", found.upto)

    async def on_running(self) -> None:
        self.recovery.catch_up(self.position, self.sources)

    async def on_kline_batch(self, topic: str, batch: KlineBatch) -> None:
        """`KlineBatch(interval_ms=86400000, symbol=["BTCUSDT", ...], open_time=[...], close=[...], ...)`
        on `md.bar`: vote every decision bar."""
        if batch.ts_event <= self.position:
            return  # voted before a restart
        self.position = batch.ts_event
        if not batch.rows:
            return
        chunk = BarChunk.from_batch(batch, self.universe)
        votes = self.model.vote(chunk)
        if inspect.isawaitable(votes):
            votes = await votes
        self._count(batch, chunk, votes)
        self.publish_votes(batch, votes)

    def _count(self, batch: KlineBatch, chunk: BarChunk, votes: Votes) -> None:
        counters = self.counters
        abstained = int((votes.action == ABSTAIN).sum())
        counters.abstentions += abstained
        counters.votes += len(votes.action) - abstained
        unusable = (chunk.problem != OK).nonzero()[0]
        for row in unusable[: max(0, 10 - counters.unusable_bars)]:
            self.log.warning(
                "abstaining on %s bar %d: %s",
                batch.symbols[batch.symbol_index[row]],
                chunk.open_time[row],
                PROBLEM_REASONS[chunk.problem[row]],
            )
        counters.unusable_bars += len(unusable)

    def publish_votes(self, batch: KlineBatch, votes: Votes) -> None:
        for first, end, version in votes.segments or [(0, batch.rows, self.model.version())]:
            reasons, reason_codes = factorized(votes.reason[first:end])
            self.publish(
                topics.signal(self.name),
                VoteBatch(
                    model=self.name,
                    version=version,
                    symbols=batch.symbols,
                    raw_symbol=batch.raw_symbol[2 * first : 2 * end],
                    raw_bar_time=batch.raw_open_time[8 * first : 8 * end],
                    raw_action=packed(votes.action[first:end], SMALL),
                    raw_confidence=packed(votes.confidence[first:end], FLOAT),
                    reasons=reasons,
                    raw_reason=reason_codes,
                    ts_event=batch.ts_event,
                ),
                position=batch.ts_event,
            )

    def on_clock(self, topic: str, clock: Clock) -> None:
        """`Clock(bar_time=T)`: every bar up to T was voted on: checkpoint (replay), then acknowledge."""
        if not self.replay:
            self.recovery.acknowledge(clock.bar_time)
            return
        journal = self.model.take_journal()
        self.recovery.checkpoint(
            clock.bar_time,
            self.model.snapshot(),
            None if journal is None else (clock.bar_time, journal),
            self.model.horizon(),
        )
        self.counters.checkpoints += 1
