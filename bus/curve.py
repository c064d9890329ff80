"""CURVE keys of the bus: bundles on disk, made once, loaded by the daemon (server) and its clients.

Consumes a key folder; produces key bundles (`make_bundles`) and the keys a socket needs
(`server_keys`, `client_keys`), and applies them to a ZeroMQ socket (`as_server`, `as_client`).
The layout `python -m supervisor keys new DIR --hosts a,b` writes, one bundle per host to copy there:

    DIR/daemon/   broker.key, broker.key_secret, client.key, client.key_secret,
                  authorized/<host>.key for every host (the daemon's own clients included)
    DIR/<host>/   broker.key, client.key, client.key_secret

Key files are pyzmq's certificate format (`zmq.auth`). A secret key file must be private to its
owner (mode 0600, as written here); one readable by others is refused, naming it. Secret keys are
held in memory only by the sockets' options: never logged (`ClientKeys` prints without them),
never written into the run's config or recording (the config holds the folder's path).
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
import zmq.auth

from messages.errors import ConfigError

DAEMON_BUNDLE = "daemon"
BROKER = "broker"
CLIENT = "client"
AUTHORIZED = "authorized"


@dataclass(frozen=True)
class ClientKeys:
    """What a client socket needs: the broker's public key and its own key pair (Z85 bytes)."""

    server_public: bytes
    public: bytes
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class ServerKeys:
    public: bytes
    secret: bytes = field(repr=False)
    authorized: Path = Path()  # the folder of client public keys the daemon accepts


def make_bundles(folder: Path, hosts: list[str]) -> dict[str, Path]:
    """The daemon's bundle and one per host, with fresh keys; returns {bundle name: its folder}."""
    names = [DAEMON_BUNDLE, *hosts]
    bad = [h for h in hosts if not h or h == DAEMON_BUNDLE or not h.replace("-", "").replace("_", "").isalnum()]
    if bad or len(set(names)) != len(names):
        raise ConfigError(
            f"host names {hosts}: each must be letters, digits, - or _, unique, and not {DAEMON_BUNDLE!r}"
        )
    taken = [folder / name for name in names if (folder / name).exists()]
    if taken:
        raise ConfigError(f"{taken[0]} already exists: keys are never overwritten (remove it or choose another folder)")
    previous = os.umask(0o077)  # the secret key files are private from their first byte
    try:
        daemon = folder / DAEMON_BUNDLE
        (daemon / AUTHORIZED).mkdir(parents=True)
        broker_public, _ = zmq.auth.create_certificates(daemon, BROKER)
        for name in names:
            bundle = folder / name
            bundle.mkdir(exist_ok=True)
            if bundle != daemon:
                shutil.copy(broker_public, bundle / f"{BROKER}.key")
            public, _ = zmq.auth.create_certificates(bundle, CLIENT)
            shutil.copy(public, daemon / AUTHORIZED / f"{name}.key")
    finally:
        os.umask(previous)
    for key_file in folder.rglob("*.key"):
        key_file.chmod(0o644)
    return {name: folder / name for name in names}


def client_keys(folder: Path) -> ClientKeys:
    server_public, _ = _load(folder / f"{BROKER}.key", secret=False)
    public, secret = _load(folder / f"{CLIENT}.key_secret", secret=True)
    return ClientKeys(server_public, public, secret)


def server_keys(folder: Path) -> ServerKeys:
    public, secret = _load(folder / f"{BROKER}.key_secret", secret=True)
    authorized = folder / AUTHORIZED
    if not authorized.is_dir() or not any(authorized.glob("*.key")):
        raise ConfigError(f"{authorized}: no authorized client keys (the daemon's bundle from `keys new` has them)")
    return ServerKeys(public, secret, authorized)


def as_client(socket: zmq.Socket[Any], keys: ClientKeys | None) -> None:
    """CURVE client options on `socket` (before it connects); nothing when the bus has no keys."""
    if keys is not None:
        socket.curve_serverkey = keys.server_public
        socket.curve_publickey = keys.public
        socket.curve_secretkey = keys.secret


def as_server(socket: zmq.Socket[Any], keys: ServerKeys | None) -> None:
    """CURVE server options on `socket` (before it binds); nothing when the bus has no keys."""
    if keys is not None:
        socket.curve_publickey = keys.public
        socket.curve_secretkey = keys.secret
        socket.curve_server = True


def _load(path: Path, *, secret: bool) -> tuple[bytes, bytes]:
    if not path.is_file():
        raise ConfigError(f"{path}: key file not found (make keys with `python -m supervisor keys new DIR`)")
    if secret:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"{path}: a secret key readable by others (mode {mode:o}); chmod 600 it")
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{path}: not a CURVE key file ({exc})") from None
    if secret and not secret_key:
        raise ConfigError(f"{path}: holds no secret key")
    return public, secret_key or b""
