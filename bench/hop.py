"""The transport floor of a live decision on this machine: one ZeroMQ hop between two idle processes.

Consumes nothing; produces, for `bench latency`, the one-way time of a 300-byte frame from one
process to another and back, every `GAP_S` (a live bar's rhythm: both sides asleep in between),
half the round trip, as p50 / p99 in µs — through a broker (XSUB/XPUB proxy, as the bus runs) and
direct (PUB bound by the sender). No logic, no decoding: what any hop of the live path costs
before an actor does anything, which bounds how few milliseconds frame -> decision can take here.
The echo side receives the way an actor does (uvloop, await readiness, drain without blocking).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time

import numpy as np
import zmq

GAP_S = 0.05
PAYLOAD = b"x" * 300


def _broker(base: str) -> None:
    context = zmq.Context()
    inbound, outbound = context.socket(zmq.XSUB), context.socket(zmq.XPUB)
    inbound.bind(base + "in")
    outbound.bind(base + "out")
    zmq.proxy(inbound, outbound)


def _echo(base: str, via_broker: bool) -> None:
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
            subscriber.connect(base + "ping")
            publisher.bind(base + "pong")
        subscriber.setsockopt(zmq.SUBSCRIBE, b"ping")
        receive = zmq.Socket.shadow(subscriber.underlying).recv
        while True:
            await subscriber.poll(flags=zmq.POLLIN)
            while True:
                try:
                    frame = receive(zmq.NOBLOCK)
                except zmq.Again:
                    break
                publisher.send(b"pong" + frame[4:])

    uvloop.run(serve())


def one_way_us(via_broker: bool, frames: int) -> list[float]:
    """Half of each round trip, µs, for `frames` pings sent `GAP_S` apart."""
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="peper-hop-") as folder:
        base = f"ipc://{folder}/"
        helpers = ([spawn.Process(target=_broker, args=(base,), daemon=True)] if via_broker else []) + [
            spawn.Process(target=_echo, args=(base, via_broker), daemon=True)]
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
                publisher.bind(base + "ping")
                subscriber.connect(base + "pong")
            subscriber.setsockopt(zmq.SUBSCRIBE, b"pong")
            _until_connected(publisher, subscriber)
            found = []
            for _ in range(frames):
                started = time.perf_counter_ns()
                publisher.send(b"ping" + PAYLOAD)
                if not subscriber.poll(1000):
                    raise TimeoutError("the echo process did not answer within 1 s")
                subscriber.recv()
                found.append((time.perf_counter_ns() - started) / 2000)
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
    """Ping until a pong comes back: both subscriptions are in place (a PUB drops what no one hears)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        publisher.send(b"ping" + PAYLOAD)
        if subscriber.poll(100):
            while subscriber.poll(200):
                subscriber.recv()
            return
    raise TimeoutError(f"no echo within {timeout_s:g} s")


def run(frames: int) -> dict[str, dict[str, float]]:
    """{"transport_hop_p50_us": {"broker": .., "direct": ..}, "transport_hop_p99_us": {...}}."""
    found: dict[str, dict[str, float]] = {"transport_hop_p50_us": {}, "transport_hop_p99_us": {}}
    for name, via_broker in (("broker", True), ("direct", False)):
        values = np.array(one_way_us(via_broker, frames))
        found["transport_hop_p50_us"][name] = round(float(np.percentile(values, 50)), 1)
        found["transport_hop_p99_us"][name] = round(float(np.percentile(values, 99)), 1)
    return found
