"""One owner for every child process Peper starts: the actors (the daemon's) and the LLM's server.

Consumes a command line and its environment; produces a child in its own session (so a terminal's
Ctrl-C reaches only the parent, and a signal to the group reaches whatever the child started), its
output read line by line (the last lines kept for error messages, each handed to `on_line`), its
exit status, and the one way to end it: `stop` sends SIGCONT and SIGTERM to the group (a stopped
child cannot act on SIGTERM), waits the grace period, then SIGKILLs the group; `kill` is the
SIGKILL alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import deque
from collections.abc import Callable

OUTPUT_DRAIN_S = 1.0  # after the exit, how long the last lines may take to be read


class ChildProcess:
    def __init__(self, on_line: Callable[[str], None] | None = None, tail_lines: int = 40):
        self.process: asyncio.subprocess.Process | None = None
        self.output: deque[str] = deque(maxlen=tail_lines)
        self._on_line = on_line
        self._pump: asyncio.Task[None] | None = None

    async def start(self, command: list[str], env: dict[str, str] | None = None) -> int:
        """Start `command` (stdout and stderr read together); return its pid."""
        self.output.clear()
        self.process = await asyncio.create_subprocess_exec(
            *command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._pump = asyncio.create_task(self._read_output(self.process))  # held: tasks are weakly referenced
        return self.process.pid

    async def _read_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            self.output.append(text)
            if self._on_line is not None:
                self._on_line(text)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def wait(self) -> int:
        """The exit status, once the child exited and its last lines were read (a grandchild that
        keeps the pipe open is given `OUTPUT_DRAIN_S`)."""
        assert self.process is not None, "wait() before start()"
        returncode = await self.process.wait()
        if self._pump is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._pump), OUTPUT_DRAIN_S)
            except TimeoutError:
                pass
        return returncode

    def last_line(self, limit: int = 300) -> str:
        lines = [line for line in self.output if line.strip()]
        return lines[-1][:limit] if lines else "no output"

    def signal_group(self, signum: int) -> None:
        """`signum` to the child's whole process group, if it still runs."""
        if self.process is None or self.process.returncode is not None:
            return
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL to the group, even after the child exited: what it started and left behind goes too."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    async def stop(self, grace_s: float) -> tuple[int | None, bool]:
        """SIGCONT and SIGTERM to the group, SIGKILL after `grace_s`; (exit status, whether it had to
        be killed). (None, False) when it was never started."""
        if self.process is None:
            return None, False
        killed = False
        if self.process.returncode is None:
            self.signal_group(signal.SIGCONT)
            self.signal_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace_s)
            except TimeoutError:
                killed = True
        self.kill()
        return await self.wait(), killed
