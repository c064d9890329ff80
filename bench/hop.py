"""The transport floor of a live decision on this machine: bare ZeroMQ hops between idle processes.

Consumes nothing; produces, for `bench latency`, the time of a 300-byte frame passed along a ring
of processes, one frame every `GAP_S` (a live bar's rhythm: every process asleep in between),
through a broker (XSUB/XPUB proxy, as the bus runs) and direct (each PUB bound by its sender):
- `transport_hop_*`: one hop, half the round trip to one echoing process;
- `transport_path_*`: the three hops a live decision takes (closing frame -> feed -> model ->
  trader), the whole trip through two relaying processes and back.
No logic, no decoding: what the live path costs before an actor does anything, which bounds how
few milliseconds frame -> decision can take here. Relays receive the way an actor does (uvloop,
await readiness, drain without blocking).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time

import numpy as np
import zmq

GAP_S = 0.05
PAYLOAD = b"x" * 300
PATH_HOPS = 3


def _topic(hop: int) -> bytes:
    return b"h%02d" % hop


def _broker(base: str) -> None:
    context = zmq.Context()
    inbound, outbound = context.socket(zmq.XSUB), context.socket(zmq.XPUB)
    inbound.bind(base + "in")
    outbound.bind(base + "out")
    zmq.proxy(inbound, outbound)


def _relay(base: str, via_broker: bool, hop: int) -> None:
    """Receive hop `hop`'s frames, pass each on as hop `hop + 1`."""
    import uvloop
    import zmq.asyncio

    async def serve() -> None:
        context = zmq.asyncio.Context()
        subscriber = context.socket(zmq.SUB)
        publisher = zmq.Context.shadow(context.underlying).socket(zmq.PUB)
        if via_broker:
            subscriber.connect(base + "out")
            publisher.connect(base + "in")
        else:
            subscriber.connect(base + _topic(hop).decode())
            publisher.bind(base + _topic(hop + 1).decode())
        subscriber.setsockopt(zmq.SUBSCRIBE, _topic(hop))
        receive = zmq.Socket.shadow(subscriber.underlying).recv
        onward = _topic(hop + 1)
        while True:
            await subscriber.poll(flags=zmq.POLLIN)
            while True:
                try:
                    frame = receive(zmq.NOBLOCK)
                except zmq.Again:
                    break
                publisher.send(onward + frame[3:])

    uvloop.run(serve())


def round_trip_us(via_broker: bool, relays: int, frames: int) -> list[float]:
    """The time, µs, for each of `frames` frames (sent `GAP_S` apart) to pass `relays` processes and come back."""
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="peper-hop-") as folder:
        base = f"ipc://{folder}/"
        helpers = ([spawn.Process(target=_broker, args=(base,), daemon=True)] if via_broker else []) + [
            spawn.Process(target=_relay, args=(base, via_broker, hop), daemon=True) for hop in range(relays)
        ]
        context = zmq.Context()
        publisher, subscriber = context.socket(zmq.PUB), context.socket(zmq.SUB)
        publisher.setsockopt(zmq.LINGER, 0)
        subscriber.setsockopt(zmq.LINGER, 0)
        try:
            for helper in helpers:
                helper.start()
            if via_broker:
                publisher.connect(base + "in")
                subscriber.connect(base + "out")
            else:
                publisher.bind(base + _topic(0).decode())
                subscriber.connect(base + _topic(relays).decode())
            subscriber.setsockopt(zmq.SUBSCRIBE, _topic(relays))
            _until_connected(publisher, subscriber)
            found = []
            for _ in range(frames):
                started = time.perf_counter_ns()
                publisher.send(_topic(0) + PAYLOAD)
                if not subscriber.poll(1000):
                    raise TimeoutError(f"the frame did not come back through {relays} relays within 1 s")
                subscriber.recv()
                found.append((time.perf_counter_ns() - started) / 1000)
                time.sleep(GAP_S)
            return found
        finally:
            publisher.close()
            subscriber.close()
            context.term()
            for helper in helpers:
                helper.terminate()
                helper.join(5)


def _until_connected(publisher: zmq.Socket, subscriber: zmq.Socket, timeout_s: float = 30.0) -> None:
    """Send until a frame comes back: every subscription is in place (a PUB drops what no one hears)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        publisher.send(_topic(0) + PAYLOAD)
        if subscriber.poll(100):
            while subscriber.poll(200):
                subscriber.recv()
            return
    raise TimeoutError(f"no frame came back within {timeout_s:g} s")


def run(frames: int) -> dict[str, dict[str, float]]:
    """{"transport_hop_p50_us": {"broker": .., "direct": ..}, "transport_hop_p99_us": {...},
    "transport_path_p50_us": {...}, "transport_path_p99_us": {...}}."""
    found: dict[str, dict[str, float]] = {}
    for name, via_broker in (("broker", True), ("direct", False)):
        for what, relays, share in (("hop", 1, 0.5), ("path", PATH_HOPS - 1, 1.0)):
            values = share * np.array(round_trip_us(via_broker, relays, frames))
            found.setdefault(f"transport_{what}_p50_us", {})[name] = round(float(np.percentile(values, 50)), 1)
            found.setdefault(f"transport_{what}_p99_us", {})[name] = round(float(np.percentile(values, 99)), 1)
    return found
