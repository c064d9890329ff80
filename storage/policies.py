"""Policies in the `policies` database of a training catalog: key = id (big-endian u32), value = msgpack.

Consumes and produces `Policy` records: the outcome of one `train` run that a later `run --policy`
trades with — the weights (a version in the catalog's `weights`), the lgbm_ai model (a version in
its `models`; 0 when none was trained), the learner's state, the learning and trader sections the
run chose, the experts they weigh, and the hash of the config it was trained with.
"""

from __future__ import annotations

import struct

import msgspec

from storage.store import Store, entries

_ID = struct.Struct(">I")


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    run: int  # the training run that made it
    created_at: int  # the last bar time it learned from, ms UTC
    experts: list[str]  # what its weights weigh, in order
    weights_version: int  # in the catalog's `weights`
    weights: dict[str, float]
    lgbm_version: int  # in the catalog's `models`; 0: no model was trained
    learner_state: str  # base64 of the learner's snapshot
    learning: dict[str, object]  # the chosen `[learning]` section
    changes: dict[str, object]  # the chosen configuration, as `[training.grid]` keys
    config_hash: str  # of the training run's config
    trader: dict[str, object] = {}  # the chosen `[trader]` section (a policy before schema 4: empty)
    thresholds: dict[str, object] = {}  # before schema 4: the trader's entry and exit thresholds (read only)


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(Policy)


def put_policy(store: Store, policy: Policy, txn=None) -> None:
    if txn is None:
        with store.write() as own:
            put_policy(store, policy, own)
        return
    txn.put(_ID.pack(policy.id), _ENCODER.encode(policy), db=store.db("policies"))


def all_policies(store: Store) -> list[Policy]:
    return [_DECODER.decode(value) for _, value in entries(store, "policies")]


def get_policy(store: Store, policy_id: int) -> Policy | None:
    if not store.has("policies"):
        return None
    with store.env.begin() as txn:
        value = txn.get(_ID.pack(policy_id), db=store.db("policies"))
    return None if value is None else _DECODER.decode(value)


def next_policy_id(store: Store) -> int:
    found = entries(store, "policies")
    return _ID.unpack(found[-1][0])[0] + 1 if found else 1
