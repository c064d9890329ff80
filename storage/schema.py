"""How a store of an older schema version is read, and how `db migrate` upgrades it in place.

Consumes a store and its `schema_version`; produces messages in today's shapes. Recorded data
never becomes unreadable: a reader decodes what an old recording holds and `current()` turns old
message types into today's; `migrate()` rewrites the store to the current version after a hot
backup, so it can be written to again.

Versions:
- 1 (until the redesign): one `Decision` message per symbol and bar; a `trades` database that was
  never written; the recorder's bookkeeping under `recorder.last_batch` / `recorder.running`.
- 2: `DecisionBatch` (columnar, one per chunk); no `trades`; `recorder.batch` (`storage.recording`).
- 3: `KlineBatch` and `VoteBatch` carry their columns as array bytes (`messages.columns`); version 2's
  list-based ones are `messages.legacy`'s `KlineBatchV2` and `VoteBatchV2`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from messages.codec import Codec, RecordedMessage
from messages.errors import StoreError
from messages.legacy import KlineBatchV2, VoteBatchV2
from messages.market import KlineBatch
from messages.signals import VoteBatch
from messages.trading import Decision, DecisionBatch
from storage.backup import make_backup
from storage.recording import BATCH_KEY, BatchRecord, encode_batch
from storage.store import SCHEMA_KEY, SCHEMA_VERSION, Store

LEGACY_BATCH_KEY = "recorder.last_batch"
LEGACY_RUNNING_KEY = "recorder.running"


def current(message: RecordedMessage) -> RecordedMessage:
    """Today's shape of a recorded message (a version 1 `Decision` becomes a one-row batch, a version 2
    list-based kline or vote batch a columnar one)."""
    kind = type(message)
    if kind is Decision:
        return DecisionBatch(
            symbol=[message.symbol],
            bar_time=[message.bar_time],
            weights_version=[message.weights_version],
            score=[message.score],
            action=[message.action],
            models=[v.model for v in message.votes],
            vote_action=[[v.action] for v in message.votes],
            vote_confidence=[[v.confidence] for v in message.votes],
            **_envelope(message),
        )
    if kind is KlineBatchV2:
        return KlineBatch.of(
            interval_ms=message.interval_ms,
            symbol=message.symbol,
            open_time=message.open_time,
            open=message.open,
            high=message.high,
            low=message.low,
            close=message.close,
            volume=message.volume,
            quote_volume=message.quote_volume,
            trades=message.trades,
            taker_buy_base=message.taker_buy_base,
            synthetic=message.synthetic,
            **_envelope(message),
        )
    if kind is VoteBatchV2:
        return VoteBatch.of(
            model=message.model,
            version=message.version,
            symbol=message.symbol,
            bar_time=message.bar_time,
            action=message.action,
            confidence=message.confidence,
            reason=message.reason,
            **_envelope(message),
        )
    return message


def _envelope(message: RecordedMessage) -> dict[str, int | str]:
    return {
        "seq": message.seq,
        "src": message.src,
        "ts_event": message.ts_event,
        "ts_sent": message.ts_sent,
        "epoch": message.epoch,
    }


def migrate(
    path: Path, keep_backups: int = 10, progress: Callable[[int, int], None] | None = None
) -> tuple[int, int, Path | None]:
    """Upgrade the store at `path` to the current schema; returns (from version, to version, backup made)."""
    with Store(path, readonly=True) as store:
        found = store.schema_version
    if found == SCHEMA_VERSION:
        return found, found, None
    with Store(path, migrating=True) as store:
        backup = make_backup(store, keep_backups)
        if found not in (1, 2):
            raise StoreError(f"{path}: no migration from schema version {found}")
        _rewrite_old_messages(store, progress)
        if found == 1:
            _one_to_two_bookkeeping(store)
        store.put_meta(SCHEMA_KEY, str(SCHEMA_VERSION).encode())
    return found, SCHEMA_VERSION, backup


def _rewrite_old_messages(store: Store, progress: Callable[[int, int], None] | None) -> None:
    codec = Codec()
    encoder = msgspec.msgpack.Encoder()
    stream = store.db("stream")
    with store.write() as txn:
        total = txn.stat(stream)["entries"]
        cursor = txn.cursor(db=stream)
        rewritten = []
        for done, (key, value) in enumerate(cursor, start=1):
            message = codec.decode_payload(value)
            if type(message) in (Decision, KlineBatchV2, VoteBatchV2):
                rewritten.append((key, encoder.encode(current(message))))
            if progress is not None and done % 10_000 == 0:
                progress(done, total)
        for key, value in rewritten:
            txn.put(key, value, db=stream)
        if progress is not None:
            progress(total, total)


def _one_to_two_bookkeeping(store: Store) -> None:
    with store.write() as txn:
        meta = store.db("meta")
        legacy = txn.get(LEGACY_BATCH_KEY.encode(), db=meta)
        if legacy is not None:  # the same fields, by name: it decodes as today's record
            txn.put(BATCH_KEY.encode(), encode_batch(msgspec.msgpack.decode(legacy, type=BatchRecord)), db=meta)
            txn.delete(LEGACY_BATCH_KEY.encode(), db=meta)
        txn.delete(LEGACY_RUNNING_KEY.encode(), db=meta)
    if store.has("trades"):
        with store.write() as txn:
            txn.drop(store.db("trades"), delete=True)
