"""Versioned weights in the `weights` database: key = version (big-endian u32), value = the
msgpack of the `Weights` message that announced it. History is only ever appended to."""

from __future__ import annotations

import struct

import msgspec

from messages.learning import Weights
from storage.store import Store

_VERSION = struct.Struct(">I")
_DECODER = msgspec.msgpack.Decoder(Weights)
_ENCODER = msgspec.msgpack.Encoder()


def put_weights(store: Store, weights: Weights) -> None:
    with store.env.begin(write=True) as txn:
        if not txn.put(_VERSION.pack(weights.version), _ENCODER.encode(weights), db=store.db("weights"), overwrite=False):
            raise ValueError(f"weights version {weights.version} is already stored; history is never rewritten")


def all_weights(store: Store) -> list[Weights]:
    with store.env.begin() as txn:
        return [_DECODER.decode(value) for _, value in txn.cursor(db=store.db("weights"))]


def get_weights(store: Store, version: int) -> Weights | None:
    with store.env.begin() as txn:
        value = txn.get(_VERSION.pack(version), db=store.db("weights"))
    return None if value is None else _DECODER.decode(value)


def latest_weights(store: Store) -> Weights | None:
    with store.env.begin() as txn:
        cursor = txn.cursor(db=store.db("weights"))
        return _DECODER.decode(cursor.value()) if cursor.last() else None
