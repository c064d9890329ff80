"""The rows `export decisions|trades|weights` prints and `peper.open_recording` tabulates, built once.

Consumes an LMDB recording (read-only, so it works while the recorder writes; an older schema read
as it is, `storage.schema`); produces plain dicts in market-time order — decisions by (bar_time,
symbol), trades by (exit_time, trade_id), weights versions by version — and `flat`, the same rows
with nested values as columns (`weights.<model>`, `<model>.action`, `<model>.confidence`) and
lists as one ";"-joined cell.
"""

from __future__ import annotations

from pathlib import Path

from analytics.recording import decision_row, trade_row
from messages import topics
from messages.codec import Codec
from messages.trading import DecisionBatch, TradeClosed
from storage.schema import current
from storage.store import Store
from storage.stream import StreamReader
from storage.weights import all_weights

RECORDS = ("decisions", "trades", "weights")


def recorded(store: Store, topic: str) -> list:
    """Every message recorded on `topic`, in today's shapes."""
    codec = Codec()
    return [current(codec.decode_payload(payload)) for *_, payload in StreamReader(store).records(topic)]


def record_rows(db: Path, what: str) -> list[dict]:
    """decisions, trades or weights of the recording at `db`, one dict a row."""
    if what not in RECORDS:
        raise ValueError(f"record_rows: {what!r} is not one of {', '.join(RECORDS)}")
    with Store(db, readonly=True) as store:
        if what == "weights":
            return [
                {"version": w.version, "effective_from": w.effective_from, "weights": w.weights, "cause": w.cause}
                for w in all_weights(store)
            ]
        if what == "decisions":
            batches = [d for d in recorded(store, topics.DECISION) if isinstance(d, DecisionBatch)]
            return sorted(
                (decision_row(batch, row) for batch in batches for row in range(len(batch.symbol))),
                key=lambda row: (row["bar_time"], row["symbol"]),
            )
        rows = [trade_row(t) for t in recorded(store, topics.TRADE_CLOSED) if isinstance(t, TradeClosed)]
        return sorted(rows, key=lambda row: (row["exit_time"], row["trade_id"]))


def flat(row: dict) -> dict:
    """Nested values as columns: {"weights": {"a": 1}} -> weights.a; votes -> <model>.action, <model>.confidence;
    any other list as one cell, its items joined by ";" (a weights version's causes: "update;rollback:3")."""
    columns = {}
    for key, value in row.items():
        if isinstance(value, dict):
            columns.update({f"{key}.{inner}": item for inner, item in value.items()})
        elif isinstance(value, list) and all(isinstance(item, dict) and "model" in item for item in value):
            for vote in value:
                columns.update({f"{vote['model']}.{field}": item for field, item in vote.items() if field != "model"})
        elif isinstance(value, list):
            columns[key] = ";".join(str(item) for item in value)
        else:
            columns[key] = value
    return columns
