"""Market data messages: closed klines in columns, and the clock barrier.

`KlineBatch` (topic `md.kline`) carries one or more clock ticks of all symbols, one row per
(symbol, bar): live one tick, in replay a chunk of many. Columns, not rows, and each column the
bytes of a numpy array (`messages.columns`), so a consumer reads it as an array without decoding a
value at a time. Fields the source lacks are NaN (the shared data has no trade counts or taker
volumes). Build one with `KlineBatch.of(symbol=[...], open_time=[...], close=[...], ...)`; read
`batch.close` (float64 array), `batch.symbol` (a list of str, one per row) and so on.
`Clock` (topic `clock`) says every bar up to `bar_time` was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np

from messages.base import Message
from messages.columns import CODE, FLOAT, INT, check_rows, factorized, names, packed, view

PRICE_COLUMNS = ("open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base")


def _array(raw_field: str, dtype: np.dtype) -> property:
    return property(lambda self: view(getattr(self, raw_field), dtype))


class KlineBatch(Message, frozen=True, tag="KlineBatch/3"):
    interval_ms: int
    symbols: list[str]  # the distinct symbols of the rows
    raw_symbol: bytes = msgspec.field(name="symbol_code")  # uint16 a row: index into `symbols`
    raw_open_time: bytes = msgspec.field(name="open_time")  # int64 ms UTC, bar open
    raw_open: bytes = msgspec.field(name="open")  # float64, quote currency per base unit
    raw_high: bytes = msgspec.field(name="high")
    raw_low: bytes = msgspec.field(name="low")
    raw_close: bytes = msgspec.field(name="close")
    raw_volume: bytes = msgspec.field(name="volume")  # base asset units
    raw_quote_volume: bytes = msgspec.field(name="quote_volume")  # quote asset units, NaN when unknown
    raw_trades: bytes = msgspec.field(name="trades")  # trade count, NaN when unknown
    raw_taker_buy_base: bytes = msgspec.field(name="taker_buy_base")  # base asset units, NaN when unknown
    synthetic: bool = False  # True when the rows come from the synthetic market generator
    raw_parts: bytes = msgspec.field(name="parts", default=b"")  # int64 a row: feed bars aggregated into it
    #   (decision bars, topic `md.bar`: fewer than its period holds = a gap); empty: exchange bars

    symbol_index = _array("raw_symbol", CODE)
    open_time = _array("raw_open_time", INT)
    open = _array("raw_open", FLOAT)
    high = _array("raw_high", FLOAT)
    low = _array("raw_low", FLOAT)
    close = _array("raw_close", FLOAT)
    volume = _array("raw_volume", FLOAT)
    quote_volume = _array("raw_quote_volume", FLOAT)
    trades = _array("raw_trades", FLOAT)
    taker_buy_base = _array("raw_taker_buy_base", FLOAT)

    def __post_init__(self) -> None:
        parts = {"parts": (self.raw_parts, INT)} if self.raw_parts else {}
        check_rows(
            "KlineBatch",
            {"symbol": (self.symbols, self.raw_symbol)},
            {
                "open_time": (self.raw_open_time, INT),
                **parts,
                **{name: (getattr(self, "raw_" + name), FLOAT) for name in PRICE_COLUMNS},
            },
        )

    @property
    def parts(self) -> np.ndarray:
        """Feed bars in each row (1 for exchange bars)."""
        return view(self.raw_parts, INT) if self.raw_parts else np.ones(self.rows, INT)

    @classmethod
    def of(
        cls,
        *,
        interval_ms: int,
        symbol: Sequence[str] | np.ndarray,
        open_time: Sequence[int] | np.ndarray,
        synthetic: bool = False,
        parts: Sequence[int] | np.ndarray | None = None,
        **columns_and_envelope: Any,
    ) -> KlineBatch:
        """A batch from per-row values; a price column left out is NaN (the envelope's fields pass through)."""
        symbols, codes = factorized(symbol)
        rows = len(codes) // CODE.itemsize
        raw: dict[str, Any] = {
            "raw_" + name: packed(columns_and_envelope.pop(name, np.full(rows, np.nan)), FLOAT)
            for name in PRICE_COLUMNS
        }
        return cls(
            interval_ms=interval_ms,
            symbols=symbols,
            raw_symbol=codes,
            raw_open_time=packed(open_time, INT),
            synthetic=synthetic,
            raw_parts=b"" if parts is None else packed(parts, INT),
            **raw,
            **columns_and_envelope,
        )

    @property
    def rows(self) -> int:
        return len(self.raw_open_time) // INT.itemsize

    @property
    def symbol(self) -> list[str]:
        """Each row's symbol."""
        return names(self.symbols, self.raw_symbol)

    def columns(self) -> dict[str, list[Any]]:
        """Every column as a plain list, for exports."""
        found: dict[str, list[Any]] = {"symbol": self.symbol, "open_time": self.open_time.tolist()}
        return found | {name: getattr(self, name).tolist() for name in PRICE_COLUMNS}


class Clock(Message, frozen=True):
    bar_time: int  # ms UTC open time of the last bar of every symbol that was sent
