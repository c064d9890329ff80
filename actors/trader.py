"""trader: the ensemble (the seed's MultiAIOrchestrator) and its paper book, a chunk at a time.

Consumes `md.kline` (the bars it fills and marks on), `md.bar` (the decision bars), `clock`,
`sig.<model>` of every enabled model, `rl.weights`; produces one `decision` (`DecisionBatch`) per
chunk (per tick live) — every decision bar's score, target weight, order, weights version and every
model's vote — and `trade.open`, `trade.closed` in the order the fills happened (at one bar time the
closes first: what they free pays for the opens; the executor places them in that order), and
`ack.trader` after each chunk. Config:
`[trader]` (sizing, fees, slippage, band, breaker, the live vote deadline).

With the executor (`[actors.executor]`), the exchange's fills are the book's: every trade's
`order.report` moves the book by what the exchange filled beyond (or short of) the paper fill
(`trading.exchange_fills`: a partial fill, the lot step, a refusal, the commission), so the next
decision starts from what the exchange holds. In replay a chunk is checkpointed and acknowledged
only once the reports of all its trades are in, applied together in the trades' order before the
next chunk (deterministic, and a restart asks the executor for them again); live, each applies
as it comes. A trade refused by `supervisor halt` stays on paper: the paper book goes on.

The schedule (pipelined, deterministic without per-tick waits): the learner publishes a new
weights version at every update tick (`learning.learner.update_ticks`: the decision ticks that
close a `[learning] update_every` period), computed from the ticks up to it, and
`Weights.effective_from` says that tick. The trader decides each decision bar with the newest
version effective at or before it; it waits only when it reaches an update tick whose version has
not arrived yet, and then only until it does. Nothing else ever waits for the learner: the two run
side by side. A chunk is decided once every model has voted on every decision bar of it (replay:
always; live: or when `vote_deadline_ms` has passed since its clock, a missing vote then counted
and taken as an abstention, and a version applied as soon as it arrives). Per chunk:
`trading.desk` mixes the experts' portfolios with the weights and its book fills and marks.

Restarts (replay): after each chunk the trader checkpoints its desk — the book (equity, positions,
pending orders, marks), the versions that can still apply — the last tick and its counters, then
acknowledges the chunk. Restarted, it takes them back with its seqs and lineage and asks the feed,
the models and the learner for everything after that chunk: no trade is applied twice or lost, and
what it publishes again repeats what it published before, seq for seq (receivers drop it).
"""

from __future__ import annotations

import asyncio
import time

import msgspec

from actors.base import Actor
from actors.runtime.entry import main
from common.times import INTERVAL_MS, duration_ms
from learning.learner import first_version, update_ticks
from marketdata.chunk import Universe
from messages import topics
from messages.counters import TraderCounters
from messages.execution import HALTED, OrderReport
from messages.learning import Weights
from messages.market import Clock, KlineBatch
from messages.signals import VoteBatch
from messages.trading import TradeClosed, TradeOpen
from trading.assembly import ChunkAssembler, VotedChunk
from trading.desk import Decided, Desk
from trading.exchange_fills import PaperFill, difference, paper_fill


class _State(msgspec.Struct):
    desk: bytes
    last_tick: int | None
    counters: TraderCounters


class Trader(Actor):
    subscriptions = (topics.KLINE, topics.BAR, topics.CLOCK, topics.SIGNAL_PREFIX, topics.WEIGHTS, topics.ORDER_REPORT)
    Counters = TraderCounters
    keeps_outbox = True

    async def on_start(self) -> None:
        config = self.config
        self.assembler = ChunkAssembler(self.topology.models, Universe(config.test.symbols))
        initial = first_version(config)
        self.desk = Desk(
            self.topology.models,
            config.trader,
            config.test.symbols,
            initial,
            INTERVAL_MS[config.feed.decision_interval],
            experts=self.topology.experts(config),
        )
        self.waits_for_learner = self.replay and self.topology.learner is not None
        self.update_ms = duration_ms(config.learning.update_every)
        self.last_tick: int | None = None
        self.current: VotedChunk | None = None
        self.updates: set[int] = set()  # the current chunk's update ticks (indices)
        self.done_ticks = 0  # ticks of the current chunk decided so far
        self.parts: list[Decided] = []  # the current chunk's decided parts
        self.deadline_s = config.trader.vote_deadline_ms / 1000
        self.clock_seen: dict[int, float] = {}  # live: bar time -> when its clock came (the deadline's start)
        self.timer: asyncio.TimerHandle | None = None
        self.counters.weights_version = initial.version
        self.counters.equity = config.trader.initial_equity
        self.position = -1
        self.checkpointed = -1  # replay: the position of the last checkpoint
        self.executor = self.topology.executor
        self.unreported: dict[str, PaperFill] = {}  # executor: trades published, their reports not yet applied
        self.reports: dict[str, OrderReport] = {}  # replay: reports of the finished chunk's trades, so far
        self.finished: int | None = None  # replay: the chunk waiting for its reports
        self.sales_of_all: dict[str, int] = {}  # symbol -> the trades published that sold all of it
        sources = (self.topology.feed, *self.topology.models, self.topology.learner, self.executor)
        self.sources = {name for name in sources if name}
        found = self.recovery.resume(self.sources)
        if found is not None:
            saved = msgspec.msgpack.decode(found.state, type=_State)
            self.desk.restore(saved.desk)
            self.last_tick, self.position, self.counters = saved.last_tick, found.upto, saved.counters
            self.checkpointed = found.upto
            self.log.info(
                "restarted: resumed from the checkpoint at %d (equity %.2f)", found.upto, saved.counters.equity
            )

    async def on_running(self) -> None:
        self.recovery.catch_up(self.position, self.sources)

    # ----- inputs ---------------------------------------------------------------------------
    def on_kline_batch(self, topic: str, batch: KlineBatch) -> None:
        """`KlineBatch(...)` on `md.kline`: the bars to fill and mark on; on `md.bar`: the decision bars."""
        if batch.ts_event <= self.position:
            return  # decided before a restart
        if topic == topics.BAR:
            self.assembler.add_decision_bars(batch)
        else:
            self.assembler.add_bars(batch)
        self._advance()

    def on_vote_batch(self, topic: str, batch: VoteBatch) -> None:
        """`VoteBatch(model="lava_ai", bar_time=[...], action=["BUY", None, ...], ...)`."""
        if batch.ts_event <= self.position:
            return
        self.assembler.add_votes(batch)
        self._advance()

    def on_clock(self, topic: str, clock: Clock) -> None:
        """`Clock(bar_time=T)`: every bar up to T was sent; live, T's vote deadline starts now."""
        if not self.replay:
            self.clock_seen.setdefault(clock.bar_time, time.monotonic())
        self._advance()

    def on_weights(self, topic: str, weights: Weights) -> None:
        """`Weights(version=12, effective_from=1617321600000, weights={...})`: kept for its first bar."""
        self.desk.add_version(weights)
        self._advance()

    def on_order_report(self, topic: str, report: OrderReport) -> None:
        """`OrderReport(trade_id=..., status="EXPIRED", executed_qty=0.01, quote_qty=580.2, ...)`: the exchange's fill."""
        if not self.replay:
            if report.trade_id in self.unreported:
                self._take_exchange_fill(self.unreported.pop(report.trade_id), report)
            return
        if report.ts_event <= self.checkpointed:
            return  # its chunk was checkpointed with it
        self.reports[report.trade_id] = report  # restarted, the executor's may come before the trade is decided again
        if self._finish_exchange_fills():
            self._advance()

    def _finish_exchange_fills(self) -> bool:
        """Replay: once the finished chunk's every trade has its report, apply them in the trades' order and checkpoint."""
        if self.finished is None or any(trade_id not in self.reports for trade_id in self.unreported):
            return False
        for trade_id, paper in self.unreported.items():
            self._take_exchange_fill(paper, self.reports[trade_id])
        self.unreported, self.reports = {}, {}  # nothing else can have come: the next chunk waits for this
        self._checkpoint(self.finished)
        self.finished = None
        return True

    def _take_exchange_fill(self, paper: PaperFill, report: OrderReport) -> None:
        counters = self.counters
        counters.exchange_reports += 1
        if report.reason.startswith(HALTED):
            return
        later = self.sales_of_all.get(paper.symbol, 0) - paper.sales_of_all_before - paper.closes_all
        found = difference(paper, report, sold_all_since=later > 0)
        counters.exchange_foreign_commissions += found.foreign_commission
        if found.units or found.cash:
            counters.exchange_adjusted += 1
            counters.exchange_cash_adjusted += found.cash
            book = self.desk.book
            book.take_exchange_fill(paper.symbol, found.units, found.cash, paper.lot_id, report.ts_event, paper.price)

    def _keep_paper_fill(self, trade: TradeOpen | TradeClosed) -> None:
        before = self.sales_of_all.get(trade.symbol, 0)
        paper = self.unreported[trade.trade_id] = paper_fill(trade, self.config.trader.fee_rate, before)
        self.sales_of_all[trade.symbol] = before + paper.closes_all

    def _overdue(self) -> bool:
        """Live: the oldest waiting chunk's vote deadline has passed."""
        oldest = self.assembler.oldest_tick()
        seen = self.clock_seen.get(oldest) if oldest is not None else None
        return seen is not None and time.monotonic() - seen >= self.deadline_s

    # ----- deciding ---------------------------------------------------------------------------
    def _advance(self) -> None:
        if self.finished is not None:
            return  # replay: the last chunk's exchange fills come first
        while True:
            if self.current is None:
                self.current = self.assembler.take(force=not self.replay and self._overdue())
                if self.current is None:
                    break
                self.counters.missing_votes += self.current.missing
                self.done_ticks, self.parts = 0, []
                self.updates = set(update_ticks(self.current, self.update_ms)) if self.waits_for_learner else set()
                for tick in self.current.ticks.tolist():
                    self.clock_seen.pop(tick, None)
            if not self._decide_available():
                break
            self._finish_chunk()
            if self.finished is not None and not self._finish_exchange_fills():
                break
        if not self.replay:
            self._arm_deadline()

    def _arm_deadline(self) -> None:
        """Wake up when the oldest waiting chunk's deadline passes (never polls)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        oldest = self.assembler.oldest_tick()
        seen = self.clock_seen.get(oldest) if oldest is not None else None
        if seen is not None:
            delay = max(0.0, seen + self.deadline_s - time.monotonic())
            self.timer = asyncio.get_running_loop().call_later(delay, self._advance)

    def _decide_available(self) -> bool:
        """Decide the current chunk's ticks up to the first whose weights have not come; True when all are."""
        ticks = self.current.ticks
        start = end = self.done_ticks
        while end < len(ticks):
            tick = int(ticks[end])
            if end in self.updates and not self.desk.has_version_from(tick):
                if end == start:
                    self.counters.weight_waits += 1
                break
            self.last_tick = tick
            end += 1
        if end > start:
            self._decide(start, end)
            self.done_ticks = end
        return end == len(ticks)

    def _decide(self, first_tick: int, end_tick: int) -> None:
        decided = self.desk.decide(self.current, first_tick, end_tick)
        position = int(self.current.batch.ts_event)
        result = decided.result
        for trade in sorted([*result.closed, *result.opened], key=lambda fill: fill.ts_event):  # as they happened
            self.publish(topics.TRADE_OPEN if isinstance(trade, TradeOpen) else topics.TRADE_CLOSED, trade, position)
            if self.executor:
                self._keep_paper_fill(trade)
        counters = self.counters
        counters.trades_opened += len(result.opened)
        counters.trades_closed += len(result.closed)
        counters.ticks += end_tick - first_tick
        counters.decisions += len(decided.rows)
        if len(result.equity):
            counters.equity = float(result.equity[-1])
        if len(decided.versions):
            counters.weights_version = int(decided.versions[-1])
        self.parts.append(decided)

    def _finish_chunk(self) -> None:
        ready, self.current = self.current, None
        position = int(ready.batch.ts_event)
        self.publish(topics.DECISION, self.desk.decision_batch(ready, self.parts), position=position)
        self.desk.forget_versions(self.last_tick)
        self.position = position
        if not self.replay:
            self.recovery.acknowledge(position)
        elif self.unreported:
            self.finished = position
        else:
            self._checkpoint(position)

    def _checkpoint(self, position: int) -> None:
        self.checkpointed = position
        self.counters.checkpoints += 1
        self.recovery.checkpoint(
            position, msgspec.msgpack.encode(_State(self.desk.snapshot(), self.last_tick, self.counters))
        )


if __name__ == "__main__":
    main(Trader)
