"""A Binance double on 127.0.0.1: combined kline streams and REST klines, with injected faults.

Consumes a `KlineTable` (real rows from ../shared/data); produces, per bar of its market clock,
the frames Binance sends (`{"stream":"btcusdt@kline_1m","data":{"e":"kline",...,"k":{...}}}`,
shaped like ../shared/data/ws), first a still-open update of the bar and then its closed kline,
and answers `GET /api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=` with Binance's row
arrays for bars already closed. The clock starts at the first connection and advances one bar
every `bar_period_s`. Faults, by bar index: `drop` (abort every connection abruptly after
sending part of the bar), `stall` (stop sending while the clock runs on), `malformed` (garbage
and invalid frames), `duplicate` (the bar sent twice) and `reorder` (symbols reversed, then an
old bar again). With `history` its REST side serves every bar of the table (a download's source),
and `rest_faults` answers chosen requests with 429 and Retry-After, a 500, or a malformed row. It
runs in a thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import http
import json
import threading
import time
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from marketdata.table import KlineTable

INTERVAL = "1m"


class BinanceDouble:
    def __init__(
        self,
        table: KlineTable,
        bar_period_s: float,
        faults: dict[int, str] | None = None,
        stall_s: float = 1.0,
        history: bool = False,
        rest_faults: dict[int, str] | None = None,
    ):
        self.table = table
        self.history = history  # REST serves every bar of the table, not only the closed ones
        self.rest_faults = rest_faults or {}  # by REST request number (1 = first): "429", "500", "malformed"
        self.bar_period_s = bar_period_s
        self.faults = faults or {}
        self.stall_s = stall_s
        change = [0] + [i for i in range(1, len(table)) if table.open_time[i] != table.open_time[i - 1]] + [len(table)]
        self.ticks = [
            (int(table.open_time[change[i]]), range(change[i], change[i + 1])) for i in range(len(change) - 1)
        ]
        self.current = -1  # index of the last bar sent (closed)
        self.closing_sent_ns: dict[int, int] = {}  # bar open time -> wall clock when its closing frames began
        self.connections: set[ServerConnection] = set()
        self.accepted = 0
        self.rest_requests = 0
        self.port = 0
        self._started = threading.Event()
        self._market_open = None
        self._stalled_until = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="binance-double", daemon=True)

    # ----- lifecycle ------------------------------------------------------------------------
    def start(self) -> BinanceDouble:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the Binance double did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stream"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def finished(self) -> bool:
        return self.current >= len(self.ticks) - 1

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._market_open = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0, process_request=self._rest, compression=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._started.set()
            clock = asyncio.ensure_future(self._clock())
            await self._stop.wait()
            clock.cancel()

    # ----- websocket ------------------------------------------------------------------------
    async def _handle(self, connection: ServerConnection) -> None:
        self.connections.add(connection)
        self.accepted += 1
        self._market_open.set()
        try:
            await connection.wait_closed()
        finally:
            self.connections.discard(connection)

    async def _clock(self) -> None:
        await self._market_open.wait()
        started = time.monotonic()
        for index in range(len(self.ticks)):
            await asyncio.sleep(max(0.0, started + index * self.bar_period_s - time.monotonic()))
            fault = self.faults.get(index)
            if fault == "stall":
                self._stalled_until = time.monotonic() + self.stall_s
            frames = [self._frame(row, closed=False) for row in self.ticks[index][1]]
            frames += [self._frame(row, closed=True) for row in self.ticks[index][1]]
            self.current = index
            if time.monotonic() < self._stalled_until:
                continue
            match fault:
                case "drop":
                    await self._broadcast(frames[: len(frames) // 2 + 1])
                    for connection in list(self.connections):
                        connection.transport.abort()
                    continue
                case "malformed":
                    frames = [
                        "{not json",
                        '{"stream":"x","data":{"e":"kline"}}',
                        *frames,
                        self._frame(self.ticks[index][1][0], closed=True, overrides={"c": "NaN"}),
                        self._frame(self.ticks[index][1][0], closed=True, overrides={"o": "-1"}),
                        self._frame(self.ticks[index][1][0], closed=True, overrides={"s": "DOGEUSDT"}),
                    ]
                case "duplicate":
                    frames = frames + frames
                case "reorder":
                    old = self.ticks[max(0, index - 3)][1]
                    frames = list(reversed(frames)) + [self._frame(row, closed=True) for row in old]
            opening = len(self.ticks[index][1]) if fault is None else 0
            await self._broadcast(frames[:opening])
            if self.connections:
                self.closing_sent_ns[self.ticks[index][0]] = time.time_ns()
            await self._broadcast(frames[opening:])

    async def _broadcast(self, frames: list[str]) -> None:
        for connection in list(self.connections):
            for frame in frames:
                try:
                    await connection.send(frame)
                except ConnectionClosed:  # a connection closing under us is the client's business
                    break

    def _frame(self, row: int, closed: bool, overrides: dict[str, str] | None = None) -> str:
        table = self.table
        symbol = table.symbols[table.symbol_index[row]]
        open_time = int(table.open_time[row])
        kline = {
            "t": open_time,
            "T": open_time + 59_999,
            "s": symbol,
            "i": INTERVAL,
            "f": 100,
            "L": 200,
            "o": _decimal(table.values["open"][row]),
            "c": _decimal(table.values["close"][row]),
            "h": _decimal(table.values["high"][row]),
            "l": _decimal(table.values["low"][row]),
            "v": _decimal(table.values["volume"][row]),
            "n": 0,
            "x": closed,
            "q": "0.00000000",
            "V": "0.00000000",
            "Q": "0.00000000",
            "B": "0",
        }
        kline.update(overrides or {})
        event = {"e": "kline", "E": open_time + (60_000 if closed else 1_000), "s": kline["s"], "k": kline}
        return json.dumps(
            {"stream": f"{str(kline['s']).lower()}@kline_{INTERVAL}", "data": event}, separators=(",", ":")
        )

    # ----- REST -----------------------------------------------------------------------------
    def _rest(self, connection: ServerConnection, request):
        url = urlparse(request.path)
        if url.path == "/stream":
            return None  # go on with the websocket handshake
        if url.path != "/api/v3/klines":
            return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
        self.rest_requests += 1
        fault = self.rest_faults.get(self.rest_requests)
        if fault == "429":
            response = connection.respond(
                http.HTTPStatus.TOO_MANY_REQUESTS, json.dumps({"code": -1003, "msg": "Too many requests."})
            )
            response.headers["Retry-After"] = "1"
            return response
        if fault == "500":
            return connection.respond(http.HTTPStatus.INTERNAL_SERVER_ERROR, "internal error\n")
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        symbol, start, end = query["symbol"], int(query["startTime"]), int(query["endTime"])
        limit = int(query.get("limit", 500))
        rows = []
        for open_time, tick_rows in self.ticks if self.history else self.ticks[: self.current + 1]:
            if start <= open_time <= end:
                rows.extend(
                    self._rest_row(row)
                    for row in tick_rows
                    if self.table.symbols[self.table.symbol_index[row]] == symbol
                )
        rows = rows[:limit]
        if fault == "malformed" and rows:
            rows[len(rows) // 2] = [rows[len(rows) // 2][0], "not a price"]
        return connection.respond(http.HTTPStatus.OK, json.dumps(rows))

    def _rest_row(self, row: int) -> list:
        values = self.table.values
        open_time = int(self.table.open_time[row])
        return [
            open_time,
            _decimal(values["open"][row]),
            _decimal(values["high"][row]),
            _decimal(values["low"][row]),
            _decimal(values["close"][row]),
            _decimal(values["volume"][row]),
            open_time + 59_999,
            "0.00000000",
            0,
            "0.00000000",
            "0.00000000",
            "0",
        ]


def _decimal(value: float) -> str:
    return f"{value:.8f}"
