"""Binance's public kline protocol: combined-stream frames and REST kline rows, checked strictly.

Consumes the text of a combined-stream frame
(`{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":..,"s":"BTCUSDT","k":{"t":..,"x":true,..}}}`)
or a REST `/api/v3/klines` row (`[t, "o", "h", "l", "c", "v", T, "q", n, "V", "Q", "0"]`);
produces `(ClosedKline, closed)` — a kline still open comes back too, for its open time — or
`BadFrame` whose `reason` is one of `REASONS` and whose text says what was wrong.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import msgspec

from messages.errors import BadFrame

REASONS = ("not_json", "bad_shape", "bad_price", "unknown_symbol", "wrong_interval")


class ClosedKline(NamedTuple):
    symbol: str
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: float
    taker_buy_base: float


class _Kline(msgspec.Struct):
    t: int
    T: int
    s: str
    i: str
    o: str
    c: str
    h: str
    l: str
    v: str
    n: int
    x: bool
    q: str
    V: str


class _KlineEvent(msgspec.Struct):
    e: str
    E: int
    s: str
    k: _Kline


class _CombinedFrame(msgspec.Struct):
    stream: str
    data: _KlineEvent


_FRAME_DECODER = msgspec.json.Decoder(_CombinedFrame)
_ROW_DECODER = msgspec.json.Decoder(list[list[int | str]])


def stream_url(base: str, symbols: list[str], interval: str) -> str:
    streams = "/".join(f"{symbol.lower()}@kline_{interval}" for symbol in symbols)
    return (
        f"{base.rstrip('/')}?streams={streams}"
        if base.rstrip("/").endswith("/stream")
        else f"{base.rstrip('/')}/stream?streams={streams}"
    )


def parse_frame(text: str | bytes, symbols: frozenset[str], interval: str) -> tuple[ClosedKline, bool]:
    try:
        frame = _FRAME_DECODER.decode(text)
    except msgspec.ValidationError as exc:
        raise BadFrame("bad_shape", str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise BadFrame("not_json", str(exc)) from exc
    kline = frame.data.k
    if frame.data.e != "kline":
        raise BadFrame("bad_shape", f"event type {frame.data.e!r}, expected 'kline'")
    if kline.s not in symbols:
        raise BadFrame("unknown_symbol", f"{kline.s!r} is not one of the configured symbols")
    if kline.i != interval:
        raise BadFrame("wrong_interval", f"{kline.s} interval {kline.i!r}, expected {interval!r}")
    return _checked(kline.s, kline.t, kline.o, kline.h, kline.l, kline.c, kline.v, kline.q, kline.n, kline.V), kline.x


def parse_rest_rows(body: bytes, symbol: str) -> list[ClosedKline]:
    try:
        rows = _ROW_DECODER.decode(body)
    except msgspec.DecodeError as exc:
        raise BadFrame("not_json", f"REST klines for {symbol}: {exc}") from exc
    klines = []
    for row in rows:
        if len(row) < 11:
            raise BadFrame("bad_shape", f"REST kline row for {symbol} has {len(row)} fields, expected 12")
        open_time, o, h, l, c, v, _, q, n, taker_base = row[0], *row[1:6], row[6], row[7], row[8], row[9]
        if not isinstance(open_time, int) or not isinstance(n, int):
            raise BadFrame("bad_shape", f"REST kline row for {symbol}: open time and trade count must be integers")
        klines.append(_checked(symbol, open_time, o, h, l, c, v, q, n, taker_base))
    return klines


def _checked(symbol: str, open_time: int, *fields: object) -> ClosedKline:
    o, h, l, c, v, q, n, taker_base = fields
    try:
        values = [float(field) for field in (o, h, l, c, v, q, n, taker_base)]
    except (TypeError, ValueError) as exc:
        raise BadFrame("bad_price", f"{symbol} {open_time}: a field is not a number: {exc}") from exc
    prices, amounts = values[:4], values[4:]
    if not all(math.isfinite(p) and p > 0 for p in prices):
        raise BadFrame("bad_price", f"{symbol} {open_time}: prices must be finite and positive, got {prices}")
    if not all(math.isfinite(a) and a >= 0 for a in amounts):
        raise BadFrame("bad_price", f"{symbol} {open_time}: volumes must be finite and >= 0, got {amounts}")
    if values[1] < max(values[0], values[3]) or values[2] > min(values[0], values[3]):
        raise BadFrame("bad_price", f"{symbol} {open_time}: high/low do not contain open and close: {prices}")
    return ClosedKline(symbol, open_time, *values)
