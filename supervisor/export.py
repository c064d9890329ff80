"""`python -m supervisor export stream --db PATH`: recorded messages as JSON lines (DESIGN.md §8).

Consumes an LMDB recording (opened read-only, so it works while the recorder writes); produces
one JSON object per message on stdout, in key order (topic, then market time):
`{"topic", "seq", "src", "ts_event", "type", "data", "ts_sent", "epoch"}` — `data` holds the
message's own fields; `ts_sent` and `epoch` are the only wall-clock fields.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import msgspec

from messages.codec import Codec
from storage.store import Store
from storage.stream import StreamReader

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
