"""The live Binance kline stream: one websocket kept alive, and every missed bar backfilled.

Consumes Binance's public combined streams (`<symbol>@kline_<interval>`, no API key) and its REST
klines through python-binance's client (`marketdata.download.kline_pages`: the same pages, checks,
`Retry-After` and retries as `download`, run in a worker thread); produces, through the callbacks it is given, closed-kline ticks in order with
neither holes nor duplicates, `Gap` events (each disconnect, each backfill, each hole that could
not be filled) and counts of dropped frames by reason.

The connection answers pings (websockets does), is rotated before Binance's 24 h cut-off, counts
as stalled when no frame arrives for `stall_timeout_s`, and is re-opened after any failure with
exponential backoff and jitter. After every (re)connection the first frame tells the current bar
time T; everything from the first bar not yet given out up to T is fetched over REST before the
live frames that were buffered meanwhile are applied.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from config.schema import FeedConfig
from marketdata.assembler import TickAssembler
from marketdata.binance import BadFrame, ClosedKline, parse_frame, stream_url
from marketdata.download import DownloadReport, kline_pages, rest_client
from marketdata.table import INTERVAL_MS
from messages.errors import SourceError
from messages.system import Gap


class Stalled(Exception):
    """No frame arrived within the stall timeout."""


class LiveKlines:
    def __init__(
        self,
        feed: FeedConfig,
        symbols: list[str],
        on_tick: Callable[[list[ClosedKline], list[str]], None],
        on_gap: Callable[[Gap], None],
        on_drop: Callable[[str, str], None],
        log: logging.Logger,
    ):
        self.feed = feed
        self.symbols = sorted(symbols)
        self.symbol_set = frozenset(symbols)
        self.interval_ms = INTERVAL_MS[feed.interval]
        self.assembler = TickAssembler(self.symbols, self.interval_ms, feed.tick_deadline_s)
        self.on_tick, self.on_gap, self.on_drop, self.log = on_tick, on_gap, on_drop, log
        self.url = stream_url(feed.ws_url, self.symbols, feed.interval)
        self.connections = 0
        self.disconnects = 0

    async def run(self) -> None:
        failures = 0
        rest = rest_client(self.feed.rest_url)
        try:
            while True:
                reason = "rotation before the 24 h limit"
                try:
                    async with connect(
                        self.url, proxy=None, open_timeout=10, max_size=2**20, compression=None
                    ) as socket:
                        self.connections += 1
                        self.log.info("connected to %s (connection %d)", self.url, self.connections)
                        failures = 0
                        await self._session(socket, rest)
                except (OSError, WebSocketException, TimeoutError, Stalled) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                    failures += 1
                self._disconnected(reason)
                delay = min(self.feed.reconnect_max_s, self.feed.reconnect_initial_s * 2 ** max(0, failures - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0) if failures else 0)
        finally:
            rest.close_connection()

    def _disconnected(self, reason: str) -> None:
        self.disconnects += 1
        resume = self.assembler.resume_from() or 0
        self.log.warning("disconnected (%s); will backfill from bar %d", reason, resume)
        self.on_gap(Gap(symbol="*", start=resume, end=resume, kind="disconnect", detail=reason, ts_event=resume))

    async def _session(self, socket, rest) -> None:
        rotate_at = time.monotonic() + self.feed.rotate_after_s
        caught_up = False
        while True:
            remaining = rotate_at - time.monotonic()
            if remaining <= 0:
                return
            try:
                text = await asyncio.wait_for(socket.recv(), min(self.feed.stall_timeout_s, remaining))
            except TimeoutError:
                if time.monotonic() >= rotate_at:
                    return
                raise Stalled(f"no frame for {self.feed.stall_timeout_s:g} s") from None
            try:
                kline, closed = parse_frame(text, self.symbol_set, self.feed.interval)
            except BadFrame as exc:
                self.on_drop(exc.reason, str(exc))
                continue
            if not caught_up:
                resume = self.assembler.resume_from()
                if resume is not None and resume < kline.open_time:
                    await self._backfill(rest, resume, kline.open_time)
                caught_up = True
            if closed:
                dropped = self.assembler.add(kline)
                if dropped:
                    self.on_drop(dropped, f"{dropped}: {kline.symbol} bar {kline.open_time} was already received")
            self._give_out()

    async def _backfill(self, rest, start: int, end: int) -> None:
        """Fetch every closed bar with start <= open time < end, for every symbol."""
        fetched = 0
        for symbol in self.symbols:
            report = DownloadReport(symbol)
            try:
                pages = await asyncio.to_thread(
                    lambda symbol=symbol, report=report: list(
                        kline_pages(rest, symbol, self.feed.interval, start, end, report)
                    )
                )
            except SourceError as exc:
                self.log.error("REST backfill of %s gave up: %s", symbol, exc)
                pages = []
            for skipped in report.skipped:
                self.on_drop("malformed_rest_row", skipped)
            for row in (row for page in pages for row in page):
                if self.assembler.add(row) is None:
                    fetched += 1
        self.log.info("backfilled %d bars from %d to %d over REST", fetched, start, end - self.interval_ms)
        self.on_gap(
            Gap(
                symbol="*",
                start=start,
                end=end - self.interval_ms,
                kind="backfilled",
                detail=f"{fetched} bars fetched over REST",
                ts_event=start,
            )
        )
        self._give_out()

    def _give_out(self) -> None:
        previous = self.assembler.last_emitted
        for bars, missing in self.assembler.ready(allow_incomplete=True):
            time_ = bars[0].open_time
            if previous is not None and time_ > previous + self.interval_ms:
                start, end = previous + self.interval_ms, time_ - self.interval_ms
                self.on_gap(
                    Gap(symbol="*", start=start, end=end, kind="source", detail="no bar received", ts_event=start)
                )
            for symbol in missing:
                self.on_gap(
                    Gap(
                        symbol=symbol,
                        start=time_,
                        end=time_,
                        kind="source",
                        detail="bar not received in time",
                        ts_event=time_,
                    )
                )
            self.on_tick(bars, missing)
            previous = time_
