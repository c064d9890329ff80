"""Training sessions in the `sessions` database: key = session id (UTF-8), value = msgpack.

Consumes and produces `SessionRecord`s: what one replay of one window was (run, kind, iteration,
window, algorithm, seed, config hash), when it ran, where its recording lives, which weights
versions it produced, and its metrics. `python -m supervisor train` writes them; `report` reads them.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from storage.store import Store, entries

SessionKind = Literal["span", "train", "validate", "test"]  # today only span; the rest in older catalogs


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # "<run>.span" (older catalogs: "<run>.<kind>-<iteration>", "<run>.test")
    run: int  # training runs in one catalog are numbered 1, 2, ...
    kind: SessionKind
    iteration: int  # 0 (older catalogs: the training iteration)
    source: str  # the replayed kline source
    interval: str
    start: int  # window start, ms UTC (inclusive)
    end: int  # window end, ms UTC (exclusive)
    algorithm: str
    seed: int
    config_hash: str  # sha256 of the resolved config, without paths
    recording: str  # the session's LMDB, relative to the catalog's folder
    started_at: float  # wall clock, s since the epoch
    ended_at: float
    interrupted: bool = False
    learning: bool  # did rl_learner run (train) or were the weights frozen
    weights_from: int  # catalog weights version in effect at the start
    weights_to: int  # catalog weights version at the end
    metrics: dict[str, float | int | None] = {}
    notes: list[str] = []


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(SessionRecord)


def put_session(store: Store, record: SessionRecord) -> None:
    with store.write() as txn:
        txn.put(record.id.encode(), _ENCODER.encode(record), db=store.db("sessions"))


def all_sessions(store: Store) -> list[SessionRecord]:
    """Every session, in the order they ran."""
    records = [_DECODER.decode(value) for _, value in entries(store, "sessions")]
    return sorted(records, key=lambda r: (r.run, r.started_at, r.id))


def copy_database(source: Store, target: Store, name: str) -> int:
    """Copy every entry of the named database `name` from `source` into `target`; returns how many."""
    found = entries(source, name)
    with target.write() as write:
        for key, value in found:
            write.put(key, value, db=target.db(name))
    return len(found)
