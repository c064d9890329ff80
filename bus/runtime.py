"""What the daemon and its actors agree on: the environment, the run directory's layout, the control client.

The daemon writes the resolved configuration into its private run directory (`config.json`),
holds `daemon.lock` there, binds the bus's ipc sockets beside them, and starts each actor with
`PEPER_RESTARTS` (how often it was restarted), `PEPER_RUN_ID` (which run this is) and
`PEPER_LOG_LEVEL` in its environment; each of them asks Linux to stop it when its parent dies
(`die_with_parent`), the daemon too when started with `PEPER_DIE_WITH_PARENT` (by the test and
bench harness: a killed test leaves no topology behind). Actors read the config back with
`load_run_config`; command-line clients and the monitor talk to the daemon's control socket with
`request` (`status`, `stop`). Both sides import this module, and it
imports nothing above `config`.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
from pathlib import Path

import msgspec
import zmq

from bus.curve import as_client
from bus.endpoints import SOCKETS, control_keys_for, endpoints_for
from config.schema import BusConfig, PeperConfig
from messages.control import (
    CONTROL_DECODER,
    CONTROL_ENCODER,
    ControlMessage,
    StatusReply,
    StatusRequest,
    StopRequest,
)
from messages.errors import DaemonUnreachable

RESTARTS_ENV = "PEPER_RESTARTS"  # how often the supervisor restarted this actor (0 at first start)
LOG_LEVEL_ENV = "PEPER_LOG_LEVEL"  # the actors' log level (INFO unless set; `train` sets WARNING)
PROFILE_ENV = "PEPER_PROFILE_DIR"  # set: every actor runs under cProfile and writes <dir>/<name>.prof
RUN_ID_ENV = "PEPER_RUN_ID"  # the daemon run: a checkpoint of another run is never resumed
DIE_WITH_PARENT_ENV = "PEPER_DIE_WITH_PARENT"  # the pid of a daemon's starter, whose death stops it
CONFIG_FILE_NAME = "config.json"  # the resolved configuration, written by the daemon
CACHE_DIR_NAME = "cache"  # what actors keep for their own restarts within this run (the feed's bars)
LOCK_FILE_NAME = "daemon.lock"  # held (flock) by the running daemon, holds its pid
SOCKET_FILE_NAMES = SOCKETS


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies, so nothing is orphaned."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def restarts_from_environment() -> int:
    return int(os.environ.get(RESTARTS_ENV, "0"))


def load_run_config(run_dir: Path) -> PeperConfig:
    """The resolved configuration the supervisor wrote into its run directory."""
    return msgspec.json.decode((run_dir / CONFIG_FILE_NAME).read_bytes(), type=PeperConfig)


def write_run_config(run_dir: Path, config: PeperConfig) -> None:
    target = run_dir / CONFIG_FILE_NAME
    temporary = target.with_suffix(".tmp")
    temporary.write_bytes(msgspec.json.encode(config))
    temporary.replace(target)


def read_daemon_pid(run_dir: Path) -> int | None:
    try:
        return int((run_dir / LOCK_FILE_NAME).read_text().strip())
    except (OSError, ValueError):
        return None


def daemon_is_running(run_dir: Path) -> bool:
    """True while some process holds the run directory's lock."""
    try:
        handle = os.open(run_dir / LOCK_FILE_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)
    return False


def request(bus: BusConfig, run_dir: Path, message: ControlMessage, timeout_s: float = 5.0) -> ControlMessage:
    """One request to the daemon's control socket, one reply; DaemonUnreachable with the reason."""
    if not bus.connect_host and not daemon_is_running(run_dir):
        raise DaemonUnreachable(f"no supervisor is running on {run_dir}")
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    try:
        as_client(socket, control_keys_for(bus))
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


def status(bus: BusConfig, run_dir: Path) -> StatusReply:
    reply = request(bus, run_dir, StatusRequest())
    if not isinstance(reply, StatusReply):
        raise DaemonUnreachable(f"the supervisor on {run_dir} answered a status request with {type(reply).__name__}")
    return reply


def stop(bus: BusConfig, run_dir: Path, reason: str = "python -m supervisor stop") -> ControlMessage:
    return request(bus, run_dir, StopRequest(reason=reason))
