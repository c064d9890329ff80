"""The envelope every bus message carries.

Produces `Message`, the tagged, frozen base Struct. The runtime fills `seq` (per publisher,
monotonic from 1), `src` (actor name) and `ts_sent` (wall clock, ns) when it publishes;
`ts_event` is market time in ms (0 when a message has no market time).
"""

from __future__ import annotations

import msgspec


class Message(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type"):
    seq: int = 0
    src: str = ""
    ts_event: int = 0
    ts_sent: int = 0
