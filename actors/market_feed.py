"""market_feed: closed klines onto the bus, from Binance live or from a replay source.

Consumes `ack.<acker>` from the topology's acknowledgers (replay: the recorder, the models, the
trader, the learner — `config.topology`); produces `md.kline`
(`KlineBatch`: live one clock tick of all symbols, in replay a chunk of up to `chunk_ticks`
ticks), before each `md.bar` (the decision bars those ticks complete, `[feed] decision_interval`,
aggregated by `marketdata.aggregate`: often none), `clock` after each, `sys.gap` (the gap ledger: source gaps, live disconnects and
backfills) and, at the end of a replay, `sys.end`.

Live (`[feed] mode = "live"`): `marketdata.live.LiveKlines` keeps the websocket and backfills;
dropped frames are counted by reason (`FeedCounters.dropped`) and logged.

Replays are lossless: at most `credit_window` ticks are sent beyond what the slowest acker has
acknowledged, and the frames not yet acknowledged by all are kept (the runtime's outbox). An acker
that restarts and asks to resync (`Ack(resync=True, upto=T)`) gets every kept frame after T again,
byte for byte. `speed` paces ticks at a multiple of market time, or `max`. Config: `[feed]`,
`[test] symbols`.

Chunks always end at the same ticks (multiples of the chunk size, `chunk_size`), whatever the
credit or the pacing, so a replay is cut the same way every time. The feed checkpoints how far
its slowest acknowledger has come; killed, it restarts from there, its bars from a cache in the
run directory (`marketdata.table_cache`), and sends the same frames with the same seqs again:
acknowledgers that already had them drop them, the slowest gets what it lacks.
"""

from __future__ import annotations

import asyncio
import resource
import time
from pathlib import Path

import msgspec

from actors.base import Actor
from actors.runtime.entry import main
from bus.runtime import CACHE_DIR_NAME
from common.times import INTERVAL_MS, parse_time
from marketdata.aggregate import LiveDecisionBars, live_batch
from marketdata.binance import ClosedKline
from marketdata.chunks import TickChunker
from marketdata.sources import load_source
from marketdata.table import COLUMNS
from marketdata.table_cache import cached_table
from messages import topics
from messages.counters import FeedCounters, bump
from messages.market import Clock, KlineBatch
from messages.system import Ack, Gap, StreamEnd

PACED_CHUNK_S = 0.1  # paced replays: chunks of about this much wall time


def chunk_size(feed, interval_ms: int) -> int:
    """Ticks per chunk: `chunk_ticks` at full speed; paced, what the speed covers in PACED_CHUNK_S —
    fixed by the config alone, so the same replay is always cut the same way."""
    if feed.speed == "max":
        return feed.chunk_ticks
    return max(1, min(feed.chunk_ticks, int(float(feed.speed) * PACED_CHUNK_S * 1000 // interval_ms)))


class _State(msgspec.Struct):
    slowest_tick: int  # ticks every acknowledger has


class MarketFeed(Actor):
    subscriptions = (topics.ACK_PREFIX,)
    Counters = FeedCounters
    keeps_outbox = True
    durable_outbox = False  # its frames are made again, the same, from the bars
    acknowledges = False  # it is acknowledged, by the others

    async def on_start(self) -> None:
        feed = self.config.feed
        if feed.mode == "live":
            from marketdata.live import LiveKlines  # python-binance: ~0.3 s of every replay's start-up otherwise

            self.live = LiveKlines(
                feed, self.config.test.symbols, self._publish_live_tick, self._publish_gap, self._count_drop, self.log
            )
            self.decision_bars = LiveDecisionBars(self.live.interval_ms, INTERVAL_MS[feed.decision_interval])
            return
        start = parse_time(feed.start) if feed.start else None
        end = parse_time(feed.end) if feed.end else None
        key = f"{feed.source}|{feed.interval}|{','.join(self.config.test.symbols)}|{start}|{end}"
        table = await asyncio.to_thread(
            cached_table,
            Path(self.args.run_dir) / CACHE_DIR_NAME,
            key,
            lambda: load_source(
                feed.source, interval=feed.interval, symbols=self.config.test.symbols, start_ms=start, end_ms=end
            ),
        )
        self.chunker = TickChunker(table, INTERVAL_MS[feed.decision_interval])
        self.gaps = self.chunker.gaps_before()
        self.chunk = chunk_size(feed, table.interval_ms)
        self.resume_tick = 0
        found = self.recovery.restore()
        if found is not None:  # resume from the slowest acknowledger: what it has, every other acker has too
            self.resume_tick = msgspec.msgpack.decode(found.state, type=_State).slowest_tick
            self._sequence_from(self.resume_tick)
            self.log.info(
                "restarted: resuming the replay at tick %d of %d (the slowest acknowledger's)",
                self.resume_tick,
                self.chunker.ticks,
            )
        self.acked = {name: self.resume_tick for name in self.topology.ackers}  # acker -> ticks acknowledged
        self.saved_tick = self.resume_tick
        self.credit = asyncio.Event()
        label = " (SYNTHETIC market)" if table.synthetic else ""
        self.log.info(
            "replaying %s%s: %d bars, %d ticks of %s, %d source gaps, speed %s, chunks of %d ticks",
            feed.source,
            label,
            len(table),
            self.chunker.ticks,
            ", ".join(table.symbols),
            len(self.gaps),
            feed.speed,
            self.chunk,
        )

    def _sequence_from(self, tick: int) -> None:
        """The seqs the first frames from `tick` on had (chunks are cut at fixed ticks: they repeat
        exactly, so receivers that have them drop them)."""
        chunks = -(-tick // self.chunk)
        self.lineage.seqs[topics.KLINE] = self.lineage.seqs[topics.BAR] = self.lineage.seqs[topics.CLOCK] = chunks
        self.lineage.seqs[topics.GAP] = sum(len(found) for at, found in self.gaps.items() if at < tick)

    async def on_running(self) -> None:
        if self.config.feed.mode == "live":
            self.spawn(self.live.run(), "live")
        else:
            self.spawn(self._replay(), "replay")

    def _publish_live_tick(self, bars: list[ClosedKline], missing: list[str]) -> None:
        open_time = bars[0].open_time
        columns = list(zip(*bars))
        batch = KlineBatch.of(
            interval_ms=self.live.interval_ms,
            symbol=list(columns[0]),
            open_time=list(columns[1]),
            **{name: list(columns[i]) for i, name in enumerate(COLUMNS, start=2)},
            ts_event=open_time,
        )
        done = self.decision_bars.tick(open_time, [(bar.symbol, bar._asdict()) for bar in bars])
        self.publish(topics.BAR, live_batch(done, self.decision_bars.decision_ms, open_time))
        self.publish(topics.KLINE, batch)
        self.publish(topics.CLOCK, Clock(bar_time=open_time, ts_event=open_time))
        self.counters.ticks_sent += 1
        self.counters.last_bar = open_time

    def _publish_gap(self, gap: Gap) -> None:
        self.publish(topics.GAP, gap)
        bump(self.counters.gaps, gap.kind)

    def _count_drop(self, reason: str, detail: str) -> None:
        count = bump(self.counters.dropped, reason)
        if count <= 10 or count % 1000 == 0:
            self.log.warning("dropped a live frame (#%d of this kind): %s", count, detail)

    def on_ack(self, topic: str, message: Ack) -> None:
        """`Ack(upto=1617321600000, resync=False)` on `ack.recorder`: bars up to `upto` are done (the
        runtime keeps and re-sends the frames; this is the credit)."""
        acker = topic[len(topics.ACK_PREFIX) :]
        if not self.replay or acker not in self.acked:
            return
        done = self.chunker.tick_index_after(message.upto) if message.upto >= 0 else 0
        if message.resync:
            self.acked[acker] = done
            self.counters.resyncs += 1
            self.counters.resent_frames = self.resent_frames
        elif done > self.acked[acker]:
            self.acked[acker] = done
        self.credit.set()
        slowest = min(self.acked.values())
        if slowest > self.saved_tick:  # where a restarted feed resumes (not fsynced: it serves this run only)
            self.saved_tick = slowest
            self.recovery.checkpoint(int(self.chunker.tick_time[slowest - 1]), msgspec.msgpack.encode(_State(slowest)))

    async def _replay(self) -> None:
        feed = self.config.feed
        ticks, window = self.chunker.ticks, feed.credit_window
        pace = None if feed.speed == "max" else float(feed.speed)
        started, first_time = (
            time.monotonic(),
            int(self.chunker.tick_time[self.resume_tick if self.resume_tick < ticks else 0]),
        )
        cpu_started = time.process_time()
        sent = self.resume_tick
        while sent < ticks:
            last = min(ticks, (sent // self.chunk + 1) * self.chunk)  # chunks end at fixed ticks, whatever the timing
            if last - min(self.acked.values(), default=sent) > window:
                self.credit.clear()
                await self.credit.wait()
                continue
            if pace is not None:
                market_now = first_time + (time.monotonic() - started) * pace * 1000
                if int(self.chunker.tick_time[last - 1]) > market_now:
                    await asyncio.sleep(max(0.001, (int(self.chunker.tick_time[last - 1]) - market_now) / pace / 1000))
                    continue
            self._send_chunk(sent, last)
            sent = last
            await asyncio.sleep(0)
        elapsed = time.monotonic() - started
        self.publish(
            topics.STREAM_END,
            StreamEnd(
                last_seq=self.sequence_of(topics.KLINE),
                messages=self.sequence_of(topics.KLINE),
                ts_event=int(self.chunker.tick_time[-1]),
            ),
            position=int(self.chunker.tick_time[-1]),
        )
        self.log.info(
            "sent %d bars in %.2f s (%.0f bars/s)",
            len(self.chunker.table),
            elapsed,
            len(self.chunker.table) / max(elapsed, 1e-9),
        )
        while min(self.acked.values(), default=ticks) < ticks:
            self.credit.clear()
            await self.credit.wait()
        elapsed = time.monotonic() - started
        bars = len(self.chunker.table)
        self.counters.bars, self.counters.replay_s = bars, round(elapsed, 6)
        self.counters.replay_cpu_s = round(time.process_time() - cpu_started, 6)
        self.counters.peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        self.log.info(
            "replay complete: %d bars acknowledged by %s in %.3f s (%.0f bars/s)",
            bars,
            ", ".join(self.acked) or "nobody (no ackers configured)",
            elapsed,
            bars / max(elapsed, 1e-9),
        )
        self.finish()

    def _send_chunk(self, first: int, last: int) -> None:
        bar_time = int(self.chunker.tick_time[last - 1])
        for tick in range(first, last):
            for gap in self.gaps.get(tick, ()):
                self.publish(topics.GAP, gap, bar_time)
        self.publish(topics.BAR, self.chunker.decision_batch(first, last), bar_time)
        self.publish(topics.KLINE, self.chunker.batch(first, last), bar_time)
        self.publish(topics.CLOCK, Clock(bar_time=bar_time, ts_event=bar_time), bar_time)
        self.counters.ticks_sent = last
        self.counters.last_bar = bar_time


if __name__ == "__main__":
    main(MarketFeed)
