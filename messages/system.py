"""Bus-wide system events: lifecycle, gaps, errors, stream ends, acknowledgements, probes.

Topics: `sys.lifecycle`, `sys.gap`, `sys.error`, `sys.end` (from a source that finished),
`ack.<actor>` (replay credit), `_hello.<actor>` (an actor's own subscription probe at start-up),
`bench.pulse` (payload-only messages of the bus benchmark and its tests).
"""

from __future__ import annotations

from typing import Literal

from messages.base import Message

LifecycleState = Literal["starting", "running", "stopping", "stopped", "faulted"]


class Lifecycle(Message, frozen=True):
    actor: str
    state: LifecycleState
    pid: int
    detail: str = ""


class Gap(Message, frozen=True):
    symbol: str  # "*" when every symbol is affected
    start: int  # first missing bar open time, ms UTC
    end: int  # last missing bar open time, ms UTC
    kind: Literal["source", "disconnect", "backfilled"]
    detail: str = ""


class ErrorEvent(Message, frozen=True):
    actor: str
    kind: str  # e.g. "malformed", "handler"
    detail: str
    count: int = 1


class Resync(Message, frozen=True):
    """Published by a publisher right before it re-sends its kept frames to an actor that asked
    (`Ack(resync=True)`): until this arrives, that actor drops the publisher's frames (all are
    re-sent after it)."""

    acker: str
    after_tick: int  # the feed: frames of ticks after this index follow (-1 from others)
    frames: int  # how many
    upto: int = -1  # frames of bars after this time (ms UTC) follow


class StreamEnd(Message, frozen=True):
    last_seq: int  # seq of the last data message the source published
    messages: int  # data messages the source published


class Ack(Message, frozen=True):
    upto: int  # ts_event (or seq, for sources without market time) handled so far; -1: nothing
    received: int = 0  # data messages received so far
    gaps: int = 0  # seq gaps detected so far
    resync: bool = False  # the acker restarted: re-send everything after `upto`


class Hello(Message, frozen=True):
    actor: str


class Pulse(Message, frozen=True):
    payload: bytes
