"""Join each chunk of the feed's bars with its decision bars and every model's votes on them.

Consumes, in feed order, the feed's `KlineBatch`es (`md.kline`), the decision bars completed in
each (`md.bar`, a `KlineBatch` of the decision interval, possibly empty, with the same `ts_event`),
and `VoteBatch`es (each model votes every decision bar, in one or more batches); produces
`VotedChunk`s, oldest first: the feed's bars as a `BarChunk`, their ticks, the decision bars, the
tick each decision bar completed at (the decision is taken at that tick's close), and per model the
action codes and confidences of its votes on each decision bar. A chunk is ready once both batches
came and every model voted every decision bar of it; `force` (live, after the vote deadline) gives
it out as it is, a missing vote counted and taken as an abstention. Votes are matched to decision
bars by (bar time, symbol), so a model that splits its votes into parts fits as well as one that
does not, and votes that come before their chunk wait for it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from marketdata.chunk import BarChunk, Universe
from messages.market import KlineBatch
from messages.signals import VoteBatch
from signals.model import ABSTAIN
from trading.prices import ChunkPrices


@dataclass
class VotedChunk:
    batch: KlineBatch
    chunk: BarChunk  # the feed's bars
    ticks: np.ndarray  # distinct bar times, ascending
    bars: BarChunk  # the decision bars completed in this chunk
    decision_tick: np.ndarray  # [decision bar] index into `ticks` of the tick that completed it
    action: np.ndarray  # [model, decision bar] int8 codes (ABSTAIN for a missing vote)
    confidence: np.ndarray  # [model, decision bar]
    names: list[str] = field(default_factory=list)  # the universe: symbol index -> name
    missing: int = 0  # votes that never came (forced chunks only)
    _prices: ChunkPrices | None = field(default=None, repr=False)

    @property
    def prices(self) -> ChunkPrices:
        if self._prices is None:
            self._prices = ChunkPrices.of(self.chunk, self.ticks, len(self.names))
        return self._prices

    @property
    def decision_ms(self) -> int:
        return self.bars.interval_ms

    def decisions(self) -> list[tuple[int, np.ndarray]]:
        """(tick index, the decision bars' rows completed there), in tick order."""
        if not len(self.decision_tick):
            return []
        cuts = np.flatnonzero(np.diff(self.decision_tick)) + 1
        return [(int(self.decision_tick[rows[0]]), rows) for rows in np.split(np.arange(len(self.decision_tick)), cuts)]


def decision_ticks(ticks: np.ndarray, bars: BarChunk, feed_ms: int) -> np.ndarray:
    """Each decision bar's completing tick: the first whose bar closes at or after its period's end."""
    return np.searchsorted(ticks, bars.open_time + bars.interval_ms - feed_ms, "left").astype(np.int64)


class _Pending:
    def __init__(self, position: int, models: int):
        self.position = position
        self.klines: KlineBatch | None = None
        self.decision_bars: KlineBatch | None = None
        self.models = models
        self.bars: BarChunk | None = None
        self.key = self.order = self.sorted_key = np.empty(0, np.int64)
        self.action = np.empty((models, 0), np.int8)
        self.confidence = np.empty((models, 0))
        self.filled = np.empty((models, 0), bool)

    def set_decision_bars(self, batch: KlineBatch, universe: Universe) -> None:
        self.decision_bars = batch
        self.bars = BarChunk.from_batch(batch, universe)
        self.key = self.bars.open_time * 65_536 + (self.bars.symbol + 1)
        self.order = np.argsort(self.key, kind="stable")
        self.sorted_key = self.key[self.order]
        rows = len(self.bars)
        self.action = np.full((self.models, rows), ABSTAIN, np.int8)
        self.confidence = np.zeros((self.models, rows))
        self.filled = np.zeros((self.models, rows), bool)

    @property
    def complete(self) -> bool:
        return self.klines is not None and self.decision_bars is not None and bool(self.filled.all())


class ChunkAssembler:
    def __init__(self, models: list[str], universe: Universe):
        self.models = list(models)
        self.index = {model: i for i, model in enumerate(models)}
        self.universe = universe
        self.pending: deque[_Pending] = deque()
        self.early: list[VoteBatch] = []  # votes whose decision bars have not come yet

    def _entry(self, position: int) -> _Pending:
        for pending in self.pending:
            if pending.position == position:
                return pending
        entry = _Pending(position, len(self.models))
        self.pending.append(entry)
        return entry

    def add_bars(self, batch: KlineBatch) -> None:
        """The feed's bars of a chunk (`md.kline`)."""
        if batch.rows:
            self._entry(batch.ts_event).klines = batch

    def add_decision_bars(self, batch: KlineBatch) -> None:
        """The decision bars the same chunk completed (`md.bar`)."""
        self._entry(batch.ts_event).set_decision_bars(batch, self.universe)
        if self.early:
            early, self.early = self.early, []
            for votes in early:
                self.add_votes(votes)

    def add_votes(self, batch: VoteBatch) -> None:
        model = self.index.get(batch.model)
        if model is None or not batch.rows:
            return
        key = batch.bar_time * 65_536 + (self.universe.indices(batch.symbols)[batch.symbol_index] + 1)
        placed = np.zeros(len(key), bool)
        for pending in self.pending:
            if pending.bars is None or not len(pending.sorted_key):
                continue
            found = np.searchsorted(pending.sorted_key, key)
            hit = found < len(pending.sorted_key)
            hit[hit] = pending.sorted_key[found[hit]] == key[hit]
            rows = pending.order[found[hit]]
            pending.action[model, rows] = batch.action_code[hit]
            pending.confidence[model, rows] = batch.confidence[hit]
            pending.filled[model, rows] = True
            placed |= hit
        if not placed.all():
            self.early.append(batch)  # (part of) decision bars not here yet; matched again when they come

    def take(self, force: bool = False) -> VotedChunk | None:
        """The oldest chunk once it is complete (or once its bars are here, with force)."""
        if not self.pending:
            return None
        head = self.pending[0]
        if head.klines is None or not head.complete and not (force and head.decision_bars is not None):
            return None
        self.pending.popleft()
        assert head.bars is not None, "a chunk is taken only once its decision bars are matched"
        chunk = BarChunk.from_batch(head.klines, self.universe)
        ticks = np.unique(chunk.open_time)
        return VotedChunk(
            head.klines,
            chunk,
            ticks,
            head.bars,
            decision_ticks(ticks, head.bars, chunk.interval_ms),
            head.action,
            head.confidence,
            self.universe.symbols,
            int((~head.filled).sum()),
        )

    def oldest_tick(self) -> int | None:
        head = self.pending[0] if self.pending else None
        return int(head.klines.open_time[0]) if head is not None and head.klines is not None else None
