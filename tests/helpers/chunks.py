"""Ready chunks made offline: real models voting on the bars of a `KlineTable`, as the trader
receives them on the bus, without starting a topology (for the walk-forward's unit tests)."""

from __future__ import annotations

import numpy as np

from marketdata.chunk import BarChunk, Universe
from marketdata.chunks import TickChunker
from marketdata.table import KlineTable
from trading.assembly import Ready


def voted_chunks(table: KlineTable, models: list, symbols: list[str], ticks: int = 256) -> list[Ready]:
    """models: synchronous chunk models in the topology's (sorted-by-name) order."""
    chunker = TickChunker(table)
    universe = Universe(symbols)
    found = []
    for first in range(0, chunker.ticks, ticks):
        batch = chunker.batch(first, min(chunker.ticks, first + ticks))
        chunk = BarChunk.from_batch(batch, universe)
        votes = [model.vote(chunk) for model in models]
        found.append(Ready(batch, chunk, chunk.ticks(), np.array([v.action for v in votes], np.int8),
                           np.array([v.confidence for v in votes])))
    return found
