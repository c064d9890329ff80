"""A real supervisor daemon in a subprocess, on a private run directory: what tests and benchmarks run.

Consumes a `PeperConfig` (built with `config.build`) and a working directory; writes the config as
TOML there, starts `python -m supervisor run --config FILE`, and yields a `DaemonHandle` to query
(`status`, `actor`, `wait_for`, `log`) and stop; afterwards no actor process may be left. Also the
small helpers both need: `wait_for` a condition, a `free_port`, the pid `listening` on a port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psutil

from bus import runtime
from config.build import FAST_SUPERVISION, configured
from config.schema import PeperConfig
from config.toml import dumps
from messages.control import ActorStatus, StatusReply
from messages.errors import DaemonUnreachable

T = TypeVar("T")


def short_run_dir() -> Path:
    """ipc paths must stay under ~100 characters, so run directories live in /tmp, mode 0700."""
    return Path(tempfile.mkdtemp(prefix="pp-", dir="/tmp")) / "run"


def wait_for(condition: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.05) -> T:
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except DaemonUnreachable as exc:
            last_error, value = exc, None
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last error: {last_error})")


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


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class DaemonHandle:
    def __init__(
        self, process: subprocess.Popen[bytes], config: PeperConfig, config_path: Path, run_dir: Path, log_path: Path
    ):
        self.process = process
        self.config = config
        self.config_path = config_path
        self.run_dir = run_dir
        self.log_path = log_path
        self.seen_pids: set[int] = set()

    def status(self) -> StatusReply:
        reply = runtime.status(self.config.bus, self.run_dir)
        self.seen_pids.update(actor.pid for actor in reply.actors if actor.pid and not actor.host)  # the daemon's own
        return reply

    def actor(self, name: str) -> ActorStatus:
        return self.status().actor(name)

    def wait_for(self, condition: Callable[[], T], timeout_s: float, what: str) -> T:
        """`condition`'s first true value; an AssertionError with the log's end if the daemon exits or time runs out."""

        def met_or_ended() -> T | None:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the daemon exited ({self.process.returncode}) while waiting for {what}:\n{self.log()[-3000:]}"
                )
            return condition()

        try:
            return wait_for(met_or_ended, timeout_s, what)
        except AssertionError as exc:
            if self.process.poll() is None:
                raise AssertionError(f"{exc}; the daemon's log ends:\n{self.log()[-4000:]}") from None
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout_s: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)


def prepared(config: PeperConfig, run_dir: Path, fast: bool = True) -> PeperConfig:
    """The config on a private run directory, with fast supervision unless told otherwise."""
    return configured(config, bus={"run_dir": str(run_dir)}, **({"supervisor": FAST_SUPERVISION} if fast else {}))


def start_daemon(
    workdir: Path,
    config: PeperConfig,
    *extra_args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    wrap: tuple[str, ...] = (),
) -> DaemonHandle:
    """`python -m supervisor run` on `config` (`wrap`: a command it runs under, e.g. `ip netns exec NS`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "peper.toml"
    config_path.write_text(dumps(config))
    log_path = workdir / "daemon.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*wrap, sys.executable, "-m", "supervisor", "run", "--config", str(config_path), *extra_args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env={**os.environ, "PYTHONUNBUFFERED": "1", runtime.DIE_WITH_PARENT_ENV: str(os.getpid()), **(env or {})},
        )
    return DaemonHandle(process, config, config_path, Path(config.bus.run_dir), log_path)


@contextlib.contextmanager
def running_daemon(
    workdir: Path,
    config: PeperConfig,
    *extra_args: str,
    fast: bool = True,
    wait_running: bool = True,
    wrap: tuple[str, ...] = (),
) -> Iterator[DaemonHandle]:
    """A daemon on `config` (its own run directory), every actor running; stopped and checked after."""
    run_dir = short_run_dir()
    daemon = start_daemon(workdir, prepared(config, run_dir, fast), *extra_args, wrap=wrap)
    try:
        if wait_running:
            wait_for(lambda: daemon.process.poll() is not None or _all_running(daemon), 30, "every actor running")
            assert daemon.process.poll() is None, f"daemon exited early:\n{daemon.log()}"
        yield daemon
    finally:
        if daemon.process.poll() is None:
            daemon.terminate()
        shutil.rmtree(run_dir.parent, ignore_errors=True)
        leftovers = [pid for pid in daemon.seen_pids if alive(pid)]
        assert not leftovers, f"actor processes outlived the daemon: {leftovers}\n{daemon.log()}"


def _all_running(daemon: DaemonHandle) -> bool:
    return all(actor.state in ("running", "done") for actor in daemon.status().actors)
