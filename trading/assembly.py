"""Join each kline chunk with every model's votes on it: what the trader and the learner both decide on.

Consumes `KlineBatch`es (in feed order) and `VoteBatch`es (each model votes every row of every
chunk, in one or more batches, in order); produces `Ready` chunks, oldest first: the bars as a
`BarChunk`, their distinct tick times, and per model the action codes and confidences of its
votes on the same rows. A chunk is ready once every model has voted every row of it; `force`
(live, after the vote deadline) gives it out as it is, a missing vote counted and taken as an
abstention. Votes are matched to rows by (bar time, symbol), so a model that splits its votes of
a chunk into parts (lgbm_ai across a training point) fits as well as one that does not.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from marketdata.chunk import BarChunk, Universe
from messages.market import KlineBatch
from messages.signals import VoteBatch
from signals.model import ABSTAIN


@dataclass
class Ready:
    batch: KlineBatch
    chunk: BarChunk
    ticks: np.ndarray          # distinct bar times, ascending
    action: np.ndarray         # [model, row] int8 codes (ABSTAIN for a missing vote)
    confidence: np.ndarray     # [model, row]
    missing: int = 0           # votes that never came (forced chunks only)


class _Pending:
    def __init__(self, batch: KlineBatch, universe: Universe, models: int):
        self.batch = batch
        self.chunk = BarChunk.from_batch(batch, universe)
        self.key = self.chunk.open_time * 65_536 + (self.chunk.symbol + 1)
        self.order = np.argsort(self.key, kind="stable")
        self.sorted_key = self.key[self.order]
        self.action = np.full((models, len(self.chunk)), ABSTAIN, np.int8)
        self.confidence = np.zeros((models, len(self.chunk)))
        self.filled = np.zeros((models, len(self.chunk)), bool)
        self.first, self.last = int(self.chunk.open_time[0]), int(self.chunk.open_time[-1])


class ChunkAssembler:
    def __init__(self, models: list[str], universe: Universe):
        self.models = list(models)
        self.index = {model: i for i, model in enumerate(models)}
        self.universe = universe
        self.pending: deque[_Pending] = deque()
        self.early: list[VoteBatch] = []   # votes whose chunk has not come yet

    def add_bars(self, batch: KlineBatch) -> None:
        if not batch.rows:
            return
        self.pending.append(_Pending(batch, self.universe, len(self.models)))
        if self.early:
            early, self.early = self.early, []
            for votes in early:
                self.add_votes(votes)

    def add_votes(self, batch: VoteBatch) -> None:
        model = self.index.get(batch.model)
        if model is None or not batch.rows:
            return
        times = batch.bar_time
        key = times * 65_536 + (self.universe.indices(batch.symbols)[batch.symbol_index] + 1)
        codes = batch.action_code
        confidence = batch.confidence
        placed = np.zeros(len(key), bool)
        for pending in self.pending:
            if pending.last < times[0] or pending.first > times[-1]:
                continue
            found = np.searchsorted(pending.sorted_key, key)
            hit = found < len(pending.sorted_key)
            hit[hit] = pending.sorted_key[found[hit]] == key[hit]
            rows = pending.order[found[hit]]
            pending.action[model, rows] = codes[hit]
            pending.confidence[model, rows] = confidence[hit]
            pending.filled[model, rows] = True
            placed |= hit
        if not placed.all() and (not self.pending or times[-1] > self.pending[-1].last):
            self.early.append(batch)  # (part of) a chunk not here yet; matched again when it comes

    def take(self, force: bool = False) -> Ready | None:
        """The oldest chunk once every model voted on every row of it (or at once, with force)."""
        if not self.pending:
            return None
        head = self.pending[0]
        complete = head.filled.all()
        if not complete and not force:
            return None
        self.pending.popleft()
        missing = int((~head.filled).sum())
        return Ready(head.batch, head.chunk, np.unique(head.chunk.open_time), head.action, head.confidence, missing)

    def oldest_tick(self) -> int | None:
        return self.pending[0].first if self.pending else None
