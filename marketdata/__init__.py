"""Market data for replays: kline tables from Binance files, LMDB recordings or a synthetic market.

`table.KlineTable` is the one in-memory form (columns, sorted by time then symbol);
`files` reads Binance kline CSV / CSV.gz / zip; `synthetic` generates a labelled synthetic market;
`sources` turns a SOURCE string (`PATH`, `lmdb:PATH`, `synthetic[:SEED]`) into a table;
`chunks` cuts a table into clock ticks, `KlineBatch` messages and source-gap events.
Imports `messages`, `config` and `storage` only.
"""

from messages.errors import SourceError

__all__ = ["SourceError"]
