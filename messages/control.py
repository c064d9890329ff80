"""The supervisor's control protocol on its ROUTER socket (not the bus).

Actors (DEALER, identity = actor name) send `Ready` once and `Heartbeat` every interval.
Clients (`python -m supervisor status|stop`) send `StatusRequest` or `StopRequest` and get a
`StatusReply` or `Reply`; a host's agent says `AgentHello` and reports its actors (`AgentReport`),
and the daemon welcomes it with the config and tells it which actor to start or stop. Every frame is one msgpack-encoded `ControlMessage`.
"""

from __future__ import annotations

import msgspec

from messages.counters import ActorCounters, NoCounters


class ControlMessage(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type"):
    pass


class Ready(ControlMessage, frozen=True):
    actor: str
    pid: int


class Heartbeat(ControlMessage, frozen=True):
    actor: str
    pid: int
    state: str
    msgs_in: int = 0
    msgs_out: int = 0
    malformed: int = 0
    seq_gaps: int = 0
    duplicates: int = 0
    counters: ActorCounters = msgspec.field(default_factory=NoCounters)


class StatusRequest(ControlMessage, frozen=True):
    pass


class StopRequest(ControlMessage, frozen=True):
    reason: str = "stop requested"


class ActorStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    host: str = ""  # the host the actor runs on ("" = the daemon's)
    pid: int | None  # None while not running
    state: str  # starting, running, backoff, done, stopped, failed
    restarts: int
    heartbeat_age_s: float | None  # None before the first heartbeat
    uptime_s: float | None
    msgs_in: int = 0
    msgs_out: int = 0
    malformed: int = 0
    seq_gaps: int = 0
    duplicates: int = 0
    counters: ActorCounters = msgspec.field(default_factory=NoCounters)
    last_error: str = ""


class StatusReply(ControlMessage, frozen=True):
    daemon_pid: int
    run_dir: str
    uptime_s: float
    actors: list[ActorStatus]
    refused: dict[str, int] = {}  # connections the CURVE gate turned away, by reason
    agents: list[str] = []  # hosts whose agent is connected

    def actor(self, name: str) -> ActorStatus:
        return next(actor for actor in self.actors if actor.name == name)


class Reply(ControlMessage, frozen=True):
    ok: bool
    detail: str = ""


# ----- a host's agent and the daemon (supervisor.agent, supervisor.daemon.remote) ----------------
class AgentHello(ControlMessage, frozen=True):
    host: str
    pid: int


class AgentWelcome(ControlMessage, frozen=True):
    config: bytes  # the daemon's resolved config, JSON
    sha256: str  # of `config`: the agent refuses a config that does not match
    run_id: int


class AgentStart(ControlMessage, frozen=True):
    actor: str
    restarts: int  # starts before this one in this run (> 0: restore its checkpoint and resync)


class AgentStop(ControlMessage, frozen=True):
    actor: str = ""  # "": every actor of the host
    reason: str = ""


class AgentReport(ControlMessage, frozen=True):
    host: str
    actors: list[ActorStatus]  # the agent's actors as its process table sees them (heartbeats forwarded)


class AgentAck(ControlMessage, frozen=True):
    pass


ControlUnion = (
    Ready
    | Heartbeat
    | StatusRequest
    | StopRequest
    | StatusReply
    | Reply
    | AgentHello
    | AgentWelcome
    | AgentStart
    | AgentStop
    | AgentReport
    | AgentAck
)
CONTROL_ENCODER = msgspec.msgpack.Encoder()
CONTROL_DECODER = msgspec.msgpack.Decoder(ControlUnion)
