"""`BarChunk`: the bars of one `KlineBatch` as numpy columns, the one form every model and book reads.

Consumes a `KlineBatch` (one or more clock ticks, time-major, symbols in order within a tick) and
the symbol universe (`[test] symbols`); produces arrays: the symbol's index in the universe (-1
for a symbol outside it), open time, open, high, low, close, volume, and each row's `problem`
(OK, UNKNOWN_SYMBOL, BAD_VALUES: a non-finite or non-positive price, a non-finite or negative
volume, ZERO_VOLUME). A model never updates its state on a row with a problem; it abstains there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from messages.market import KlineBatch

OK, UNKNOWN_SYMBOL, BAD_VALUES, ZERO_VOLUME = 0, 1, 2, 3
RECENT_SEQUENCES = 8  # symbol sequences whose indices `Universe` keeps
PROBLEM_REASONS = ("", "symbol not in [test] symbols", "non-finite or non-positive price or volume", "zero volume")


class Universe:
    """The traded symbols, in a fixed order: a symbol's index is its position in `[test] symbols`."""

    def __init__(self, symbols: list[str]):
        self.symbols = list(symbols)
        self.index = {symbol: i for i, symbol in enumerate(self.symbols)}
        self._recent: dict[tuple[str, ...], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.symbols)

    def indices(self, symbols: list[str]) -> np.ndarray:
        """Each symbol's index (-1 outside the universe). Batches repeat the same symbol sequence
        chunk after chunk, so the last few sequences' answers are kept (read-only arrays)."""
        key = tuple(symbols)
        found = self._recent.get(key)
        if found is None:
            index = self.index
            found = np.fromiter((index.get(s, -1) for s in symbols), np.int64, len(symbols))
            found.flags.writeable = False
            if len(self._recent) >= RECENT_SEQUENCES:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = found
        return found


@dataclass(frozen=True)
class BarChunk:
    symbol: np.ndarray  # int64 index into the universe, -1 outside it
    open_time: np.ndarray  # int64 ms UTC
    open: np.ndarray  # float64, quote per base unit
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # float64, base units
    problem: np.ndarray  # int8: OK or why the row cannot be used
    interval_ms: int

    @staticmethod
    def from_batch(batch: KlineBatch, universe: Universe) -> BarChunk:
        symbol = universe.indices(batch.symbols)[batch.symbol_index]
        columns = [batch.open, batch.high, batch.low, batch.close, batch.volume]
        return BarChunk(
            symbol, batch.open_time, *columns, problem=problems(symbol, *columns), interval_ms=batch.interval_ms
        )

    def __len__(self) -> int:
        return len(self.open_time)

    def rows_by_symbol(self) -> list[tuple[int, np.ndarray]]:
        """(symbol index, usable rows of that symbol in time order) for every symbol present."""
        usable = np.flatnonzero(self.problem == OK)
        if not len(usable):
            return []
        symbols = self.symbol[usable]
        order = np.argsort(symbols, kind="stable")
        ordered = usable[order]
        cuts = np.flatnonzero(np.diff(symbols[order])) + 1
        return [(int(self.symbol[rows[0]]), rows) for rows in np.split(ordered, cuts)]

    def ticks(self) -> np.ndarray:
        """The distinct open times, ascending."""
        return np.unique(self.open_time)

    def rows(self, lo: int, hi: int) -> BarChunk:
        """Rows lo..hi-1 as a chunk of their own."""
        return BarChunk(
            self.symbol[lo:hi],
            self.open_time[lo:hi],
            self.open[lo:hi],
            self.high[lo:hi],
            self.low[lo:hi],
            self.close[lo:hi],
            self.volume[lo:hi],
            self.problem[lo:hi],
            self.interval_ms,
        )


def problems(
    symbol: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray
) -> np.ndarray:
    prices = np.stack([open_, high, low, close])
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(prices).all(axis=0) | (prices <= 0).any(axis=0) | ~np.isfinite(volume) | (volume < 0)
        zero = volume == 0
    found = np.full(len(symbol), OK, np.int8)
    found[zero] = ZERO_VOLUME
    found[bad] = BAD_VALUES
    found[symbol < 0] = UNKNOWN_SYMBOL
    return found
