"""Cut a `KlineTable` into clock ticks, `KlineBatch` messages and source-gap events.

Consumes a table (and the decision interval); produces, for a range of ticks [first, last), one
`KlineBatch` holding every row of those ticks (tick-major, symbols in order) and one holding the
decision bars those ticks complete (`marketdata.aggregate`), and the `Gap`s of the source: bar
times no symbol has (exchange-wide gaps) and bars missing for one symbol only.
"""

from __future__ import annotations

import numpy as np

from marketdata.aggregate import DecisionTable
from marketdata.table import COLUMNS, KlineTable
from messages.columns import CODE, FLOAT, INT, packed
from messages.market import KlineBatch
from messages.system import Gap


class TickChunker:
    def __init__(self, table: KlineTable, decision_ms: int | None = None):
        self.table = table
        change = np.flatnonzero(np.diff(table.open_time)) + 1
        self.tick_start = np.concatenate([[0], change, [len(table)]]).astype(np.int64)
        self.tick_time = table.open_time[self.tick_start[:-1]]
        self._symbols = list(table.symbols)
        self.decision = DecisionTable.of(table, self.tick_time, decision_ms or table.interval_ms)

    @property
    def ticks(self) -> int:
        return len(self.tick_time)

    def batch(self, first: int, last: int) -> KlineBatch:
        lo, hi = int(self.tick_start[first]), int(self.tick_start[last])
        table = self.table
        return KlineBatch(
            interval_ms=table.interval_ms,
            symbols=self._symbols,
            raw_symbol=packed(table.symbol_index[lo:hi], CODE),
            raw_open_time=packed(table.open_time[lo:hi], INT),
            synthetic=table.synthetic,
            ts_event=int(self.tick_time[last - 1]),
            **{"raw_" + column: packed(table.values[column][lo:hi], FLOAT) for column in COLUMNS},
        )

    def decision_batch(self, first: int, last: int) -> KlineBatch:
        """The decision bars ticks [first, last) complete (topic `md.bar`), stamped like their chunk."""
        return self.decision.batch(first, last, int(self.tick_time[last - 1]))

    def tick_index_after(self, bar_time: int) -> int:
        """How many ticks have open time <= bar_time (the index of the first tick after it)."""
        return int(np.searchsorted(self.tick_time, bar_time, "right"))

    def gaps_before(self) -> dict[int, list[Gap]]:
        """{tick index: gaps to publish before that tick}, exchange-wide first, then per symbol."""
        interval = self.table.interval_ms
        found: dict[int, list[Gap]] = {}
        jumps = np.flatnonzero(np.diff(self.tick_time) > interval)
        for i in jumps:
            start, end = int(self.tick_time[i]) + interval, int(self.tick_time[i + 1]) - interval
            bars = (end - start) // interval + 1
            found.setdefault(int(i) + 1, []).append(
                Gap(
                    symbol="*",
                    start=start,
                    end=end,
                    kind="source",
                    detail=f"{bars} bars missing for every symbol",
                    ts_event=start,
                )
            )
        rows_per_tick = np.diff(self.tick_start)
        all_symbols = set(range(len(self.table.symbols)))
        for tick in np.flatnonzero(rows_per_tick < len(self.table.symbols)):
            lo, hi = self.tick_start[tick], self.tick_start[tick + 1]
            time = int(self.tick_time[tick])
            for missing in sorted(all_symbols - set(self.table.symbol_index[lo:hi].tolist())):
                found.setdefault(int(tick), []).append(
                    Gap(
                        symbol=self.table.symbols[missing],
                        start=time,
                        end=time,
                        kind="source",
                        detail="bar missing for this symbol",
                        ts_event=time,
                    )
                )
        return found
