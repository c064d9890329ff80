"""The daemon's private run directory: created 0700, locked against a second daemon, cleaned up.

Consumes a path; produces a locked directory holding `daemon.lock` (the daemon's pid),
`config.json` (the resolved configuration actors read) and the ipc sockets.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

import msgspec

from actors.base import CONFIG_FILE_NAME
from config.schema import PeperConfig

LOCK_FILE_NAME = "daemon.lock"


class RunDirectoryError(Exception):
    """The run directory cannot be used; the message says why and what to do."""


class RunDirectory:
    def __init__(self, path: Path):
        self.path = path
        self._lock_handle: int | None = None

    def acquire(self) -> None:
        """Create (0700) and lock the directory, or refuse with a clear reason."""
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirectoryError(f"cannot create run directory {self.path}: {exc.strerror}") from exc
        info = self.path.stat()
        if info.st_uid != os.getuid():
            raise RunDirectoryError(f"run directory {self.path} belongs to another user (uid {info.st_uid})")
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise RunDirectoryError(
                f"run directory {self.path} is open to other users (mode {stat.S_IMODE(info.st_mode):o}); "
                "use chmod 700 or another bus.run_dir"
            )
        handle = os.open(self.path / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(handle)
            owner = read_daemon_pid(self.path)
            raise RunDirectoryError(
                f"another supervisor (pid {owner}) is already running on {self.path}; "
                "stop it with `python -m supervisor stop` or choose another bus.run_dir"
            ) from exc
        os.ftruncate(handle, 0)
        os.write(handle, str(os.getpid()).encode())
        self._lock_handle = handle

    def write_config(self, config: PeperConfig) -> None:
        target = self.path / CONFIG_FILE_NAME
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(msgspec.json.encode(config))
        temporary.replace(target)

    def release(self) -> None:
        """Remove what the daemon put here, then the directory itself if nothing else is left."""
        for name in (CONFIG_FILE_NAME, "publish.sock", "subscribe.sock", "control.sock", LOCK_FILE_NAME):
            (self.path / name).unlink(missing_ok=True)
        if self._lock_handle is not None:
            os.close(self._lock_handle)
            self._lock_handle = None
        try:
            self.path.rmdir()
        except OSError:
            pass


def read_daemon_pid(path: Path) -> int | None:
    try:
        return int((path / LOCK_FILE_NAME).read_text().strip())
    except (OSError, ValueError):
        return None


def daemon_is_running(path: Path) -> bool:
    """True while some process holds the run directory's lock."""
    try:
        handle = os.open(path / LOCK_FILE_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)
    return False
