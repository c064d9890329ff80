"""Assemble closed klines of several symbols into clock ticks, in order, each bar exactly once.

Consumes `ClosedKline`s in any order, from the websocket and from REST backfills; produces ticks
(all symbols' bars of one open time) in increasing time. A bar older than the last tick given out
is stale (a duplicate or out of order) and is dropped; so is a second copy of a pending bar. A
tick still incomplete after `deadline_s` is given out with what it has, the missing symbols named.
"""

from __future__ import annotations

import time

from marketdata.binance import ClosedKline


class TickAssembler:
    def __init__(self, symbols: list[str], interval_ms: int, deadline_s: float):
        self.symbols = frozenset(symbols)
        self.interval_ms = interval_ms
        self.deadline_s = deadline_s
        self.pending: dict[int, dict[str, ClosedKline]] = {}
        self.first_seen: dict[int, float] = {}
        self.last_emitted: int | None = None

    def add(self, kline: ClosedKline) -> str | None:
        """Queue a bar; return None, or why it was dropped ("stale" or "duplicate")."""
        if self.last_emitted is not None and kline.open_time <= self.last_emitted:
            return "stale"
        bars = self.pending.setdefault(kline.open_time, {})
        if kline.symbol in bars:
            return "duplicate"
        bars[kline.symbol] = kline
        self.first_seen.setdefault(kline.open_time, time.monotonic())
        return None

    def resume_from(self) -> int | None:
        """The first bar time not yet given out, when anything was seen; None on a fresh start."""
        if self.last_emitted is not None:
            return self.last_emitted + self.interval_ms
        return min(self.pending) if self.pending else None

    def ready(self, allow_incomplete: bool) -> list[tuple[list[ClosedKline], list[str]]]:
        """Ticks to give out now, oldest first, each with the symbols it lacks."""
        out = []
        now = time.monotonic()
        while self.pending:
            head = min(self.pending)
            bars = self.pending[head]
            expected_next = None if self.last_emitted is None else self.last_emitted + self.interval_ms
            complete = len(bars) == len(self.symbols) and (expected_next is None or head == expected_next)
            overdue = allow_incomplete and now - self.first_seen[head] > self.deadline_s
            if not (complete or overdue):
                break
            del self.pending[head]
            del self.first_seen[head]
            self.last_emitted = head
            missing = sorted(self.symbols - set(bars))
            out.append(([bars[s] for s in sorted(bars)], missing))
        return out
