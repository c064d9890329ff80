"""The actor's side of the Paranoid-Pirate heartbeat: `Ready` once, then a `Heartbeat` every interval.

Consumes the actor's state and counts (a callable that builds the beat); produces frames on the
control socket. A beat that would block (the supervisor is gone or slow) is skipped, never queued:
the supervisor judges liveness by the beats it does get.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import zmq
import zmq.asyncio

from messages.control import CONTROL_ENCODER, Heartbeat


async def heartbeat_loop(control: zmq.asyncio.Socket, interval_s: float, beat: Callable[[], Heartbeat]) -> None:
    send = zmq.Socket.shadow(control.underlying).send  # synchronous: a full queue raises here, not in a Future
    while True:
        try:
            send(CONTROL_ENCODER.encode(beat()), zmq.NOBLOCK)
        except zmq.Again:
            pass
        await asyncio.sleep(interval_s)
