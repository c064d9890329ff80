"""`python -m supervisor export stream|decisions|trades|weights --db PATH`: JSON lines (DESIGN.md §8).

Consumes an LMDB recording (opened read-only, so it works while the recorder writes); produces
one JSON object per line on stdout:
- stream: `{"topic", "seq", "src", "ts_event", "type", "data", "ts_sent", "epoch"}` in key order
  (topic, then market time); `ts_sent` and `epoch` are the only wall-clock fields;
- decisions: `symbol, bar_time, weights_version, score, action, votes[{model, action, confidence}]`;
- trades: `trade_id, symbol, side, entry_time, entry_price, exit_time, exit_price, fees, pnl,
  return, votes`;
- weights: `version, effective_from, weights, cause`, from the `weights` database.
Decisions and trades come in market-time order; none of them holds a wall-clock field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import msgspec

from analytics.recording import trade_row
from messages import topics
from messages.codec import Codec
from messages.trading import Decision, ModelVote, TradeClosed
from storage.store import Store
from storage.stream import StreamReader
from storage.weights import all_weights

ENVELOPE = ("seq", "src", "ts_event", "ts_sent", "epoch", "type")


def export_stream(db: Path, topic: str | None, out: TextIO = sys.stdout) -> int:
    codec = Codec()
    encoder = msgspec.json.Encoder()
    written = 0
    with Store(db, readonly=True) as store:
        for name, _, _, _, payload in StreamReader(store).records(topic):
            message = codec.decode_payload(payload)
            fields = msgspec.to_builtins(message)
            line = {
                "topic": name, "seq": message.seq, "src": message.src, "ts_event": message.ts_event,
                "type": type(message).__name__, "data": {k: v for k, v in fields.items() if k not in ENVELOPE},
                "ts_sent": message.ts_sent, "epoch": message.epoch,
            }
            out.write(encoder.encode(line).decode())
            out.write("\n")
            written += 1
    return written


def _votes(votes: list[ModelVote]) -> list[dict[str, object]]:
    return [{"model": v.model, "action": v.action, "confidence": v.confidence} for v in votes]


def export_records(db: Path, what: str, out: TextIO = sys.stdout) -> int:
    """decisions, trades or weights as JSON lines; returns how many."""
    encoder = msgspec.json.Encoder()
    codec = Codec()
    with Store(db, readonly=True) as store:
        if what == "weights":
            rows = [{"version": w.version, "effective_from": w.effective_from, "weights": w.weights, "cause": w.cause}
                    for w in all_weights(store)]
        else:
            topic = topics.DECISION if what == "decisions" else topics.TRADE_CLOSED
            messages = [codec.decode_payload(p) for *_, p in StreamReader(store).records(topic)]
            if what == "decisions":
                rows = [{"symbol": d.symbol, "bar_time": d.bar_time, "weights_version": d.weights_version, "score": d.score,
                         "action": d.action, "votes": _votes(d.votes)} for d in messages if isinstance(d, Decision)]
                rows.sort(key=lambda row: (row["bar_time"], row["symbol"]))
            else:
                rows = [trade_row(t) for t in messages if isinstance(t, TradeClosed)]
                rows.sort(key=lambda row: (row["exit_time"], row["trade_id"]))
    for row in rows:
        out.write(encoder.encode(row).decode())
        out.write("\n")
    return len(rows)
