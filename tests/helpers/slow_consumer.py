"""slow_consumer: a test-only model stand-in that is deliberately slow and checks what it gets.

Consumes `md.kline` and `clock`; sleeps `--delay-ms` per kline batch (awaiting, so heartbeats go
on), checks every symbol's bars arrive in strictly increasing time, and acknowledges each clock
on `ack.<name>` after handling it. Counters: `bars`, `batches`, `out_of_order`.
"""

from __future__ import annotations

import argparse
import asyncio

from actors.base import Actor, main
from messages import topics
from messages.market import Clock, KlineBatch
from messages.system import Ack


class SlowConsumer(Actor):
    subscriptions = (topics.KLINE, topics.CLOCK)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--delay-ms", type=float, default=5.0, help="sleep per kline batch (ms)")

    async def on_start(self) -> None:
        self.counters.update(bars=0, batches=0, out_of_order=0)
        self.last_time: dict[str, int] = {}

    async def on_kline_batch(self, topic: str, message: KlineBatch) -> None:
        for symbol, open_time in zip(message.symbol, message.open_time):
            if open_time <= self.last_time.get(symbol, -1):
                self.counters["out_of_order"] += 1
            self.last_time[symbol] = open_time
        self.counters["bars"] += len(message.symbol)
        self.counters["batches"] += 1
        await asyncio.sleep(self.args.delay_ms / 1000)

    def on_clock(self, topic: str, message: Clock) -> None:
        self.publish(topics.ack(self.name), Ack(upto=message.bar_time, received=self.counters["bars"]))


if __name__ == "__main__":
    main(SlowConsumer)
