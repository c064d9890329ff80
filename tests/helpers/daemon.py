"""A real supervisor daemon in a subprocess, on a private run directory, for integration tests.

`running_daemon(toml)` writes a config (short heartbeats, fast backoff) around the given actor
tables, starts `python -m supervisor run`, waits until every actor is running and yields a
`DaemonHandle` to query (`status`, `wait_for`) and stop it; afterwards no child may be left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psutil

from config import load_config
from messages.control import ActorStatus, StatusReply
from supervisor import client

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

FAST_SUPERVISION = """
[supervisor]
heartbeat_interval_s = 0.1
heartbeat_liveness = 8
startup_timeout_s = 20.0
stop_grace_s = 3.0
max_restarts = 5
restart_period_s = 60.0
backoff_initial_s = 0.05
backoff_max_s = 0.5
"""


def write_config(directory: Path, run_dir: Path, body: str, supervision: str = FAST_SUPERVISION) -> Path:
    path = directory / "peper.toml"
    path.write_text(f'[bus]\nrun_dir = "{run_dir}"\n{supervision}\n{textwrap.dedent(body)}')
    return path


def short_run_dir() -> Path:
    """ipc paths must stay under ~100 characters, so run directories live in /tmp, mode 0700."""
    return Path(tempfile.mkdtemp(prefix="pp-", dir="/tmp")) / "run"


def wait_for(condition: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.05) -> T:
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except client.DaemonUnreachable as exc:
            last_error, value = exc, None
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last error: {last_error})")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class DaemonHandle:
    def __init__(self, process: subprocess.Popen[bytes], config_path: Path, run_dir: Path, log_path: Path):
        self.process = process
        self.config_path = config_path
        self.run_dir = run_dir
        self.log_path = log_path
        self.config = load_config(config_path)
        self.seen_pids: set[int] = set()

    def status(self) -> StatusReply:
        reply = client.status(self.config.bus, self.run_dir)
        assert isinstance(reply, StatusReply)
        self.seen_pids.update(actor.pid for actor in reply.actors if actor.pid)
        return reply

    def actor(self, name: str) -> ActorStatus:
        return next(actor for actor in self.status().actors if actor.name == name)

    def wait_for(self, condition: Callable[[], T], timeout_s: float, what: str) -> T:
        return wait_for(condition, timeout_s, what)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout_s: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)


def start_daemon(config_path: Path, run_dir: Path, *extra_args: str) -> DaemonHandle:
    log_path = config_path.parent / "daemon.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", "--config", str(config_path), *extra_args],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return DaemonHandle(process, config_path, run_dir, log_path)


@contextlib.contextmanager
def running_daemon(tmp_path: Path, actors_toml: str, supervision: str = FAST_SUPERVISION) -> Iterator[DaemonHandle]:
    run_dir = short_run_dir()
    config_path = write_config(tmp_path, run_dir, actors_toml, supervision)
    daemon = start_daemon(config_path, run_dir)
    try:
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
