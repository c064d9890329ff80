"""Stored lgbm_ai models in `models`: key = version (big-endian u32), value = msgpack.

Consumes and produces `signals.stored_model.StoredModel`-shaped records as raw msgpack bytes (storage does
not know the model's shape); written by lgbm_ai only, read back after a restart, for a pinned
version, by a policy, and by `train` when it copies a session's models into its catalog.
"""

from __future__ import annotations

import struct

from storage.store import Store, entries

_VERSION = struct.Struct(">I")


def put_model(store: Store, version: int, record: bytes, txn=None) -> None:
    """Store a model (`txn` to join a write transaction already open)."""
    if txn is None:
        with store.write() as own:
            put_model(store, version, record, own)
        return
    txn.put(_VERSION.pack(version), record, db=store.db("models"))


def get_model(store: Store, version: int) -> bytes | None:
    if not store.has("models"):
        return None
    with store.env.begin() as txn:
        return txn.get(_VERSION.pack(version), db=store.db("models"))


def latest_model(store: Store) -> tuple[int, bytes] | None:
    found = entries(store, "models")
    return (_VERSION.unpack(found[-1][0])[0], found[-1][1]) if found else None


def model_versions(store: Store) -> list[int]:
    return [_VERSION.unpack(key)[0] for key, _ in entries(store, "models")]
