"""pulse: a source of payload-only messages, for the bus benchmark and the runtime's tests.

Consumes `ack.<acker>` (when `--ackers` names any); produces `bench.pulse` (`Pulse` with
`--payload-bytes` of payload) at `--rate` messages/s (0 = as fast as possible), `--count` of them
(0 = forever), from `--start-at` on, then `sys.end`. With `--ackers`, it finishes only once every acker has
acknowledged every message, and fails if one reports a loss.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from actors.base import Actor
from actors.runtime.entry import main
from messages import topics
from messages.counters import PulseCounters
from messages.system import Ack, Pulse, StreamEnd

BURST = 1000


class PulseActor(Actor):
    subscriptions = (topics.ACK_PREFIX,)
    Counters = PulseCounters

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--count", type=int, default=0, help="messages to send, 0 = forever (default 0)")
        parser.add_argument("--rate", type=float, default=0.0, help="messages per second, 0 = full speed (default 0)")
        parser.add_argument("--payload-bytes", type=int, default=150, help="payload size in bytes (default 150)")
        parser.add_argument("--ackers", nargs="*", default=[], help="actors that must acknowledge every message")
        parser.add_argument(
            "--start-at",
            type=float,
            default=0.0,
            help="wall-clock time (s since the epoch) to start sending at, so several pulses start together",
        )

    async def on_start(self) -> None:
        self.acked: dict[str, Ack] = {}
        self.all_acked = asyncio.Event()

    async def on_running(self) -> None:
        self.spawn(self._send(), "send")

    def on_ack(self, topic: str, message: Ack) -> None:
        """`Ack(upto=seq of the last pulse seen, received=N, gaps=G)` from `ack.<acker>`."""
        acker = topic[len(topics.ACK_PREFIX) :]
        if acker not in self.args.ackers:
            return
        if message.gaps:
            raise RuntimeError(f"{acker} lost {message.gaps} of {self.args.count} messages")
        self.acked[acker] = message
        if all(self.acked.get(name) and self.acked[name].received >= self.args.count for name in self.args.ackers):
            self.all_acked.set()

    async def _send(self) -> None:
        payload = bytes(self.args.payload_bytes)
        count, rate = self.args.count, self.args.rate
        await asyncio.sleep(max(0.0, self.args.start_at - time.time()))
        started = time.monotonic()
        sent = 0
        while count == 0 or sent < count:
            burst = BURST if rate <= 0 else 1
            for _ in range(min(burst, count - sent) if count else burst):
                sent += 1
                self.publish(topics.PULSE, Pulse(payload=payload, ts_event=sent))
            if rate > 0:
                await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
            else:
                await asyncio.sleep(0)
        elapsed = time.monotonic() - started
        self.publish(topics.STREAM_END, StreamEnd(last_seq=self.sequence_of(topics.PULSE), messages=sent))
        self.log.info("sent %d messages in %.3f s (%.0f msg/s)", sent, elapsed, sent / max(elapsed, 1e-9))
        self.counters.sent = sent
        if self.args.ackers:
            await self.all_acked.wait()
            elapsed = time.monotonic() - started
            self.log.info(
                "delivered %d messages to %s in %.3f s: %.0f msg/s end to end",
                sent,
                ", ".join(self.args.ackers),
                elapsed,
                sent / max(elapsed, 1e-9),
            )
        self.finish()


if __name__ == "__main__":
    main(PulseActor)
