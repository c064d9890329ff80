"""Voted chunks made offline: real models voting on the decision bars of a `KlineTable`, as the
trader receives them on the bus, without starting a topology (for unit tests of the desk, the
learner and the walk-forward)."""

from __future__ import annotations

import numpy as np

from marketdata.chunk import BarChunk, Universe
from marketdata.chunks import TickChunker
from marketdata.table import KlineTable
from trading.assembly import VotedChunk, decision_ticks


def voted_chunks(
    table: KlineTable, models: list, symbols: list[str], decision_ms: int, ticks: int = 256
) -> list[VotedChunk]:
    """models: synchronous chunk models in the topology's (sorted-by-name) order."""
    chunker = TickChunker(table, decision_ms)
    universe = Universe(symbols)
    found = []
    for first in range(0, chunker.ticks, ticks):
        last = min(chunker.ticks, first + ticks)
        batch = chunker.batch(first, last)
        chunk = BarChunk.from_batch(batch, universe)
        bars = BarChunk.from_batch(chunker.decision_batch(first, last), universe)
        votes = [model.vote(bars) for model in models]
        times = chunk.ticks()
        found.append(
            VotedChunk(
                batch,
                chunk,
                times,
                bars,
                decision_ticks(times, bars, chunk.interval_ms),
                np.array([v.action for v in votes], np.int8).reshape(len(models), len(bars)),
                np.array([v.confidence for v in votes]).reshape(len(models), len(bars)),
                list(symbols),
            )
        )
    return found
