"""The recorder's bookkeeping in `meta`: what of the current run is durable.

Consumes and produces `BatchRecord`s, committed in the same transaction as each batch of
recorded messages: the batch number, its size, the newest clock recorded so far, the run it
belongs to, and per publisher the bar time up to which everything it published is recorded. The
progress bar of `train`, the monitor and a restarted recorder read it.
"""

from __future__ import annotations

import msgspec

from storage.store import Store

BATCH_KEY = "recorder.batch"


class BatchRecord(msgspec.Struct, frozen=True):
    number: int
    messages: int
    last_clock: int  # ms UTC: the run's newest clock in or before this batch; -1 before the first
    run_id: int = 0  # the daemon run that wrote it
    done: dict[str, int] = {}  # publisher -> bar time up to which all it published is in this batch or before
    publishers: list[str] = []  # the sources seen publishing data frames (the ones a restart asks to re-send)


def encode_batch(record: BatchRecord) -> bytes:
    return msgspec.msgpack.encode(record)


def last_batch(store: Store) -> BatchRecord | None:
    raw = store.get_meta(BATCH_KEY)
    return None if raw is None else msgspec.msgpack.decode(raw, type=BatchRecord)
