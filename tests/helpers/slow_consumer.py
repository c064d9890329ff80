"""slow_consumer: a test-only acknowledger that is deliberately slow and checks what it gets.

Consumes `md.kline` and `clock`; sleeps `--delay-ms` per kline batch (awaiting, so heartbeats go
on), checks every symbol's bars arrive in strictly increasing time, and acknowledges each clock
on `ack.<name>` after handling it. Run with `role = "model"` so the feed waits for it.
Counters (`CustomCounters.counts`): `bars`, `batches`, `out_of_order`.
"""

from __future__ import annotations

import argparse
import asyncio

from actors.base import Actor
from actors.runtime.entry import main
from messages import topics
from messages.counters import CustomCounters, bump
from messages.market import Clock, KlineBatch


class SlowConsumer(Actor):
    subscriptions = (topics.KLINE, topics.CLOCK)
    Counters = CustomCounters

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--delay-ms", type=float, default=5.0, help="sleep per kline batch (ms)")

    async def on_start(self) -> None:
        self.counters.counts.update(bars=0, batches=0, out_of_order=0)
        self.last_time: dict[str, int] = {}

    async def on_kline_batch(self, topic: str, message: KlineBatch) -> None:
        for symbol, open_time in zip(message.symbol, message.open_time):
            if open_time <= self.last_time.get(symbol, -1):
                bump(self.counters.counts, "out_of_order")
            self.last_time[symbol] = open_time
        bump(self.counters.counts, "bars", len(message.symbol))
        bump(self.counters.counts, "batches")
        await asyncio.sleep(self.args.delay_ms / 1000)

    def on_clock(self, topic: str, message: Clock) -> None:
        self.recovery.acknowledge(message.bar_time, received=self.counters.counts["bars"])


if __name__ == "__main__":
    main(SlowConsumer)
