"""The envelope every bus message carries.

Produces `Message`, the tagged, frozen base Struct. The runtime fills `seq` (per publisher and
topic, monotonic from 1), `src` (actor name), `epoch` (the publishing process's start, ns: a
restarted publisher starts a new epoch and counts from 1 again) and `ts_sent` (wall clock, ns)
when it publishes; `ts_event` is market time in ms (0 when a message has no market time).
A frame re-sent with the same epoch and a seq already seen is a duplicate.
"""

from __future__ import annotations

import msgspec


class Message(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type"):
    seq: int = 0
    src: str = ""
    ts_event: int = 0
    ts_sent: int = 0
    epoch: int = 0
