"""An actor's sockets on the bus and the loop that drains them.

Consumes the endpoints, the actor's subscriptions and the bus's CURVE client keys (when it has
them: every socket authenticates to the daemon and encrypts); produces a PUB socket (connected to the
broker's XSUB), a SUB socket (to its XPUB) with the subscriptions and the actor's own hello topic,
optionally a second SUB for side subscriptions (read by their own loop, so their handlers run
while a handler of the main loop awaits), and a DEALER to the supervisor's control socket.

Speed (DESIGN.md §9): the receive loop awaits readiness once and then drains the socket without
awaiting each frame (plain frames, never multipart); it yields to the event loop every
`DRAIN_SLICE_S` of handling (a replay frame can carry thousands of bars), so heartbeats keep
flowing under load, and calls `drained()` whenever the socket runs dry. `prove_route` is the
start-up probe: the actor's own hello, published until it comes back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import zmq
import zmq.asyncio

from bus.curve import as_client
from bus.endpoints import Endpoints, client_keys_for, control_keys_for
from config.schema import BusConfig

DRAIN_SLICE_S = 0.05
HELLO_RETRY_S = 0.05

Dispatch = Callable[[bytes], Awaitable[None] | None]


class BusSockets:
    def __init__(self, endpoints: Endpoints, bus: BusConfig, subscriptions: tuple[str, ...], side: tuple[str, ...]):
        self.context = zmq.asyncio.Context()
        self.keys = client_keys_for(bus)
        hwm = bus.hwm
        self.publisher = zmq.Context.shadow(self.context.underlying).socket(zmq.PUB)
        self.publisher.setsockopt(zmq.SNDHWM, hwm)
        self.publisher.setsockopt(zmq.LINGER, 2000)
        as_client(self.publisher, self.keys)
        self.publisher.connect(endpoints.publish)
        self.subscriber = self._subscribe(endpoints.subscribe, hwm, subscriptions)
        self.side = self._subscribe(endpoints.subscribe, hwm, side) if side else None
        self.control = self.context.socket(zmq.DEALER)
        self.control.setsockopt(zmq.LINGER, 500)
        self.control.setsockopt(zmq.SNDHWM, 100)
        as_client(self.control, control_keys_for(bus))
        self.control.connect(endpoints.control)

    def _subscribe(self, address: str, hwm: int, prefixes: tuple[str, ...]) -> zmq.asyncio.Socket:
        socket = self.context.socket(zmq.SUB)
        socket.setsockopt(zmq.RCVHWM, hwm)
        socket.setsockopt(zmq.LINGER, 0)
        as_client(socket, self.keys)
        socket.connect(address)
        for prefix in prefixes:
            socket.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        return socket

    def send(self, frame: bytes) -> None:
        self.publisher.send(frame)

    def close(self) -> None:
        self.publisher.close(linger=2000)  # made on a shadow context, which destroy() does not track
        self.context.destroy(linger=2000)


async def receive_loop(socket: zmq.asyncio.Socket, dispatch: Dispatch, drained: Callable[[], None] | None) -> None:
    """Await readiness, drain without awaiting per frame, hand each frame to `dispatch`."""
    receive = zmq.Socket.shadow(socket.underlying).recv
    clock = time.monotonic
    while True:
        await socket.poll(flags=zmq.POLLIN)
        slice_ends = clock() + DRAIN_SLICE_S
        while True:
            try:
                frame = receive(zmq.NOBLOCK)
            except zmq.Again:
                break
            pending = dispatch(frame)
            if pending is not None:
                await pending
            if clock() > slice_ends:
                await asyncio.sleep(0)  # let heartbeats and timers run, then drain on
                slice_ends = clock() + DRAIN_SLICE_S
        if drained is not None:
            drained()


async def prove_route(
    send_hello: Callable[[], object], seen: asyncio.Event, receiver: asyncio.Task[None], timeout_s: float, address: str
) -> None:
    """Publish the actor's own hello until it comes back through the broker: its subscriptions are
    in place (no sleep against slow joiners). Raises what killed the receive loop, or TimeoutError."""
    deadline = time.monotonic() + timeout_s
    waiter = asyncio.ensure_future(seen.wait())
    try:
        while not seen.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no route through the broker at {address}")
            send_hello()
            await asyncio.wait({waiter, receiver}, timeout=HELLO_RETRY_S, return_when=asyncio.FIRST_COMPLETED)
            if receiver.done():
                receiver.result()
                raise RuntimeError("the receive loop ended during start-up")
    finally:
        waiter.cancel()
