"""Market data messages: closed klines in columns, and the clock barrier.

`KlineBatch` (topic `md.kline`) carries one or more clock ticks of all symbols, one row per
(symbol, bar): live one tick, in replay a chunk of many. Columns, not rows, so a consumer hands
them to numpy without a loop. Fields the source lacks are NaN (the shared data has no trade
counts or taker volumes). `Clock` (topic `clock`) says every bar up to `bar_time` was sent.
"""

from __future__ import annotations

from messages.base import Message


class KlineBatch(Message, frozen=True):
    interval_ms: int
    symbol: list[str]
    open_time: list[int]     # ms UTC, bar open
    open: list[float]        # quote currency per base unit
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]      # base asset units
    quote_volume: list[float]  # quote asset units, NaN when unknown
    trades: list[float]        # trade count, NaN when unknown
    taker_buy_base: list[float]  # base asset units, NaN when unknown
    synthetic: bool = False    # True when the rows come from the synthetic market generator


class Clock(Message, frozen=True):
    bar_time: int  # ms UTC open time of the last bar of every symbol that was sent
