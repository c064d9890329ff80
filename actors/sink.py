"""sink: a consumer that checks a `bench.pulse` stream arrived complete and in order.

Consumes `bench.pulse` and `sys.end`; produces `ack.<name>` (`Ack` with messages received and
seq gaps) at every stream end and every `--ack-every` messages, and reports its counts
(`pulses`, `out_of_order`) with every heartbeat.
"""

from __future__ import annotations

import argparse

from actors.base import Actor
from actors.runtime.entry import main
from messages import topics
from messages.counters import SinkCounters
from messages.system import Ack, Pulse, StreamEnd


class SinkActor(Actor):
    subscriptions = (topics.PULSE, topics.STREAM_END)
    Counters = SinkCounters

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--ack-every", type=int, default=10_000, help="acknowledge every N messages (default 10000)"
        )

    async def on_start(self) -> None:
        self.last_seq: dict[str, int] = {}
        self.first_seq: dict[str, int] = {}
        self.received_from: dict[str, int] = {}

    def on_pulse(self, topic: str, message: Pulse) -> None:
        """`Pulse(seq=17, src="pulse", payload=b"...")`."""
        counters = self.counters
        counters.pulses += 1
        self.first_seq.setdefault(message.src, message.seq)
        self.received_from[message.src] = self.received_from.get(message.src, 0) + 1
        if message.seq <= self.last_seq.get(message.src, 0):
            counters.out_of_order += 1
        self.last_seq[message.src] = message.seq
        if counters.pulses % self.args.ack_every == 0:
            self._acknowledge(message.seq)

    def on_stream_end(self, topic: str, message: StreamEnd) -> None:
        """`StreamEnd(last_seq=100000, messages=100000, src="pulse")`: the source is done."""
        self.counters.ends += 1
        missing = message.messages - self.received_from.get(message.src, 0)
        if missing > 0:
            self.tracker.gaps += missing
        self.log.info(
            "stream from %s ended: %d messages received (first seq %s), %d out of order, %d missing",
            message.src,
            self.counters.pulses,
            self.first_seq.get(message.src),
            self.counters.out_of_order,
            self.tracker.gaps,
        )
        self._acknowledge(message.last_seq)

    def _acknowledge(self, upto: int) -> None:
        self.publish(topics.ack(self.name), Ack(upto=upto, received=self.counters.pulses, gaps=self.tracker.gaps))


if __name__ == "__main__":
    main(SinkActor)
