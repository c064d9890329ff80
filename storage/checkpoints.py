"""Actor checkpoints in `checkpoint.<actor>`: what an actor needs to resume where it acknowledged.

Consumes a `Checkpoint` — the actor's state (msgpack bytes of its own Struct), the bar time up to
which it has handled everything, the epoch and per-topic seqs of what it published, and the run it
belongs to — and optionally a journal entry (history too big to rewrite at every checkpoint, such
as lgbm_ai's training samples: each checkpoint adds the new part, and entries older than the actor
still needs are deleted in the same transaction); produces them back after a restart. The actor
writes it before it acknowledges that bar time, so everything after the checkpoint is still kept
by the publishers it reads from. One writer per database: the actor named.

Checkpoints live in an environment of their own beside the store (`checkpoint_path`), committed
without fsync: they serve restarts within one daemon run (a new run never resumes an old one), and
a process that dies leaves its committed pages in the page cache; a machine that dies ends the run.
So no actor waits for the disk, or for another actor's fsync, at every chunk — and the store the
recorder fsyncs is never written to without one.
"""

from __future__ import annotations

import struct
from pathlib import Path

import msgspec

from storage.store import Store

LATEST = b"latest"
JOURNAL = b"j"
_POSITION = struct.Struct(">q")
_FRAME = struct.Struct(">qQ")  # position, the number of the frame among the actor's saved ones


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    run_id: int  # the daemon run this belongs to (a new run never resumes an old one)
    upto: int  # ms UTC: every input with a bar time up to this is in `state`
    epoch: int  # the actor's lineage; published again after a restore
    seqs: dict[str, int]  # topic -> last seq published
    state: bytes  # the actor's own state, msgpack


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(Checkpoint)


def database_name(actor: str) -> str:
    return f"checkpoint.{actor}"


def checkpoint_path(store_path: Path) -> Path:
    """`data/peper.lmdb` -> `data/peper.lmdb.checkpoints`."""
    return store_path.with_name(store_path.name + ".checkpoints")


def write_checkpoint(
    store: Store,
    actor: str,
    checkpoint: Checkpoint,
    journal: tuple[int, bytes] | None = None,
    keep_journal_from: int | None = None,
    outbox: tuple[list[tuple[int, bytes]], int] | None = None,
) -> None:
    """The checkpoint, a journal entry at its position and old entries gone, and the outbox's new
    frames saved and the ones every acknowledger has deleted (`outbox`: frames, that position) —
    one transaction."""
    db = store.db(database_name(actor))
    with store.write() as txn:
        if outbox is not None:
            _save_outbox(store, actor, txn, *outbox)
        txn.put(LATEST, _ENCODER.encode(checkpoint), db=db)
        if journal is not None:
            txn.put(JOURNAL + _POSITION.pack(journal[0]), journal[1], db=db)
        if keep_journal_from is not None:
            cursor = txn.cursor(db=db)
            positioned = cursor.set_range(JOURNAL)
            while (
                positioned and cursor.key()[:1] == JOURNAL and _POSITION.unpack(cursor.key()[1:])[0] < keep_journal_from
            ):
                positioned = cursor.delete()


def _save_outbox(store: Store, actor: str, txn, frames: list[tuple[int, bytes]], everyone_has: int) -> None:
    db = store.db(outbox_name(actor))
    cursor = txn.cursor(db=db)
    number = _FRAME.unpack(cursor.key())[1] + 1 if cursor.last() else 0
    for position, frame in frames:
        txn.put(_FRAME.pack(position, number), frame, db=db)
        number += 1
    while cursor.first() and _FRAME.unpack(cursor.key())[0] <= everyone_has:
        cursor.delete()


def read_outbox(store: Store, actor: str, upto: int) -> list[tuple[int, bytes]]:
    """The saved frames at positions up to `upto`, in the order they were published."""
    if not store.has(outbox_name(actor)):
        return []
    with store.env.begin() as txn:
        return [
            (_FRAME.unpack(key)[0], bytes(value))
            for key, value in txn.cursor(db=store.db(outbox_name(actor)))
            if _FRAME.unpack(key)[0] <= upto
        ]


def outbox_name(actor: str) -> str:
    return f"outbox.{actor}"


def read_journal(store: Store, actor: str, upto: int) -> list[bytes]:
    """The journal entries at positions up to `upto`, oldest first."""
    if not store.has(database_name(actor)):
        return []
    found = []
    with store.env.begin() as txn:
        cursor = txn.cursor(db=store.db(database_name(actor)))
        positioned = cursor.set_range(JOURNAL)
        while positioned and cursor.key()[:1] == JOURNAL:
            if _POSITION.unpack(cursor.key()[1:])[0] <= upto:
                found.append(bytes(cursor.value()))
            positioned = cursor.next()
    return found


def read_checkpoint(store: Store, actor: str, run_id: int) -> Checkpoint | None:
    """The actor's newest checkpoint of this run, or None."""
    if not store.has(database_name(actor)):
        return None
    with store.env.begin() as txn:
        raw = txn.get(LATEST, db=store.db(database_name(actor)))
    if raw is None:
        return None
    checkpoint = _DECODER.decode(raw)
    return checkpoint if checkpoint.run_id == run_id else None
