"""Versioned weights in `weights`: key = version (big-endian u32), value = the msgpack of the
`Weights` message that announced it. Written by rl_learner only (and by `weights rollback` or
`train` when no learner runs on that store); history is only ever appended to (writing a version
again with the same bytes — a restarted learner making it again — is allowed and changes nothing)."""

from __future__ import annotations

import struct

import msgspec

from messages.errors import WeightsError
from messages.learning import Weights
from storage.store import Store, entries

_VERSION = struct.Struct(">I")
_DECODER = msgspec.msgpack.Decoder(Weights)
_ENCODER = msgspec.msgpack.Encoder()


def put_weights(store: Store, *versions: Weights, txn=None) -> None:
    """Append versions (in one transaction; `txn` to join one already open)."""
    if txn is None:
        with store.write() as own:
            put_weights(store, *versions, txn=own)
        return
    db = store.db("weights")
    for weights in versions:
        key, value = _VERSION.pack(weights.version), _ENCODER.encode(weights)
        if not txn.put(key, value, db=db, overwrite=False) and bytes(txn.get(key, db=db)) != value:
            raise WeightsError(
                f"weights version {weights.version} is already stored with other weights; history is never rewritten"
            )


def all_weights(store: Store) -> list[Weights]:
    return [_DECODER.decode(value) for _, value in entries(store, "weights")]


def get_weights(store: Store, version: int) -> Weights | None:
    if not store.has("weights"):
        return None
    with store.env.begin() as txn:
        value = txn.get(_VERSION.pack(version), db=store.db("weights"))
    return None if value is None else _DECODER.decode(value)


def latest_weights(store: Store) -> Weights | None:
    found = entries(store, "weights")
    return _DECODER.decode(found[-1][1]) if found else None
