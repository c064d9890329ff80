"""`KlineTable`: every kline of a replay in columns, sorted by (open_time, symbol index).

Consumes per-symbol column arrays; produces one merged table whose rows are grouped into clock
ticks (all symbols' bars with the same open time), which is the order the feed publishes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.times import INTERVAL_MS as INTERVAL_MS  # re-exported: the intervals a table may have

COLUMNS = ("open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base")


@dataclass(frozen=True)
class KlineTable:
    symbols: tuple[str, ...]  # symbol index -> name
    interval_ms: int
    open_time: np.ndarray  # int64 ms UTC, non-decreasing
    symbol_index: np.ndarray  # int16, ascending within one open_time
    values: dict[str, np.ndarray]  # COLUMNS -> float64
    synthetic: bool = False

    @staticmethod
    def merge(
        per_symbol: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]], interval_ms: int, synthetic: bool = False
    ) -> KlineTable:
        """Merge {symbol: (open_time, columns)} into one table ordered by time, then symbol."""
        symbols = tuple(sorted(per_symbol))
        times = np.concatenate([per_symbol[s][0] for s in symbols]).astype(np.int64)
        index = np.concatenate([np.full(len(per_symbol[s][0]), i, np.int16) for i, s in enumerate(symbols)])
        order = np.lexsort((index, times))
        values = {
            column: np.concatenate([per_symbol[s][1][column] for s in symbols]).astype(np.float64)[order]
            for column in COLUMNS
        }
        return KlineTable(symbols, interval_ms, times[order], index[order], values, synthetic)

    def __len__(self) -> int:
        return len(self.open_time)

    def window(self, start_ms: int | None, end_ms: int | None) -> KlineTable:
        """Rows with start <= open_time < end."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.open_time, start_ms, "left"))
        hi = len(self) if end_ms is None else int(np.searchsorted(self.open_time, end_ms, "left"))
        return KlineTable(
            self.symbols,
            self.interval_ms,
            self.open_time[lo:hi],
            self.symbol_index[lo:hi],
            {column: array[lo:hi] for column, array in self.values.items()},
            self.synthetic,
        )

    def select(self, symbols: list[str]) -> KlineTable:
        """Only the given symbols (those the table has), re-indexed in sorted order."""
        keep = [s for s in sorted(set(symbols)) if s in self.symbols]
        old_index = np.array([self.symbols.index(s) for s in keep], np.int16)
        mask = np.isin(self.symbol_index, old_index)
        remap = np.full(len(self.symbols), -1, np.int16)
        remap[old_index] = np.arange(len(keep), dtype=np.int16)
        return KlineTable(
            tuple(keep),
            self.interval_ms,
            self.open_time[mask],
            remap[self.symbol_index[mask]],
            {column: array[mask] for column, array in self.values.items()},
            self.synthetic,
        )
