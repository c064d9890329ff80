"""Decision bars: the feed's bars aggregated to the slower interval the models and the learner decide at.

Consumes the feed's bars — a whole `KlineTable` in replay (`DecisionTable.of`, vectorised) or one
clock tick after another live (`LiveDecisionBars`) — and the decision interval (any multiple of
the feed's, up to a day: `[feed] decision_interval`); produces decision bars. Periods are aligned
to the epoch (a day starts at 00:00 UTC, a 4h bar at 00:00, 04:00, ...). A symbol has a bar for a
period when it has at least one feed bar in it: open of the first, high the highest, low the
lowest, close of the last, every volume column summed, and `parts`, the feed bars it holds — fewer
than the period has room for says the period had gaps for that symbol. Nothing is forward-filled.

A period's bars appear at its completing tick: the first feed tick whose bar closes at or after the
period's end — the period's own last bar, or the next bar there is when that one is missing for
every symbol. So a 4h bar exists only once its last 5m bar has closed (or the data has moved past
it), never before; a period the data never completes (the replay ends inside it) has no bar. The
replay and the live aggregation give the same bars at the same ticks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marketdata.table import COLUMNS, KlineTable
from messages.columns import CODE, FLOAT, INT, packed
from messages.market import KlineBatch

SUMMED = ("volume", "quote_volume", "trades", "taker_buy_base")


def check_intervals(feed_ms: int, decision_ms: int) -> None:
    if decision_ms < feed_ms or decision_ms % feed_ms:
        raise ValueError(f"the decision interval ({decision_ms} ms) must be a multiple of the feed's ({feed_ms} ms)")


@dataclass(frozen=True)
class DecisionTable:
    """Every decision bar of a replay, ordered by (completing tick, symbol)."""

    symbols: tuple[str, ...]
    interval_ms: int  # the decision interval
    open_time: np.ndarray  # int64, the period's start
    symbol_index: np.ndarray  # int16
    values: dict[str, np.ndarray]  # COLUMNS -> float64
    parts: np.ndarray  # int64: feed bars in the bar
    tick: np.ndarray  # int64: index of the completing feed tick
    synthetic: bool = False

    @staticmethod
    def of(table: KlineTable, tick_time: np.ndarray, decision_ms: int) -> DecisionTable:
        """`tick_time`: the table's distinct open times, ascending (its clock ticks)."""
        check_intervals(table.interval_ms, decision_ms)
        period = table.open_time // decision_ms
        order = np.lexsort((table.open_time, table.symbol_index, period))
        key_period, key_symbol = period[order], table.symbol_index[order]
        starts = (
            np.flatnonzero(np.concatenate([[True], (np.diff(key_period) != 0) | (np.diff(key_symbol) != 0)]))
            if len(order)
            else np.empty(0, np.int64)
        )
        ends = np.concatenate([starts[1:], [len(order)]]).astype(np.int64)
        bar_period = key_period[starts] if len(starts) else np.empty(0, np.int64)
        completing = np.searchsorted(tick_time, (bar_period + 1) * decision_ms - table.interval_ms, "left")
        complete = completing < len(tick_time)
        ordered = {column: table.values[column][order] for column in COLUMNS}
        values = {
            "open": ordered["open"][starts],
            "close": ordered["close"][ends - 1],
            "high": np.maximum.reduceat(ordered["high"], starts) if len(starts) else np.empty(0),
            "low": np.minimum.reduceat(ordered["low"], starts) if len(starts) else np.empty(0),
            **{column: np.add.reduceat(ordered[column], starts) if len(starts) else np.empty(0) for column in SUMMED},
        }
        rank = np.lexsort((key_symbol[starts], completing)) if len(starts) else np.empty(0, np.int64)
        keep = rank[complete[rank]]
        return DecisionTable(
            table.symbols,
            decision_ms,
            (bar_period * decision_ms)[keep].astype(np.int64),
            key_symbol[starts][keep].astype(np.int16),
            {column: values[column][keep] for column in COLUMNS},
            (ends - starts)[keep].astype(np.int64),
            completing[keep].astype(np.int64),
            table.synthetic,
        )

    def __len__(self) -> int:
        return len(self.open_time)

    def batch(self, first_tick: int, last_tick: int, ts_event: int) -> KlineBatch:
        """The bars completed by ticks [first_tick, last_tick), as one message (possibly empty)."""
        lo, hi = np.searchsorted(self.tick, [first_tick, last_tick], "left")
        return KlineBatch(
            interval_ms=self.interval_ms,
            symbols=list(self.symbols),
            raw_symbol=packed(self.symbol_index[lo:hi], CODE),
            raw_open_time=packed(self.open_time[lo:hi], INT),
            raw_parts=packed(self.parts[lo:hi], INT),
            synthetic=self.synthetic,
            ts_event=ts_event,
            **{"raw_" + column: packed(self.values[column][lo:hi], FLOAT) for column in COLUMNS},
        )


class _Partial:
    __slots__ = ("close", "high", "low", "open", "parts", "period", "sums")

    def __init__(self, period: int, row: dict[str, float]):
        self.period, self.open, self.high, self.low, self.close = (
            period,
            row["open"],
            row["high"],
            row["low"],
            row["close"],
        )
        self.sums = {column: row[column] for column in SUMMED}
        self.parts = 1

    def add(self, row: dict[str, float]) -> None:
        self.high, self.low, self.close = max(self.high, row["high"]), min(self.low, row["low"]), row["close"]
        for column in SUMMED:
            self.sums[column] += row[column]
        self.parts += 1


class LiveDecisionBars:
    """Live: feed ticks in, completed decision bars out, by the same rule as `DecisionTable`."""

    def __init__(self, feed_ms: int, decision_ms: int):
        check_intervals(feed_ms, decision_ms)
        self.feed_ms, self.decision_ms = feed_ms, decision_ms
        self.partial: dict[str, _Partial] = {}

    def tick(self, open_time: int, rows: list[tuple[str, dict[str, float]]]) -> list[tuple[str, int, _Partial]]:
        """One tick's bars ((symbol, {column: value})); returns the bars it completes: (symbol, period
        start, bar), those of earlier periods first."""
        period = open_time // self.decision_ms
        done = self._take(lambda p: p < period)
        for symbol, row in rows:
            found = self.partial.get(symbol)
            if found is None:
                self.partial[symbol] = _Partial(period, row)
            else:
                found.add(row)
        if open_time + self.feed_ms >= (period + 1) * self.decision_ms:
            done += self._take(lambda p: p == period)
        return done

    def _take(self, chosen) -> list[tuple[str, int, _Partial]]:
        found = sorted(((bar.period, symbol) for symbol, bar in self.partial.items() if chosen(bar.period)))
        return [(symbol, period * self.decision_ms, self.partial.pop(symbol)) for period, symbol in found]


def live_batch(done: list[tuple[str, int, _Partial]], decision_ms: int, ts_event: int) -> KlineBatch:
    """`LiveDecisionBars.tick`'s bars as a message."""
    return KlineBatch.of(
        interval_ms=decision_ms,
        symbol=[symbol for symbol, _, _ in done],
        open_time=[start for _, start, _ in done],
        open=[bar.open for _, _, bar in done],
        high=[bar.high for _, _, bar in done],
        low=[bar.low for _, _, bar in done],
        close=[bar.close for _, _, bar in done],
        parts=[bar.parts for _, _, bar in done],
        ts_event=ts_event,
        **{column: [bar.sums[column] for _, _, bar in done] for column in SUMMED},
    )
