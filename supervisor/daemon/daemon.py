"""The supervisor daemon: broker, control socket and process table in one asyncio process.

Consumes a `PeperConfig`; produces a running topology. It locks a private run directory, writes
the resolved config there for the actors, starts the broker thread, binds the control ROUTER (ipc,
and tcp with `transport = "tcp"`; CURVE and the gatekeeper when the bus has keys), starts the
actors in dependency order (each must be ready before the next starts; an actor placed on another
host through that host's agent, `supervisor.daemon.remote`), answers `status`/`stop`, kills hung
actors, and stops everything in reverse order on SIGTERM, SIGINT, `stop`, the end of a finite run
(`exit_at_end`) or a spent restart budget (exit status 1).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path

import msgspec
import zmq
import zmq.asyncio

from bus.curve import as_server
from bus.endpoints import bound_endpoints, server_keys_for
from bus.runtime import write_run_config
from common.priority import realtime_io_threads
from config.schema import PeperConfig
from config.topology import broker_realtime_priority, topology_of
from messages.control import (
    CONTROL_DECODER,
    CONTROL_ENCODER,
    AgentAck,
    AgentHello,
    AgentReport,
    AgentStop,
    ControlMessage,
    Heartbeat,
    Ready,
    Reply,
    StatusReply,
    StatusRequest,
    StopRequest,
)
from messages.errors import ActorFailed, BindError, DaemonError
from supervisor.daemon.broker import Broker
from supervisor.daemon.gatekeeper import Gatekeeper
from supervisor.daemon.process_table import ManagedActor
from supervisor.daemon.remote import Agents, RemoteActor
from supervisor.daemon.run_directory import RunDirectory

log = logging.getLogger("supervisor")


class Daemon:
    def __init__(self, config: PeperConfig, run_dir: Path, *, exit_at_end: bool = False, handle_signals: bool = True):
        self.config = config
        self.handle_signals = handle_signals  # False when the caller owns SIGINT/SIGTERM (e.g. `train`)
        self.run_directory = RunDirectory(run_dir)
        self.endpoints = bound_endpoints(config.bus, run_dir)
        self.keys = server_keys_for(config.bus)
        self.exit_at_end = exit_at_end
        self.order = topology_of(config).order
        self.run_id = time.time_ns()
        self.agents = Agents(config, self.run_id, self._send)
        self.actors: dict[str, ManagedActor | RemoteActor] = {}
        for name in self.order:
            spec = config.actors[name]
            if spec.host:
                self.actors[name] = RemoteActor(name, spec, config.supervisor, self.agents)
                self.agents.add(self.actors[name])
            else:
                self.actors[name] = ManagedActor(name, spec, config.supervisor, run_dir, self.run_id)
        self._control: zmq.asyncio.Socket | None = None
        self.gatekeeper: Gatekeeper | None = None
        self.started_at = time.monotonic()
        self._stop_requested: asyncio.Event | None = None
        self._stop_reason = ""

    async def run(self) -> None:
        """Run until stopped; raise DaemonError when the topology cannot be kept alive."""
        self._stop_requested = asyncio.Event()
        self.run_directory.acquire()
        context = zmq.asyncio.Context()
        realtime = broker_realtime_priority(self.config)
        if realtime and not realtime_io_threads(log, context, realtime):  # the I/O threads carry the broker's frames
            realtime = 0  # and the actors would be refused too: one warning here instead of one from each of them
            supervisor = msgspec.structs.replace(self.config.supervisor, realtime_priority=0)
            self.config = msgspec.structs.replace(self.config, supervisor=supervisor)
        broker: Broker | None = None
        supervisors: list[asyncio.Task[None]] = []
        try:
            write_run_config(self.run_directory.path, self.config)
            if self.keys is not None:
                self.gatekeeper = Gatekeeper(context, self.keys)
            broker = Broker(
                zmq.Context.shadow(context.underlying), self.endpoints, self.config.bus.hwm, self.keys, realtime
            )
            control = self._bind_control(context)
            if self.gatekeeper is not None:
                for socket, name in (*zip(broker.sockets, ("publish", "subscribe")), (control, "control")):
                    self.gatekeeper.watch(socket, name)
            broker.start()
            self._control = control
            if self.handle_signals:
                self._install_signal_handlers()
            control_task = asyncio.ensure_future(self._serve_control(control))
            watchdog_task = asyncio.ensure_future(self._watch_heartbeats())
            log.info(
                "supervisor %d on %s: starting %s",
                os.getpid(),
                self.run_directory.path,
                ", ".join(self.order) or "no actors",
            )
            failure = await self._start_and_watch(supervisors)
            await self._stop_actors(supervisors)
            control_task.cancel()
            watchdog_task.cancel()
            await asyncio.gather(control_task, watchdog_task, return_exceptions=True)
            if failure is not None:
                raise DaemonError(str(failure)) from failure
            log.info("supervisor stopped: %s", self._stop_reason)
        finally:
            for task in supervisors:
                task.cancel()
            if broker is not None:
                broker.stop()
            if self.gatekeeper is not None:
                self.gatekeeper.stop()
            if self._control is not None:
                self._control.close()  # with its LINGER: what it queued (the agents' stop) goes out first
            context.destroy(linger=0)
            self.run_directory.release()

    # ----- actors ---------------------------------------------------------------------------
    async def _start_and_watch(self, supervisors: list[asyncio.Task[None]]) -> ActorFailed | None:
        """Start in order, then wait for a stop request, the end, or a failure."""
        stop_waiter = asyncio.ensure_future(self._stop_requested.wait())
        try:
            for name in self.order:
                actor = self.actors[name]
                supervisors.append(asyncio.ensure_future(actor.supervise()))
                first_start = asyncio.ensure_future(actor.first_start_done.wait())
                await asyncio.wait({first_start, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
                first_start.cancel()
                failure = _first_failure(supervisors)
                if failure is not None or self._stop_requested.is_set():
                    return failure
            end_waiter = asyncio.ensure_future(self._wait_for_end())
            try:
                while True:
                    running = [task for task in supervisors if not task.done()]
                    done, _ = await asyncio.wait(
                        {stop_waiter, end_waiter, *running}, return_when=asyncio.FIRST_COMPLETED
                    )
                    failure = _first_failure(supervisors)
                    if failure is not None or stop_waiter in done:
                        return failure
                    if end_waiter in done:
                        self._stop_reason = "every finite actor finished (--exit-at-end)"
                        return None
            finally:
                end_waiter.cancel()
        finally:
            stop_waiter.cancel()

    async def _wait_for_end(self) -> None:
        finite = [actor for actor in self.actors.values() if actor.spec.restart == "transient"]
        if not self.exit_at_end or not finite:
            await asyncio.Event().wait()  # runs until stopped
        for actor in finite:
            await actor.finished.wait()

    async def _stop_actors(self, supervisors: list[asyncio.Task[None]]) -> None:
        for name in reversed(self.order):
            await self.actors[name].stop()
        self.agents.stop_all(self._stop_reason or "the daemon stops")
        await asyncio.gather(*supervisors, return_exceptions=True)

    async def _watch_heartbeats(self) -> None:
        interval = self.config.supervisor.heartbeat_interval_s / 2
        due = time.monotonic() + interval
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            stalled, due = now - due > interval, now + interval
            if stalled:  # the daemon itself did not run (stopped, starved): read the beats queued meanwhile first
                continue
            for actor in self.actors.values():
                actor.check_heartbeat(now)
            self.agents.check(now)

    # ----- control socket -------------------------------------------------------------------
    def _bind_control(self, context: zmq.asyncio.Context) -> zmq.asyncio.Socket:
        control = context.socket(zmq.ROUTER)
        control.setsockopt(zmq.LINGER, 100)
        as_server(control, self.keys)
        for endpoints in self.endpoints:
            try:
                control.bind(endpoints.control)
            except zmq.ZMQError as exc:
                control.close(linger=0)
                raise BindError(
                    f"cannot bind the control socket at {endpoints.control}: {zmq.strerror(exc.errno)}"
                ) from exc
        return control

    def _send(self, identity: bytes, message: ControlMessage) -> None:
        """A message to one peer of the control socket (an agent), without waiting."""
        if self._control is not None:
            try:
                self._control.send_multipart([identity, CONTROL_ENCODER.encode(message)], flags=zmq.NOBLOCK)
            except zmq.ZMQError as exc:
                log.warning("control: could not send %s: %s", type(message).__name__, zmq.strerror(exc.errno))

    async def _serve_control(self, control: zmq.asyncio.Socket) -> None:
        while True:
            frames = await control.recv_multipart()
            if len(frames) != 2:
                log.warning("control: dropped a message of %d frames (expected 2)", len(frames))
                continue
            identity, payload = frames
            try:
                message = CONTROL_DECODER.decode(payload)
            except msgspec.DecodeError as exc:
                log.warning("control: dropped an undecodable message: %s", exc)
                continue
            reply = self._handle_control(message, identity)
            if reply is not None:
                await control.send_multipart([identity, CONTROL_ENCODER.encode(reply)])

    def _handle_control(self, message: object, identity: bytes = b"") -> object | None:
        match message:
            case AgentHello():
                return self.agents.on_hello(identity, message)
            case AgentReport():
                return AgentAck() if self.agents.on_report(identity, message) else AgentStop(reason="say hello again")
            case Heartbeat(actor=name):
                if name in self.actors:
                    self.actors[name].note_heartbeat(message)
            case Ready(actor=name, pid=pid):
                if name in self.actors:
                    self.actors[name].note_ready(pid)
            case StatusRequest():
                now = time.monotonic()
                return StatusReply(
                    daemon_pid=os.getpid(),
                    run_dir=str(self.run_directory.path),
                    uptime_s=round(now - self.started_at, 3),
                    actors=[self.actors[name].status(now) for name in self.order],
                    refused=dict(self.gatekeeper.refused) if self.gatekeeper else {},
                    agents=sorted(self.agents.links),
                )
            case StopRequest(reason=reason):
                self.request_stop(reason)
                return Reply(ok=True, detail="stopping")
            case _:
                log.warning("control: dropped an unexpected %s", type(message).__name__)
        return None

    # ----- stopping -------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        if not self._stop_requested.is_set():
            self._stop_reason = reason
            log.info("stopping: %s", reason)
            self._stop_requested.set()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop, f"received {signal.Signals(signum).name}")


def _first_failure(supervisors: list[asyncio.Task[None]]) -> ActorFailed | None:
    for task in supervisors:
        if task.done() and not task.cancelled():
            error = task.exception()
            if isinstance(error, ActorFailed):
                return error
            if error is not None:
                raise error
    return None
