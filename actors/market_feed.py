"""market_feed: closed klines onto the bus, from Binance live or from a replay source.

Consumes `ack.<acker>` from the actors named in `[feed] ackers` (replay); produces `md.kline`
(`KlineBatch`: live one clock tick of all symbols, in replay a chunk of up to `chunk_ticks`
ticks), `clock` after each, `sys.gap` (the gap ledger: source gaps, live disconnects and
backfills) and, at the end of a replay, `sys.end`.

Live (`[feed] mode = "live"`): `marketdata.live.LiveKlines` keeps the websocket and backfills;
dropped frames are counted by reason (`dropped_<reason>` counters) and logged.

Replays are lossless: at most `credit_window` ticks are sent beyond what the slowest acker has
acknowledged, and the frames not yet acknowledged by all are kept. An acker that restarts and
asks to resync (`Ack(resync=True, upto=T)`) gets every kept frame after T again, byte for byte.
`speed` paces ticks at a multiple of market time, or `max`. Config: `[feed]`, `[test] symbols`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from actors.base import Actor, main
from marketdata.binance import ClosedKline
from marketdata.chunks import TickChunker
from marketdata.live import LiveKlines
from marketdata.sources import load_source, parse_time
from marketdata.table import COLUMNS
from messages import topics
from messages.market import Clock, KlineBatch
from messages.system import Ack, Gap, Resync, StreamEnd


class MarketFeed(Actor):
    subscriptions = (topics.ACK_PREFIX,)

    async def on_start(self) -> None:
        feed = self.config.feed
        if feed.mode == "live":
            self.live = LiveKlines(feed, self.config.test.symbols, self._publish_live_tick, self._publish_gap,
                                   self._count_drop, self.log)
            self.counters.update(ticks_sent=0, last_bar=0)
            return
        start = parse_time(feed.start) if feed.start else None
        end = parse_time(feed.end) if feed.end else None
        table = await asyncio.to_thread(
            load_source, feed.source, interval=feed.interval, symbols=self.config.test.symbols, start_ms=start, end_ms=end
        )
        self.chunker = TickChunker(table)
        self.gaps = self.chunker.gaps_before()
        self.acked = {name: 0 for name in feed.ackers}  # acker -> ticks acknowledged
        self.credit = asyncio.Event()
        self.unacknowledged: deque[tuple[int, list[bytes]]] = deque()  # (end tick, frames)
        label = " (SYNTHETIC market)" if table.synthetic else ""
        self.log.info(
            "replaying %s%s: %d bars, %d ticks of %s, %d source gaps, speed %s",
            feed.source, label, len(table), self.chunker.ticks, ", ".join(table.symbols), len(self.gaps), feed.speed,
        )
        self.counters.update(ticks_sent=0, resent_frames=0)

    async def on_running(self) -> None:
        if self.config.feed.mode == "live":
            self.spawn(self.live.run(), "live")
        else:
            self.spawn(self._replay(), "replay")

    def _publish_live_tick(self, bars: list[ClosedKline], missing: list[str]) -> None:
        open_time = bars[0].open_time
        columns = list(zip(*bars))
        batch = KlineBatch(
            interval_ms=self.live.interval_ms, symbol=list(columns[0]), open_time=list(columns[1]),
            **{name: list(columns[i]) for i, name in enumerate(COLUMNS, start=2)}, ts_event=open_time,
        )
        self.publish(topics.KLINE, batch)
        self.publish(topics.CLOCK, Clock(bar_time=open_time, ts_event=open_time))
        self.counters["ticks_sent"] += 1
        self.counters["last_bar"] = open_time

    def _publish_gap(self, gap: Gap) -> None:
        self.publish(topics.GAP, gap)
        key = f"gaps_{gap.kind}"
        self.counters[key] = self.counters.get(key, 0) + 1

    def _count_drop(self, reason: str, detail: str) -> None:
        key = f"dropped_{reason}"
        count = self.counters[key] = self.counters.get(key, 0) + 1
        if count <= 10 or count % 1000 == 0:
            self.log.warning("dropped a live frame (#%d of this kind): %s", count, detail)

    def on_ack(self, topic: str, message: Ack) -> None:
        """`Ack(upto=1617321600000, resync=False)` on `ack.recorder`: bars up to `upto` are done."""
        acker = topic[len(topics.ACK_PREFIX):]
        if self.config.feed.mode == "live" or acker not in self.acked:
            return
        done = self.chunker.tick_index_after(message.upto) if message.upto >= 0 else 0
        if message.resync:
            self._resend_after(acker, done)
        elif done > self.acked[acker]:
            self.acked[acker] = done
        self._forget_acknowledged()
        self.credit.set()

    def _resend_after(self, acker: str, done: int) -> None:
        self.acked[acker] = done
        frames = [frame for end, chunk in self.unacknowledged if end > done for frame in chunk]
        self.publish(topics.RESYNC, Resync(acker=acker, after_tick=done, frames=len(frames)))
        for frame in frames:
            self.resend(frame)
        self.counters["resent_frames"] += len(frames)
        self.log.info("%s resynced after tick %d: re-sent %d frames", acker, done, len(frames))

    def _forget_acknowledged(self) -> None:
        slowest = min(self.acked.values(), default=self.counters["ticks_sent"])
        while self.unacknowledged and self.unacknowledged[0][0] <= slowest:
            self.unacknowledged.popleft()

    async def _replay(self) -> None:
        feed = self.config.feed
        ticks, window = self.chunker.ticks, feed.credit_window
        pace = None if feed.speed == "max" else float(feed.speed)
        started, first_time = time.monotonic(), int(self.chunker.tick_time[0])
        sent = 0
        while sent < ticks:
            slowest = min(self.acked.values(), default=sent)
            if sent - slowest >= window:
                self.credit.clear()
                await self.credit.wait()
                continue
            last = min(ticks, sent + feed.chunk_ticks, slowest + window)
            if pace is not None:
                market_now = first_time + (time.monotonic() - started) * pace * 1000
                due = self.chunker.tick_index_after(int(market_now))
                if due <= sent:
                    await asyncio.sleep(max(0.001, (int(self.chunker.tick_time[sent]) - market_now) / pace / 1000))
                    continue
                last = min(last, due)
            self._send_chunk(sent, last)
            sent = last
            await asyncio.sleep(0)
        elapsed = time.monotonic() - started
        self.publish(topics.STREAM_END, StreamEnd(last_seq=self.sequence_of(topics.KLINE), messages=self.sequence_of(topics.KLINE)))
        self.log.info("sent %d bars in %.2f s (%.0f bars/s)", len(self.chunker.table), elapsed, len(self.chunker.table) / max(elapsed, 1e-9))
        while min(self.acked.values(), default=ticks) < ticks:
            self.credit.clear()
            await self.credit.wait()
        elapsed = time.monotonic() - started
        bars = len(self.chunker.table)
        self.log.info(
            "replay complete: %d bars acknowledged by %s in %.3f s (%.0f bars/s)",
            bars, ", ".join(self.acked) or "nobody (no ackers configured)", elapsed, bars / max(elapsed, 1e-9),
        )
        self.finish()

    def _send_chunk(self, first: int, last: int) -> None:
        frames = []
        for tick in range(first, last):
            for gap in self.gaps.get(tick, ()):
                frames.append(self.publish(topics.GAP, gap))
        batch = self.chunker.batch(first, last)
        frames.append(self.publish(topics.KLINE, batch))
        bar_time = int(self.chunker.tick_time[last - 1])
        frames.append(self.publish(topics.CLOCK, Clock(bar_time=bar_time, ts_event=bar_time)))
        self.unacknowledged.append((last, frames))
        self.counters["ticks_sent"] = last


if __name__ == "__main__":
    main(MarketFeed)
