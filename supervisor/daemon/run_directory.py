"""The daemon's private run directory: created 0700, locked against a second daemon, cleaned up.

Consumes a path; produces a locked directory holding `daemon.lock` (the daemon's pid),
`config.json` (the resolved configuration actors read) and the ipc sockets — the layout
`bus.runtime` names, which the actors and the clients share.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
from pathlib import Path

from bus.runtime import (
    CACHE_DIR_NAME,
    CONFIG_FILE_NAME,
    LOCK_FILE_NAME,
    SOCKET_FILE_NAMES,
    read_daemon_pid,
)
from messages.errors import RunDirectoryError


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

    def release(self) -> None:
        """Remove what the daemon put here, then the directory itself if nothing else is left."""
        for name in (CONFIG_FILE_NAME, *SOCKET_FILE_NAMES, LOCK_FILE_NAME):
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.path / CACHE_DIR_NAME, ignore_errors=True)
        if self._lock_handle is not None:
            os.close(self._lock_handle)
            self._lock_handle = None
        try:
            self.path.rmdir()
        except OSError:
            pass
