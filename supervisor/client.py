"""Talk to a running daemon over its control socket: `status` and `stop`.

Consumes the run directory (to find the control endpoint and check a daemon holds it); produces
the daemon's `StatusReply` or `Reply`, or `DaemonUnreachable` with a one-line reason.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import zmq

from config.endpoints import endpoints_for
from config.schema import BusConfig
from messages.control import (
    CONTROL_DECODER,
    CONTROL_ENCODER,
    ControlMessage,
    StatusRequest,
    StopRequest,
)
from supervisor.run_directory import daemon_is_running


class DaemonUnreachable(Exception):
    """No daemon answers on that run directory."""


def request(bus: BusConfig, run_dir: Path, message: ControlMessage, timeout_s: float = 5.0) -> ControlMessage:
    if not daemon_is_running(run_dir):
        raise DaemonUnreachable(f"no supervisor is running on {run_dir}")
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    try:
        socket.connect(endpoints_for(bus, run_dir).control)
        socket.send(CONTROL_ENCODER.encode(message))
        if not socket.poll(int(timeout_s * 1000)):
            raise DaemonUnreachable(f"the supervisor on {run_dir} did not answer within {timeout_s:g} s")
        try:
            return CONTROL_DECODER.decode(socket.recv())
        except msgspec.DecodeError as exc:
            raise DaemonUnreachable(f"the supervisor on {run_dir} sent an undecodable reply: {exc}") from exc
    finally:
        socket.close(linger=0)
        context.term()


def status(bus: BusConfig, run_dir: Path) -> ControlMessage:
    return request(bus, run_dir, StatusRequest())


def stop(bus: BusConfig, run_dir: Path, reason: str = "python -m supervisor stop") -> ControlMessage:
    return request(bus, run_dir, StopRequest(reason=reason))
