"""The process table: one supervised OS process per actor, started, watched, restarted, stopped.

Consumes the topology (`[actors]` of peper.toml) and the control messages the daemon routes here
(`Ready`, `Heartbeat`); produces child processes (`python -m <module> --run-dir DIR`), their output
on the daemon's stderr prefixed with the actor name, and `ActorStatus` rows for `status`.

Each actor has one task (`supervise`) that owns its whole life: spawn, wait until ready, wait for
the exit, ask the restart policy, back off, spawn again. A hung actor (no heartbeat for
`heartbeat_liveness` intervals) is killed by `check_heartbeats`, and its task restarts it.
Children run in their own session, so a terminal's Ctrl-C reaches only the daemon, which then
stops them in reverse start order: SIGTERM, and SIGKILL to the whole group after the grace period.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
import time
from pathlib import Path

from bus.runtime import RESTARTS_ENV, RUN_ID_ENV
from common.process import ChildProcess
from common.restart_policy import GAVE_UP_EXIT, RestartBudget, should_restart
from config.schema import ActorSpec, SupervisorConfig
from messages.control import ActorStatus, Heartbeat
from messages.counters import NoCounters
from messages.errors import ActorGaveUp, RestartBudgetExceeded

log = logging.getLogger("supervisor")
_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*|.*: error: .*)$")


class ManagedActor:
    def __init__(self, name: str, spec: ActorSpec, settings: SupervisorConfig, run_dir: Path, run_id: int = 0):
        self.name = name
        self.run_id = run_id
        self.spec = spec
        self.settings = settings
        self.run_dir = run_dir
        self.module = spec.module or f"actors.{name}"
        self.state = "idle"
        self.child = ChildProcess(on_line=self._forward_line, tail_lines=40)
        self.restarts = 0
        self.started_at: float | None = None
        self.last_heartbeat: float | None = None
        self.heartbeat: Heartbeat | None = None
        self.last_error = ""
        self.first_start_done = asyncio.Event()  # ready once, or failed for good
        self.finished = asyncio.Event()  # will not run again (done, stopped or failed)
        self._ready = asyncio.Event()
        self._killed_by_supervisor = False
        self._stopping = False
        self._budget = RestartBudget(
            settings.max_restarts, settings.restart_period_s, settings.backoff_initial_s, settings.backoff_max_s
        )

    # ----- the actor's life -----------------------------------------------------------------
    async def supervise(self) -> None:
        """Run the actor until it is done or stopped; raise RestartBudgetExceeded when it flaps."""
        try:
            while not self._stopping:
                await self._spawn()
                returncode = await self._run_until_exit()
                if self._stopping:
                    break
                reason = describe_exit(returncode)
                if returncode == GAVE_UP_EXIT and not self._killed_by_supervisor:
                    self.state = "failed"
                    raise ActorGaveUp(self.name, self.last_error)
                if not should_restart(self.spec.restart, returncode, self._killed_by_supervisor):
                    self.state = "done" if returncode == 0 else "failed"
                    log.info("%s %s; not restarted (restart = %s)", self.name, reason, self.spec.restart)
                    break
                delay = self._budget.next_delay(time.monotonic())
                if delay is None:
                    self.state = "failed"
                    raise RestartBudgetExceeded(
                        self.name, self.settings.max_restarts, self.settings.restart_period_s, self.last_error
                    )
                self.state = "backoff"
                self.restarts += 1
                log.warning("%s %s; restart %d in %.2f s", self.name, reason, self.restarts, delay)
                await asyncio.sleep(delay)
        finally:
            self.first_start_done.set()
            self.finished.set()

    async def _spawn(self) -> None:
        self._ready.clear()
        self._killed_by_supervisor = False
        self.last_heartbeat = None
        self.heartbeat = None
        self.state = "starting"
        command = [
            sys.executable,
            "-m",
            self.module,
            "--run-dir",
            str(self.run_dir),
            "--name",
            self.name,
            *self.spec.args,
        ]
        pid = await self.child.start(
            command, env={**os.environ, RESTARTS_ENV: str(self.restarts), RUN_ID_ENV: str(self.run_id)}
        )
        self.started_at = time.monotonic()
        log.info("started %s (pid %d)", self.name, pid)

    async def _run_until_exit(self) -> int:
        exit_waiter = asyncio.ensure_future(self.child.wait())
        ready_waiter = asyncio.ensure_future(self._ready.wait())
        try:
            done, _ = await asyncio.wait(
                {exit_waiter, ready_waiter},
                timeout=self.settings.startup_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            ready_waiter.cancel()
        if exit_waiter not in done and ready_waiter not in done:
            self.last_error = f"not ready within {self.settings.startup_timeout_s:g} s"
            log.error("%s %s; killing it", self.name, self.last_error)
            self.kill()
        elif exit_waiter not in done:
            self.state = "running"
            self.first_start_done.set()
        return await exit_waiter  # the exit status, once its last lines were read

    def _forward_line(self, text: str) -> None:
        if _ERROR_LINE.match(text):
            self.last_error = text
        sys.stderr.write(f"[{self.name}] {text}\n")

    # ----- control messages -----------------------------------------------------------------
    def note_ready(self, pid: int) -> None:
        if pid == self.child.pid:
            self.last_heartbeat = time.monotonic()
            self._ready.set()

    def note_heartbeat(self, beat: Heartbeat) -> None:
        if beat.pid == self.child.pid:
            self.last_heartbeat = time.monotonic()
            self.heartbeat = beat

    def check_heartbeat(self, now: float) -> None:
        """Kill a running actor that missed `heartbeat_liveness` heartbeats: it counts as hung."""
        if self.state != "running" or self.last_heartbeat is None or self._stopping:
            return
        budget = self.settings.heartbeat_interval_s * self.settings.heartbeat_liveness
        silent = now - self.last_heartbeat
        if silent > budget:
            self.last_error = f"hung: no heartbeat for {silent:.1f} s (limit {budget:.1f} s)"
            log.error("%s %s; killing it", self.name, self.last_error)
            self.state = "hung"
            self.kill()

    # ----- stopping -------------------------------------------------------------------------
    def kill(self) -> None:
        self._killed_by_supervisor = True
        self.child.kill()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL of the actor's whole process group after the grace period."""
        self._stopping = True
        if self.child.running():
            self.state = "stopping"
        returncode, killed = await self.child.stop(self.settings.stop_grace_s)
        if killed:
            log.warning("%s did not stop within %.1f s; killed it", self.name, self.settings.stop_grace_s)
        if returncode is not None:
            log.info("stopped %s: it %s", self.name, describe_exit(returncode))
        if self.state not in ("done", "failed"):
            self.state = "stopped"

    # ----- reporting ------------------------------------------------------------------------
    def status(self, now: float) -> ActorStatus:
        alive = self.child.running()
        beat = self.heartbeat
        state = self.state if alive or self.state not in ("starting", "running") else "exited"
        return ActorStatus(
            name=self.name,
            pid=self.child.pid if alive else None,
            state=state,
            restarts=self.restarts,
            heartbeat_age_s=None if self.last_heartbeat is None else round(now - self.last_heartbeat, 3),
            uptime_s=round(now - self.started_at, 3) if alive and self.started_at else None,
            msgs_in=beat.msgs_in if beat else 0,
            msgs_out=beat.msgs_out if beat else 0,
            malformed=beat.malformed if beat else 0,
            seq_gaps=beat.seq_gaps if beat else 0,
            duplicates=beat.duplicates if beat else 0,
            counters=beat.counters if beat else NoCounters(),
            last_error=self.last_error,
        )


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"
