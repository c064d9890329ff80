"""Where the bus lives: the private run directory and the three broker endpoints.

Consumes the `[bus]` section; produces the `Endpoints` (publish, subscribe, control addresses) a
client connects to, the ones the daemon binds, and the CURVE keys each side uses (`bus.curve`).
ipc sockets live in a run directory of mode 0700 and the daemon always binds them; with
`transport = "tcp"` it binds tcp as well, for agents and clients on other hosts (`connect_host`).
tcp beyond the loopback interface only with CURVE keys: refused otherwise, naming the key.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from bus.curve import ClientKeys, ServerKeys, client_keys, server_keys
from config.schema import BusConfig
from messages.errors import ConfigError

SOCKETS = ("publish.sock", "subscribe.sock", "control.sock")


class Endpoints(msgspec.Struct, frozen=True):
    publish: str  # actors' PUB sockets connect here (the broker's XSUB)
    subscribe: str  # actors' SUB sockets connect here (the broker's XPUB)
    control: str  # heartbeats and commands (the supervisor's ROUTER)


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
    """The addresses a client connects to: the run directory's ipc sockets, or the daemon's tcp ones at
    `connect_host` (with `local_control`, the control socket stays the run directory's: an agent's)."""
    ipc = [f"ipc://{run_dir / name}" for name in SOCKETS]
    if not bus.connect_host:
        return Endpoints(*ipc)
    _needs_keys(bus, bus.connect_host, "connect_host")
    tcp = _tcp(bus.connect_host, bus.tcp_base_port)
    return Endpoints(tcp[0], tcp[1], ipc[2] if bus.local_control else tcp[2])


def bound_endpoints(bus: BusConfig, run_dir: Path) -> list[Endpoints]:
    """What the daemon binds: the run directory's ipc sockets, and with transport tcp its tcp ones."""
    found = [Endpoints(*(f"ipc://{run_dir / name}" for name in SOCKETS))]
    if bus.transport == "tcp":
        _needs_keys(bus, bus.tcp_host, "tcp_host")
        found.append(Endpoints(*_tcp(bus.tcp_host, bus.tcp_base_port)))
    return found


def client_keys_for(bus: BusConfig) -> ClientKeys | None:
    return client_keys(Path(bus.curve_keys)) if bus.curve_keys else None


def server_keys_for(bus: BusConfig) -> ServerKeys | None:
    return server_keys(Path(bus.curve_keys)) if bus.curve_keys else None


def control_keys_for(bus: BusConfig) -> ClientKeys | None:
    """The control socket is the daemon's (CURVE with keys) unless it is an agent's local one."""
    return None if bus.local_control else client_keys_for(bus)


def bus_address(text: str) -> tuple[str, int | None]:
    """`--connect tcp://HOST[:PORT]` (PORT: the daemon's [bus] tcp_base_port) as (host, port or None)."""
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme != "tcp" or not parts.hostname or port == -1 or parts.path not in ("", "/"):
        raise ConfigError(
            f"--connect {text!r}: expected the daemon's bus address, tcp://HOST[:PORT] (PORT: its [bus] tcp_base_port)"
        )
    return parts.hostname, port


def control_address(host: str, base_port: int) -> str:
    """The daemon's control socket at `host` for a bus at `base_port`."""
    return _tcp(host, base_port)[2]


def _tcp(host: str, port: int) -> list[str]:
    base = f"tcp://[{host}]" if ":" in host else f"tcp://{host}"
    return [f"{base}:{port + offset}" for offset in range(3)]


def _needs_keys(bus: BusConfig, host: str, key: str) -> None:
    if bus.curve_keys or _loopback(host):
        return
    raise ConfigError(
        f"[bus] {key} = {host!r} leaves this host: set [bus] curve_keys to a key bundle "
        "(`python -m supervisor keys new DIR`) so the bus authenticates and encrypts"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
