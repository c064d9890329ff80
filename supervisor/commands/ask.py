"""Ask a running actor something over the bus and wait for its answer: what `weights rollback` and `halt` do.

Consumes the config and the run directory of a running daemon; produces the first message on
`answer_topic` that `answers(message)` accepts. The command is published again every 200 ms until
then (a new PUB socket learns its subscribers asynchronously: the first sends may go nowhere), each
with the next seq; no answer within `timeout_s` is the `error` given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import zmq

from bus.curve import as_client
from bus.endpoints import client_keys_for, endpoints_for
from config.schema import PeperConfig
from messages.codec import BusMessage, Codec
from messages.errors import PeperError


def ask(
    config: PeperConfig,
    run_dir: Path,
    topic: str,
    command: BusMessage,
    answer_topic: str,
    answers: Callable[[BusMessage], bool],
    timeout_s: float,
    error: PeperError,
) -> BusMessage:
    codec = Codec()
    endpoints = endpoints_for(config.bus, run_dir)
    context = zmq.Context()
    listener, publisher = context.socket(zmq.SUB), context.socket(zmq.PUB)
    for socket in (listener, publisher):
        as_client(socket, client_keys_for(config.bus))
    try:
        listener.connect(endpoints.subscribe)
        listener.setsockopt(zmq.SUBSCRIBE, answer_topic.encode())
        publisher.connect(endpoints.publish)
        command = msgspec.structs.replace(command, src="cli", epoch=time.time_ns())
        deadline = time.monotonic() + timeout_s
        seq = 0
        while time.monotonic() < deadline:
            seq += 1
            publisher.send(codec.encode(topic, msgspec.structs.replace(command, seq=seq)))
            while listener.poll(200):
                _, message = codec.decode(listener.recv())
                if answers(message):
                    return message
        raise error
    finally:
        listener.close(0)
        publisher.close(0)
        context.term()
