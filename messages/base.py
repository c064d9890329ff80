"""The envelope every bus message carries.

Produces `Message`, the tagged, frozen base Struct. The runtime fills `seq` (per publisher and
topic, monotonic from 1), `src` (actor name), `epoch` (the publisher's lineage, ns) and
`ts_sent` (wall clock, ns) when it publishes; `ts_event` is market time in ms (0 when a message
has no market time). A fresh publisher starts a new epoch and counts from 1; one restored from
its checkpoint keeps the checkpoint's epoch and counts on from the checkpoint's seqs, so what it
publishes again after the restart repeats, seq for seq, what it published before. A frame with
the epoch of the last one seen and a seq already seen is a duplicate.
"""

from __future__ import annotations

import msgspec


class Message(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type"):
    seq: int = 0
    src: str = ""
    ts_event: int = 0
    ts_sent: int = 0
    epoch: int = 0
