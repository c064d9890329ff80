"""recorder: every bus message into LMDB, in durable batches, acknowledged once it is on disk.

Consumes every topic; produces `ack.recorder` (`Ack(upto=<last clock bar recorded>)`) after each
commit, and hot backups every `[database] backup_interval`. Writes the `stream` and `names`
databases of `[database] path` (key topic | ts_event | src | seq, value the payload bytes as
received) and, in the same transaction as each batch, its `BatchRecord` (`storage.recording`).

A batch is committed when the socket runs dry or holds `[recorder] batch_messages`, whichever
comes first, so a burst is one transaction and a trickle is never held back. The commit (and its
fsync) runs in a worker thread, one at a time, while the loop goes on receiving: what arrives
during one commit is the next batch (group commit), and acknowledgements follow each commit. After a kill -9 in a
replay, the messages of the batch that was being filled are lost: restarted, the recorder says so,
with the last durable batch, and asks every publisher that keeps its frames (the feed, the models,
the trader, the learner) to re-send everything after the last durable clock.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from actors.base import Actor
from actors.runtime.entry import main
from messages.codec import BusMessage
from messages.counters import RecorderCounters
from messages.market import Clock
from storage.backup import make_backup
from storage.recording import BATCH_KEY, BatchRecord, encode_batch, last_batch
from storage.store import Store
from storage.stream import StreamWriter


class Recorder(Actor):
    subscriptions = ("",)
    Counters = RecorderCounters

    async def on_start(self) -> None:
        database = self.config.database
        self.store = Store(Path(database.path), map_size_mb=database.map_size_mb)
        self.writer = StreamWriter(self.store)
        previous = last_batch(self.store)
        self.resumed = self.restarts > 0 and self.replay and previous is not None and previous.run_id == self.run_id
        self.last_batch = previous if self.resumed else BatchRecord(0, 0, -1, self.run_id)
        if self.resumed:
            self.log.warning(
                "restarted: the batch being filled when the recorder stopped is lost; last durable batch #%d held %d "
                "messages, last durable clock %d; asking for everything after it again",
                self.last_batch.number, self.last_batch.messages, self.last_batch.last_clock,
            )
        self.acked_clock = self.pending_clock = self.last_batch.last_clock
        self.commit_wanted = asyncio.Event()
        self.writing: tuple[asyncio.Future, BatchRecord] | None = None   # the commit in the worker thread
        self.sources = {name for name in (self.topology.feed, *self.topology.models, self.topology.trader,
                                          self.topology.learner) if name}
        if self.resumed:
            self.expect_resync(self.sources)

    async def on_running(self) -> None:
        if self.resumed:
            self.request_resync(self.last_batch.last_clock, self.sources)
        self.spawn(self._backups(), "backups")
        self.spawn(self._committer(), "commits")

    def on_frame(self, topic: str, message: BusMessage, frame: bytes) -> None:
        """Every frame taken, e.g. `md.kline <msgpack KlineBatch>`: queued for the next commit."""
        self.writer.add(topic, message.ts_event, message.src, message.seq, frame[len(topic) + 1:])
        if type(message) is Clock and message.bar_time > self.pending_clock:
            self.pending_clock = message.bar_time
        if len(self.writer.pending) >= self.config.recorder.batch_messages:
            self.commit_wanted.set()

    def on_drained(self) -> None:
        if self.writer.pending:
            self.commit_wanted.set()

    async def _committer(self) -> None:
        while True:
            await self.commit_wanted.wait()
            self.commit_wanted.clear()
            while self.writer.pending:
                batch, record = self._next_batch()
                future = asyncio.get_running_loop().run_in_executor(None, self._write, batch, record)
                self.writing = (future, record)
                await asyncio.shield(future)  # a stop waits for it in on_stop rather than abandoning it
                self.writing = None
                self._committed(record)

    def _next_batch(self) -> tuple[list, BatchRecord]:
        batch = self.writer.take()
        return batch, BatchRecord(self.last_batch.number + 1, len(batch), self.pending_clock, self.run_id)

    def _write(self, batch: list, record: BatchRecord) -> None:
        self.writer.write(batch, meta={BATCH_KEY: encode_batch(record)})

    def _committed(self, record: BatchRecord) -> None:
        count = record.messages
        self.last_batch = record
        counters = self.counters
        counters.written += count
        counters.batches += 1
        counters.last_clock = record.last_clock
        if record.last_clock > self.acked_clock:
            self.acked_clock = record.last_clock
            self.acknowledge(self.acked_clock, received=counters.written)

    async def _backups(self) -> None:
        database = self.config.database
        while True:
            await asyncio.sleep(database.backup_interval)
            started = time.monotonic()
            target = await asyncio.to_thread(make_backup, self.store, database.max_backup_files)
            self.counters.backups += 1
            self.log.info("hot backup %s written in %.2f s", target, time.monotonic() - started)

    async def on_stop(self) -> None:
        if self.writing is not None:  # the batch being written when the stop came
            future, record = self.writing
            await future
            self._committed(record)
        if self.writer.pending:
            batch, record = self._next_batch()
            self._write(batch, record)
            self._committed(record)
        self.store.close()


if __name__ == "__main__":
    main(Recorder)
