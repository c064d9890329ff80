"""Stored lgbm_ai models in the `models` database: key = version (big-endian u32), value = msgpack.

Consumes and produces `signals.lgbm.StoredModel`-shaped records (as raw msgpack bytes, so storage
keeps importing only `messages`); lgbm_ai writes here directly — LMDB serialises writers across
processes — and reloads from here after a restart or when a version is pinned.
"""

from __future__ import annotations

import struct

from storage.store import Store

_VERSION = struct.Struct(">I")


def put_model(store: Store, version: int, record: bytes) -> None:
    with store.env.begin(write=True) as txn:
        txn.put(_VERSION.pack(version), record, db=store.db("models"))


def get_model(store: Store, version: int) -> bytes | None:
    with store.env.begin() as txn:
        return txn.get(_VERSION.pack(version), db=store.db("models"))


def latest_model(store: Store) -> tuple[int, bytes] | None:
    with store.env.begin() as txn:
        cursor = txn.cursor(db=store.db("models"))
        if not cursor.last():
            return None
        return _VERSION.unpack(cursor.key())[0], cursor.value()


def model_versions(store: Store) -> list[int]:
    with store.env.begin() as txn:
        return [_VERSION.unpack(key)[0] for key, _ in txn.cursor(db=store.db("models"))]
