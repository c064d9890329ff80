"""recorder: every bus message into LMDB, in durable batches, acknowledged once it is on disk.

Consumes every topic; produces `ack.recorder` (`Ack(upto=<last clock bar recorded>)`) after each
commit, and hot backups every `[database] backup_interval`. Writes the `stream` database of
`[database] path` (key topic | ts_event | src | seq, value the payload bytes as received).

A batch is committed when the socket runs dry or holds `[recorder] batch_messages`, whichever
comes first, so a burst is one transaction and a trickle is never held back. After a kill -9, the
messages of the batch that was being filled are lost: on start-up the recorder says so, with the
last durable batch, and asks the feed to re-send everything after the last durable clock
(`Ack(resync=True)`), so nothing acknowledged — and nothing at all of the replay — is missing.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec

from actors.base import Actor, main
from messages import topics
from messages.codec import BusMessage
from messages.market import Clock
from messages.system import Ack
from storage.backup import make_backup
from storage.store import Store
from storage.stream import StreamWriter

RUNNING_KEY = "recorder.running"
LAST_BATCH_KEY = "recorder.last_batch"


class BatchRecord(msgspec.Struct, frozen=True):
    """Committed with each batch, in the same transaction: what is durable of the current run."""

    number: int
    messages: int
    last_clock: int  # the run's newest clock in or before this batch; -1 before the first


class Recorder(Actor):
    subscriptions = ("",)

    async def on_start(self) -> None:
        database = self.config.database
        self.store = Store(Path(database.path), map_size_mb=database.map_size_mb)
        self.writer = StreamWriter(self.store)
        previous = self.store.get_meta(LAST_BATCH_KEY)
        self.last_batch = msgspec.msgpack.decode(previous, type=BatchRecord) if previous else BatchRecord(0, 0, -1)
        self.interrupted = self.store.get_meta(RUNNING_KEY) is not None
        if self.interrupted:
            self.expect_resync()
            self.log.warning(
                "the previous recorder stopped abruptly: the batch it was filling is lost; last durable batch #%d "
                "held %d messages, last durable clock %d; asking for everything after it again",
                self.last_batch.number, self.last_batch.messages, self.last_batch.last_clock,
            )
        self.store.put_meta(RUNNING_KEY, str(self.epoch).encode())
        # Acks follow this run's clocks; only a resumed run starts from the last durable one.
        self.acked_clock = self.last_batch.last_clock if self.interrupted else -1
        self.pending_clock = self.acked_clock
        self.counters.update(written=0, batches=0, backups=0)

    async def on_running(self) -> None:
        if self.interrupted:
            self.request_resync(self.last_batch.last_clock)
        self.spawn(self._backups(), "backups")

    def on_frame(self, topic: str, message: BusMessage, frame: bytes) -> None:
        """Every valid frame, e.g. `md.kline <msgpack KlineBatch>`: queued for the next commit."""
        self.writer.add(topic, message.ts_event, message.src, message.seq, frame[len(topic) + 1:])
        if type(message) is Clock and message.bar_time > self.pending_clock:
            self.pending_clock = message.bar_time
        if len(self.writer.pending) >= self.config.recorder.batch_messages:
            self._commit()

    def on_drained(self) -> None:
        self._commit()

    def _commit(self) -> None:
        count = len(self.writer.pending)
        if not count:
            return
        record = BatchRecord(self.last_batch.number + 1, count, self.pending_clock)
        self.writer.commit(meta={LAST_BATCH_KEY: msgspec.msgpack.encode(record)})
        self.last_batch = record
        self.counters["written"] += count
        self.counters["batches"] += 1
        if self.pending_clock > self.acked_clock:
            self.acked_clock = self.pending_clock
            self.publish(topics.ack(self.name), Ack(upto=self.acked_clock, received=self.counters["written"]))

    async def _backups(self) -> None:
        database = self.config.database
        while True:
            await asyncio.sleep(database.backup_interval)
            started = time.monotonic()
            target = await asyncio.to_thread(make_backup, self.store, database.max_backup_files)
            self.counters["backups"] += 1
            self.log.info("hot backup %s written in %.2f s", target, time.monotonic() - started)

    async def on_stop(self) -> None:
        self._commit()
        self.store.put_meta(RUNNING_KEY, None)
        self.store.close()


if __name__ == "__main__":
    main(Recorder)
