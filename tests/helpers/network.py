"""Local ports for test servers: a free one to bind, and which process listens on one."""

from __future__ import annotations

import socket

import psutil


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_pid(port: int) -> int | None:
    """The pid of the process listening on 127.0.0.1:`port`, or None."""
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN:
            return connection.pid
    return None
