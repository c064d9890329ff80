"""A chunk's prices as [tick, symbol] matrices: what every book of a process marks and fills on.

Consumes a `BarChunk` (the feed's bars) and its ticks; produces the opens and closes of every
(tick, symbol) — NaN where the symbol has no bar in that tick — each symbol's ticks with a bar (the
next bar an order fills on), and closes carried forward from the marks before the chunk. Made once
per chunk and shared by the desk and every shadow book.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from marketdata.chunk import BarChunk


@dataclass
class ChunkPrices:
    time: np.ndarray  # [tick] int64 ms UTC, the ticks' open times
    open: np.ndarray  # [tick, symbol] float64, NaN: no bar
    close: np.ndarray
    interval_ms: int
    bars: list[np.ndarray] = field(default_factory=list)  # per symbol: the tick indices with a bar, ascending

    @staticmethod
    def of(chunk: BarChunk, ticks: np.ndarray, symbols: int) -> ChunkPrices:
        open_ = np.full((len(ticks), symbols), np.nan)
        close = np.full((len(ticks), symbols), np.nan)
        bars = []
        for symbol, rows in chunk.rows_by_symbol():
            at = np.searchsorted(ticks, chunk.open_time[rows])
            open_[at, symbol], close[at, symbol] = chunk.open[rows], chunk.close[rows]
        for symbol in range(symbols):
            bars.append(np.flatnonzero(~np.isnan(close[:, symbol])))
        return ChunkPrices(ticks, open_, close, chunk.interval_ms, bars)

    def next_bar(self, symbol: int, start: int) -> int:
        """The first tick at or after `start` where `symbol` has a bar (len(ticks) when none)."""
        ticks = self.bars[symbol]
        at = int(np.searchsorted(ticks, start))
        return int(ticks[at]) if at < len(ticks) else len(self.time)

    def marks_from(self, lo: int, hi: int, before: list[float]) -> np.ndarray:
        """[tick, symbol] closes over ticks [lo, hi), each carried forward over ticks without a bar,
        starting from `before` (the last close seen per symbol; 0 for a symbol never seen)."""
        window = self.close[lo:hi]
        index = np.where(np.isnan(window), -1, np.arange(hi - lo)[:, None])
        np.maximum.accumulate(index, axis=0, out=index)
        carried = window[np.maximum(index, 0), np.arange(window.shape[1])]
        return np.where(index >= 0, carried, np.asarray(before, np.float64)[None, :])
