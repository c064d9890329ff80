"""Actors on other hosts, as the daemon sees them: each host's agent link and its actors' stand-ins.

Consumes the agents' control messages (`AgentHello`, `AgentReport`, through the daemon's CURVE
control socket) and the topology's actors placed on a host (`[actors.<name>] host = "NAME"`);
produces `AgentWelcome` (the daemon's config, its sha256 and the run id), `AgentStart` when an
actor's turn in the start order comes (again after its agent reconnects: with a restart count, so
it restores its checkpoint and resyncs), `AgentStop`, and a `RemoteActor` per remote actor that
the daemon supervises like a local one: first start, running, finished, failed, status rows.
Local restarts are the agent's (same budget rules); an agent silent for `[supervisor]
agent_silence_s` is dropped and its actors marked `down` until it reconnects.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from config.schema import ActorSpec, PeperConfig, SupervisorConfig
from messages.control import ActorStatus, AgentHello, AgentReport, AgentStart, AgentStop, AgentWelcome, ControlMessage
from messages.counters import NoCounters
from messages.errors import ActorFailed

log = logging.getLogger("supervisor")
ENDED = ("done", "failed", "stopped", "exited")
Send = Callable[[bytes, ControlMessage], None]


@dataclass
class AgentLink:
    host: str
    identity: bytes
    pid: int
    last_seen: float


class RemoteActor:
    def __init__(self, name: str, spec: ActorSpec, settings: SupervisorConfig, agents: Agents):
        self.name = name
        self.spec = spec
        self.host = spec.host
        self.settings = settings
        self.agents = agents
        self.state = "idle"
        self.restarts_before = 0  # restarts on earlier agent lives, where the next AgentStart counts from
        self.reported: ActorStatus | None = None
        self.started_on: AgentLink | None = None
        self.first_start_done = asyncio.Event()
        self.finished = asyncio.Event()
        self.changed = asyncio.Event()
        self.report_arrived = asyncio.Event()  # stop() waits on it (supervise() clears `changed`)
        self.last_error = ""
        self._wanted = False
        self._stopping = False

    async def supervise(self) -> None:
        """Start it through its host's agent (again whenever the agent comes back) until it ends."""
        self._wanted = True
        waiting_since = time.monotonic()
        try:
            while not self._stopping:
                link = self.agents.links.get(self.host)
                if link is None:
                    self.state = "down" if self.started_on else "waiting for agent"
                    if (
                        not self.first_start_done.is_set()
                        and time.monotonic() - waiting_since > self.settings.agent_wait_s
                    ):
                        raise ActorFailed(
                            self.name,
                            "",
                            f"actor {self.name!r}: no agent for host {self.host!r} "
                            f"connected within {self.settings.agent_wait_s:g} s (start one with "
                            "`python -m supervisor agent` on that host)",
                        )
                elif link is not self.started_on:
                    self._start_on(link)
                elif self.reported is not None:
                    self.state = self.reported.state
                    if self.state == "running":
                        self.first_start_done.set()
                    elif self.state == "failed":
                        self.last_error = self.reported.last_error
                        raise ActorFailed(
                            self.name,
                            self.last_error,
                            f"actor {self.name!r} failed on host {self.host}: {self.last_error or 'no error reported'}",
                        )
                    elif self.state == "done":
                        return
                self.changed.clear()
                try:
                    await asyncio.wait_for(self.changed.wait(), self.settings.heartbeat_interval_s)
                except TimeoutError:
                    pass
        finally:
            self.first_start_done.set()
            self.finished.set()

    def _start_on(self, link: AgentLink) -> None:
        if self.started_on is not None:  # the agent's count includes the starts before it
            self.restarts_before = 1 + (self.reported.restarts if self.reported else self.restarts_before)
        self.started_on, self.reported = link, None
        self.state = "starting"
        log.info("starting %s on host %s (agent pid %d)", self.name, self.host, link.pid)
        self.agents.send(link.identity, AgentStart(actor=self.name, restarts=self.restarts_before))

    def on_report(self, status: ActorStatus) -> None:
        self.reported = status
        self.changed.set()
        self.report_arrived.set()

    def note_ready(self, pid: int) -> None:  # remote actors report through their agent
        pass

    def note_heartbeat(self, beat) -> None:
        pass

    def check_heartbeat(self, now: float) -> None:
        pass

    async def stop(self) -> None:
        self._stopping = True
        self.changed.set()
        link = self.agents.links.get(self.host)
        if link is not None and link is self.started_on:
            self.agents.send(link.identity, AgentStop(actor=self.name, reason="the daemon stops its actors"))
            deadline = time.monotonic() + self.settings.stop_grace_s + 2
            while self.reported is None or self.reported.state not in ENDED:
                self.report_arrived.clear()
                try:
                    await asyncio.wait_for(self.report_arrived.wait(), max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    break
        if self.state not in ("done", "failed"):
            self.state = "stopped"

    def status(self, now: float) -> ActorStatus:
        found = self.reported
        linked = self.agents.links.get(self.host) is self.started_on and self.started_on is not None
        if found is None or not linked:
            return ActorStatus(
                name=self.name,
                host=self.host,
                pid=None,
                state=self.state,
                restarts=self.restarts_before,
                heartbeat_age_s=None,
                uptime_s=None,
                counters=NoCounters(),
                last_error=self.last_error,
            )
        return msgspec.structs.replace(found, host=self.host)


class Agents:
    """The connected agents by host, and the remote actors they run."""

    def __init__(self, config: PeperConfig, run_id: int, send: Send):
        self.config = config
        self.encoded = msgspec.json.encode(config)
        self.sha256 = hashlib.sha256(self.encoded).hexdigest()
        self.run_id = run_id
        self.send = send
        self.links: dict[str, AgentLink] = {}
        self.actors: dict[str, RemoteActor] = {}

    def add(self, actor: RemoteActor) -> None:
        self.actors[actor.name] = actor

    def on_hello(self, identity: bytes, hello: AgentHello) -> AgentWelcome | None:
        if not any(actor.host == hello.host for actor in self.actors.values()):
            log.warning(
                "agent of host %r (pid %d) said hello, but no actor is placed on that host", hello.host, hello.pid
            )
        old = self.links.get(hello.host)
        welcome = AgentWelcome(config=self.encoded, sha256=self.sha256, run_id=self.run_id)
        if old is not None and old.identity == identity and old.pid == hello.pid:
            old.last_seen = time.monotonic()  # a hello queued while it was connecting: the same agent's life
            return welcome
        if old is not None:
            log.warning("agent of host %s reconnected (pid %d -> %d)", hello.host, old.pid, hello.pid)
        self.links[hello.host] = AgentLink(hello.host, identity, hello.pid, time.monotonic())
        log.info("agent of host %s (pid %d) connected", hello.host, hello.pid)
        self._notify(hello.host)
        return welcome

    def on_report(self, identity: bytes, report: AgentReport) -> bool:
        """Take a report; False when it comes from no current agent (it should say hello again)."""
        link = self.links.get(report.host)
        if link is None or link.identity != identity:
            return False
        link.last_seen = time.monotonic()
        for status in report.actors:
            actor = self.actors.get(status.name)
            if actor is not None and actor.host == report.host and actor.started_on is link:
                actor.on_report(status)
        return True

    def check(self, now: float) -> None:
        budget = self.config.supervisor.agent_silence_s
        for host, link in list(self.links.items()):
            if now - link.last_seen > budget:
                del self.links[host]
                log.error(
                    "agent of host %s (pid %d) silent for %.1f s (limit %.1f s): its actors are down until it "
                    "reconnects",
                    host,
                    link.pid,
                    now - link.last_seen,
                    budget,
                )
                self._notify(host)

    def stop_all(self, reason: str) -> None:
        for link in self.links.values():
            self.send(link.identity, AgentStop(reason=reason))

    def _notify(self, host: str) -> None:
        for actor in self.actors.values():
            if actor.host == host:
                actor.changed.set()
