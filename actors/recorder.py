"""recorder: every bus message into LMDB, in durable batches, acknowledged once it is on disk.

Consumes every topic; produces `ack.recorder` (`Ack(upto=<bar time every publisher's frames up to
are recorded>)`) after each commit, and hot backups every `[database] backup_interval_s`. Writes the `stream` and `names`
databases of `[database] path` (key topic | ts_event | src | seq, value the payload bytes as
received) and, in the same transaction as each batch, its `BatchRecord` (`storage.recording`).

Nothing any publisher sent is lost when the recorder is killed. Each publisher's stream is in order,
and each one marks the end of a bar time's frames: the feed with its `clock`, every other data
publisher (the models, the trader, the learner) with its own `ack.<name>` — published only after
all it published for that bar time. So per publisher the recorder knows the bar time up to which
everything it sent is recorded (`BatchRecord.done`), and acknowledges the smallest of them: every
publisher keeps in its outbox whatever is not yet acknowledged by all, hence whatever the recorder
has not made durable. Restarted, the recorder asks every publisher of data frames (the ones each
`BatchRecord` lists; an acknowledger that publishes none has nothing to re-send) for everything after that
smallest bar time; frames it already had come again with the same key and the same bytes and
overwrite themselves, so nothing is recorded twice. Until a publisher's re-sent frames begin (its
`Resync` marker) its data frames are dropped and its acknowledgements do not count — they would
claim frames the recorder dropped; the publisher repeats its acknowledgement after re-sending.

A batch is committed when the socket runs dry or holds `[recorder] batch_messages`, whichever
comes first, so a burst is one transaction and a trickle is never held back. The commit (and its
fsync) runs in a worker thread, one at a time, while the loop goes on receiving: what arrives
during one commit is the next batch (group commit), and acknowledgements follow each commit. A
commit that fails for want of space stops the recorder with one line (`StoreError`), not restarted:
the daemon stops the topology in order, and the recording stays whole up to the last commit.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import lmdb

from actors.base import Actor
from actors.runtime.entry import main
from messages import topics
from messages.codec import BusMessage
from messages.counters import RecorderCounters
from messages.errors import StoreError
from messages.market import Clock
from messages.system import Ack
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
        self.sources = {
            name
            for name in (
                self.topology.feed,
                *self.topology.models,
                self.topology.trader,
                self.topology.learner,
                self.topology.executor,
            )
            if name
        }
        self.pending_clock = self.last_batch.last_clock
        self.pending_done = dict(self.last_batch.done)  # publisher -> bar time all it sent up to is here
        self.publishers = set(self.last_batch.publishers)  # sources of data frames: the ones that re-send
        self.acked = self._complete_upto(self.pending_done)
        if self.resumed:
            self.log.warning(
                "restarted: the batch being filled when the recorder stopped is lost; last durable batch #%d held %d "
                "messages, complete up to %d for every publisher; asking for everything after it again",
                self.last_batch.number,
                self.last_batch.messages,
                self.acked,
            )
        self.commit_wanted = asyncio.Event()
        self.writing: tuple[asyncio.Future, BatchRecord] | None = None  # the commit in the worker thread
        if self.resumed:
            self.recovery.expect_resync(self.publishers & self.sources)

    async def on_running(self) -> None:
        if self.resumed:
            self.recovery.request_resync(self.acked, self.publishers & self.sources)
        self.spawn(self._backups(), "backups")
        self.spawn(self._committer(), "commits")

    def on_frame(self, topic: str, message: BusMessage, frame: bytes) -> None:
        """Every frame taken, e.g. `md.kline <msgpack KlineBatch>`: queued for the next commit."""
        self.writer.add(topic, message.ts_event, message.src, message.seq, frame[len(topic) + 1 :])
        if message.src not in self.publishers and topics.is_data(topic):
            self.publishers.add(message.src)
        kind = type(message)
        if kind is Clock and message.bar_time > self.pending_clock:
            self.pending_clock = message.bar_time
            self.pending_done[message.src] = message.bar_time  # the feed: all of a bar time precedes its clock
        elif (
            kind is Ack
            and not message.resync
            and message.src in self.sources
            and message.src not in self.tracker.gated
            and message.upto > self.pending_done.get(message.src, -1)
        ):
            self.pending_done[message.src] = message.upto  # a publisher acknowledges after all it sent
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
        return batch, BatchRecord(
            self.last_batch.number + 1,
            len(batch),
            self.pending_clock,
            self.run_id,
            dict(self.pending_done),
            sorted(self.publishers),
        )

    def _complete_upto(self, done: dict[str, int]) -> int:
        """The bar time up to which every publisher's frames are recorded (-1: not yet for some)."""
        return min((done.get(source, -1) for source in self.sources), default=-1)

    def _write(self, batch: list, record: BatchRecord) -> None:
        try:
            self.writer.write(batch, meta={BATCH_KEY: encode_batch(record)})
        except (lmdb.Error, OSError) as exc:  # a full disk or map: every retry would fail the same way
            free_mib = shutil.disk_usage(self.store.path).free / 2**20  # LMDB says EIO where the disk said ENOSPC
            raise StoreError(
                f"{self.store.path}: cannot write batch #{record.number} ({len(batch)} messages): {exc} "
                f"({free_mib:.1f} MiB free on its disk); "
                f"the recording is whole up to batch #{self.last_batch.number} — free space or raise "
                f"[database] map_size_mb, then run again"
            ) from exc

    def _committed(self, record: BatchRecord) -> None:
        count = record.messages
        self.last_batch = record
        counters = self.counters
        counters.written += count
        counters.batches += 1
        counters.last_clock = record.last_clock
        complete = self._complete_upto(record.done)
        if complete > self.acked:
            self.acked = complete
            self.recovery.acknowledge(complete, received=counters.written)

    async def _backups(self) -> None:
        database = self.config.database
        while True:
            await asyncio.sleep(database.backup_interval_s)
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
