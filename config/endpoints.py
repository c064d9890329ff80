"""Where the bus lives: the private run directory and the three broker endpoints.

Consumes the `[bus]` section; produces `Endpoints` (publish, subscribe, control addresses) that the
supervisor binds and every actor connects to. ipc sockets live in a run directory of mode 0700.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from config.schema import BusConfig


class Endpoints(msgspec.Struct, frozen=True):
    publish: str    # actors' PUB sockets connect here (the broker's XSUB)
    subscribe: str  # actors' SUB sockets connect here (the broker's XPUB)
    control: str    # heartbeats and commands (the supervisor's ROUTER)


def default_run_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "peper"
    return Path("/tmp") / f"peper-{os.getuid()}"


def resolve_run_dir(bus: BusConfig, override: str | os.PathLike[str] | None = None) -> Path:
    if override:
        return Path(override).absolute()
    return Path(bus.run_dir).absolute() if bus.run_dir else default_run_dir()


def endpoints_for(bus: BusConfig, run_dir: Path) -> Endpoints:
    if bus.transport == "tcp":
        base = f"tcp://{bus.tcp_host}"
        port = bus.tcp_base_port
        return Endpoints(f"{base}:{port}", f"{base}:{port + 1}", f"{base}:{port + 2}")
    return Endpoints(
        f"ipc://{run_dir / 'publish.sock'}",
        f"ipc://{run_dir / 'subscribe.sock'}",
        f"ipc://{run_dir / 'control.sock'}",
    )
