"""Recorded bus messages: key = topic id | ts_event | src id | seq (big-endian), value = payload.

Consumes (topic, ts_event, src, seq, payload bytes as received); produces ordered range scans, so
a topic's messages come back in market-time order. Topic and source names are interned as 16-bit
ids in the `names` database (`t:<topic>`, `s:<src>` -> id; `T`/`S` + id -> name).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from storage.store import Store, entries

KEY = struct.Struct(">HQHQ")
_ID = struct.Struct(">H")


class NameTable:
    """Interned topic and source names, loaded once and extended inside write transactions."""

    def __init__(self, store: Store):
        self._store = store
        self.ids: dict[bytes, int] = {}
        self.names: dict[bytes, str] = {}
        for key, value in entries(store, "names"):
            if key[:1] in (b"t", b"s") and key[1:2] == b":":
                self.ids[key] = _ID.unpack(value)[0]
            else:
                self.names[key] = value.decode()

    def id_for(self, kind: bytes, name: str, txn) -> int:
        key = kind + b":" + name.encode()
        found = self.ids.get(key)
        if found is None:
            found = sum(1 for k in self.ids if k[:1] == kind) + 1
            txn.put(key, _ID.pack(found), db=self._store.db("names"))
            txn.put(kind.upper() + _ID.pack(found), name.encode(), db=self._store.db("names"))
            self.ids[key] = found
            self.names[kind.upper() + _ID.pack(found)] = name
        return found

    def lookup(self, kind: bytes, name: str) -> int | None:
        return self.ids.get(kind + b":" + name.encode())

    def name(self, kind: bytes, ident: int) -> str:
        return self.names[kind.upper() + _ID.pack(ident)]


class StreamWriter:
    def __init__(self, store: Store):
        self.store = store
        self.names = NameTable(store)
        self.pending: list[tuple[str, int, str, int, bytes]] = []

    def add(self, topic: str, ts_event: int, src: str, seq: int, payload: bytes) -> None:
        self.pending.append((topic, ts_event, src, seq, payload))

    def commit(self, meta: dict[str, bytes] | None = None) -> int:
        """Write every pending message (and `meta` entries) in one durable transaction; return how many."""
        return self.write(self.take(), meta)

    def take(self) -> list[tuple[str, int, str, int, bytes]]:
        """The pending messages, handed over; new ones go into a fresh batch."""
        batch, self.pending = self.pending, []
        return batch

    def write(self, batch: list[tuple[str, int, str, int, bytes]], meta: dict[str, bytes] | None = None) -> int:
        """Write a taken batch (and `meta` entries) in one durable transaction; safe in a worker thread
        while the owner goes on adding, as long as one write runs at a time."""
        if not batch:
            return 0
        stream_db = self.store.db("stream")
        with self.store.write() as txn:
            for key, value in (meta or {}).items():
                txn.put(key.encode(), value, db=self.store.db("meta"))
            id_for = self.names.id_for
            items = [
                (KEY.pack(id_for(b"t", topic, txn), ts_event, id_for(b"s", src, txn), seq), payload)
                for topic, ts_event, src, seq, payload in batch
            ]
            txn.cursor(db=stream_db).putmulti(items)
        return len(batch)


class StreamReader:
    def __init__(self, store: Store):
        self.store = store
        self.names = NameTable(store)

    def records(self, topic: str | None = None) -> Iterator[tuple[str, int, str, int, bytes]]:
        """(topic, ts_event, src, seq, payload) in key order, for one topic or all."""
        if not self.store.has("stream"):
            return
        with self.store.env.begin(buffers=False) as txn:
            cursor = txn.cursor(db=self.store.db("stream"))
            if topic is None:
                positioned = cursor.first()
            else:
                topic_id = self.names.lookup(b"t", topic)
                if topic_id is None:
                    return
                positioned = cursor.set_range(KEY.pack(topic_id, 0, 0, 0))
            while positioned:
                key, payload = cursor.item()
                topic_id, ts_event, src_id, seq = KEY.unpack(key)
                name = self.names.name(b"t", topic_id)
                if topic is not None and name != topic:
                    return
                yield name, ts_event, self.names.name(b"s", src_id), seq, payload
                positioned = cursor.next()

    def count(self) -> int:
        if not self.store.has("stream"):
            return 0
        with self.store.env.begin() as txn:
            return txn.stat(self.store.db("stream"))["entries"]
