"""Read back what a test run recorded, and the source rows it should equal."""

from __future__ import annotations

from pathlib import Path

from analytics.recording import recorded_messages
from marketdata.sources import load_source
from messages.market import KlineBatch
from tests.helpers.data import SYMBOLS

OHLCV = ("open", "high", "low", "close", "volume")


def recorded_bars(db: Path) -> list[tuple]:
    """Every recorded (symbol, open_time, open, high, low, close, volume), in recording order."""
    rows = []
    for batch in recorded_messages(db, "md.kline"):
        assert isinstance(batch, KlineBatch)
        rows.extend(zip(batch.symbol, batch.open_time.tolist(), *(getattr(batch, column).tolist() for column in OHLCV)))
    return rows


def source_bars(source: str, start_ms: int | None = None, end_ms: int | None = None) -> list[tuple]:
    table = load_source(source, interval="1m", symbols=SYMBOLS, start_ms=start_ms, end_ms=end_ms)
    return table_bars(table)


def table_bars(table) -> list[tuple]:
    columns = [table.values[column].tolist() for column in OHLCV]
    names = [table.symbols[i] for i in table.symbol_index.tolist()]
    return list(zip(names, table.open_time.tolist(), *columns))
