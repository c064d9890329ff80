"""CURVE on the bus, with a real daemon listening on tcp: an authorized client is served; an unknown
key, a client without CURVE and a wrong server key get nothing and are counted; keys are private
files and never reach the log."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq

from bus.curve import client_keys, make_bundles
from bus.runtime import request
from config.build import configured, topology
from config.toml import dumps
from messages.control import StatusRequest
from messages.errors import ConfigError, DaemonUnreachable
from supervisor.harness import free_port, running_daemon

RECEIVE_S = 2.0


def received(address: str, *, keys=None, server_key: bytes | None = None, plain: bool = False) -> int:
    """Frames a SUB socket receives from `address` in RECEIVE_S."""
    context = zmq.Context()
    socket = context.socket(zmq.SUB)
    try:
        if not plain:
            public, secret = keys if keys is not None else zmq.curve_keypair()
            socket.curve_publickey, socket.curve_secretkey = public, secret
            socket.curve_serverkey = server_key
        socket.setsockopt(zmq.SUBSCRIBE, b"")
        socket.connect(address)
        count = 0
        ends = time.monotonic() + RECEIVE_S
        while (left := ends - time.monotonic()) > 0:
            if socket.poll(int(left * 1000) + 1):
                socket.recv()
                count += 1
        return count
    finally:
        socket.close(linger=0)
        context.term()


@pytest.fixture
def bundles(tmp_path) -> dict[str, Path]:
    return make_bundles(tmp_path / "keys", ["b"])


def test_keys_are_private_files_and_a_readable_secret_is_refused(bundles, tmp_path):
    for secret in (tmp_path / "keys").rglob("*.key_secret"):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    assert sorted(p.name for p in (bundles["daemon"] / "authorized").iterdir()) == ["b.key", "daemon.key"]
    assert not list(bundles["b"].glob("broker.key_secret"))  # a host never holds the broker's secret
    (bundles["b"] / "client.key_secret").chmod(0o644)
    with pytest.raises(ConfigError, match="client.key_secret: a secret key readable by others"):
        client_keys(bundles["b"])
    made = subprocess.run(
        [sys.executable, "-m", "supervisor", "keys", "new", str(tmp_path / "cli"), "--hosts", "gpu1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0 and "gpu1" in made.stdout and "secret-key" not in made.stdout
    assert (tmp_path / "cli/gpu1/client.key_secret").is_file()


def test_only_authorized_keys_get_frames_and_every_refusal_is_counted(bundles, tmp_path):
    port = free_port()
    config = configured(
        actors=topology("sink", pulse={"after": ["sink"], "args": ["--rate", "200"]}),
        bus={"transport": "tcp", "tcp_host": "127.0.0.1", "tcp_base_port": port, "curve_keys": str(bundles["daemon"])},
    )
    subscribe = f"tcp://127.0.0.1:{port + 1}"
    host = client_keys(bundles["b"])
    with running_daemon(tmp_path, config) as daemon:
        assert received(subscribe, keys=(host.public, host.secret), server_key=host.server_public) > 20
        assert received(subscribe, server_key=host.server_public) == 0  # an unknown client key
        assert received(subscribe, plain=True) == 0  # no CURVE at all
        wrong_server = zmq.curve_keypair()[0]
        assert received(subscribe, keys=(host.public, host.secret), server_key=wrong_server) == 0
        remote = configured(config, bus={"connect_host": "127.0.0.1", "curve_keys": str(bundles["b"])}).bus
        request(remote, daemon.run_dir, StatusRequest())  # the right keys are answered
        wrong = tmp_path / "wrong"
        make_bundles(wrong, ["b"])
        stranger = configured(config, bus={"connect_host": "127.0.0.1", "curve_keys": str(wrong / "b")}).bus
        with pytest.raises(DaemonUnreachable, match="did not answer"):
            request(stranger, daemon.run_dir, StatusRequest(), timeout_s=1.0)  # its broker key is not this daemon's
        monitor = subprocess.run(
            [
                sys.executable,
                "-m",
                "supervisor",
                "monitor",
                "--once",
                "--connect",
                f"tcp://127.0.0.1:{port}",
                "--keys",
                str(bundles["b"]),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "120", "LINES": "40"},
            check=False,
        )
        assert monitor.returncode == 0 and "pulse" in monitor.stdout and "sink" in monitor.stdout, monitor.stderr
        refused = daemon.wait_for(
            lambda: (
                (r := request(daemon.config.bus, daemon.run_dir, StatusRequest()).refused).get("unknown key", 0) >= 1
                and r.get("handshake failed", 0) >= 2
                and r
            ),
            10,
            "the refusals counted",
        )
        log = daemon.log()
    assert "refused a connection from 127.0.0.1" in log and "is not authorized" in log
    assert refused["unknown key"] >= 1 and refused["handshake failed"] >= 2
    secrets = [
        line.split('"')[1]
        for path in (tmp_path / "keys").rglob("*.key_secret")
        for line in path.read_text().splitlines()
        if "secret-key" in line
    ]
    assert len(secrets) == 3 and not any(secret in log for secret in secrets)


def test_tcp_beyond_loopback_without_keys_is_refused_in_one_line(tmp_path):
    config = configured(actors=topology("sink"), bus={"transport": "tcp", "tcp_host": "0.0.0.0"})
    path = tmp_path / "peper.toml"
    path.write_text(dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "run", "--config", str(path), "--run-dir", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "[bus] tcp_host = '0.0.0.0' leaves this host: set [bus] curve_keys" in result.stderr
