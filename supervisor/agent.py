"""The agent of one host: runs the actors `[actors]` places there, for a daemon on another host.

Consumes the daemon's control address (tcp, CURVE with this host's key bundle from `keys new`) and
what the daemon sends: `AgentWelcome` (its config, whose sha256 is checked), `AgentStart`,
`AgentStop`, `AgentAck`. Produces: a private run directory of its own holding the config its
actors read — the daemon's, with the bus reached over tcp at the daemon's host (CURVE), the
control socket the agent's own, and `[database] path` on this host's disk (`--data`): each actor's
own store (lgbm_ai's models, mistral_ai's cache, checkpoints) is this host's, nothing is shared
with the recorder's disk. The actors run in its process table (`ManagedActor`: same restart budget,
hung actors killed), their heartbeats forwarded to the daemon as `AgentReport`s every interval.
When the daemon says stop, or is silent for `[supervisor] agent_silence_s`, the agent stops its
actors and says hello again until a daemon welcomes it; SIGTERM/SIGINT stop everything and exit 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import time
from pathlib import Path

import msgspec
import zmq
import zmq.asyncio

from bus.curve import as_client, client_keys
from bus.endpoints import bus_address, control_address
from bus.runtime import write_run_config
from config.build import configured
from config.schema import PeperConfig
from messages.control import (
    CONTROL_DECODER,
    CONTROL_ENCODER,
    AgentAck,
    AgentHello,
    AgentReport,
    AgentStart,
    AgentStop,
    AgentWelcome,
    Heartbeat,
    Ready,
)
from messages.errors import ActorFailed, ConfigError
from supervisor.daemon.process_table import ManagedActor
from supervisor.daemon.run_directory import RunDirectory

log = logging.getLogger("agent")
HELLO_EVERY_S = 1.0


class Agent:
    def __init__(self, connect: str, keys: Path, host: str, run_dir: Path, data_dir: Path, model_path: str = ""):
        self.daemon_host, base_port = bus_address(connect)
        if base_port is None:
            raise ConfigError(
                f"--connect {connect!r}: an agent needs the port too, tcp://HOST:PORT ([bus] tcp_base_port)"
            )
        self.connect = control_address(self.daemon_host, base_port)
        self.keys_dir, self.host = keys.absolute(), host
        self.keys = client_keys(self.keys_dir)
        self.run_directory = RunDirectory(run_dir)
        self.data_dir, self.model_path = data_dir.absolute(), model_path
        self.actors: dict[str, ManagedActor] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.stopping = asyncio.Event()

    async def run(self) -> int:
        self.run_directory.acquire()
        context = zmq.asyncio.Context()
        try:
            upstream = context.socket(zmq.DEALER)
            upstream.setsockopt(zmq.LINGER, 0)
            as_client(upstream, self.keys)
            upstream.connect(self.connect)
            local = context.socket(zmq.ROUTER)
            local.setsockopt(zmq.LINGER, 0)
            local.bind(f"ipc://{self.run_directory.path / 'control.sock'}")
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.stopping.set)
            serving_local = asyncio.ensure_future(self._serve_local(local))
            log.info("agent of host %s (pid %d): connecting to %s", self.host, os.getpid(), self.connect)
            while not self.stopping.is_set():
                welcome = await self._hello(upstream)
                if welcome is None:
                    break
                config = self._adopt(welcome)
                await self._serve(upstream, config, welcome.run_id)
                await self._stop_actors()
            serving_local.cancel()
            return 0
        finally:
            await self._stop_actors()
            context.destroy(linger=0)
            self.run_directory.release()

    async def _hello(self, upstream: zmq.asyncio.Socket) -> AgentWelcome | None:
        """Say hello until a daemon welcomes this host (None: stopped first)."""
        said = 0
        while not self.stopping.is_set():
            upstream.send(CONTROL_ENCODER.encode(AgentHello(host=self.host, pid=os.getpid())))
            said += 1
            if said == 10:
                log.warning(
                    "no answer from %s yet (a wrong server key or an unauthorized client key is refused "
                    "without an answer); still trying",
                    self.connect,
                )
            deadline = time.monotonic() + HELLO_EVERY_S
            while (remaining := deadline - time.monotonic()) > 0 and not self.stopping.is_set():
                if await upstream.poll(int(remaining * 1000)):
                    message = CONTROL_DECODER.decode(await upstream.recv())
                    if isinstance(message, AgentWelcome):
                        return message
        return None

    def _adopt(self, welcome: AgentWelcome) -> PeperConfig:
        """The daemon's config, checked, made this host's, written where the actors read it."""
        found = hashlib.sha256(welcome.config).hexdigest()
        if found != welcome.sha256:
            raise ConfigError(f"the config from {self.connect} does not match its sha256 ({found} != {welcome.sha256})")
        config = msgspec.json.decode(welcome.config, type=PeperConfig)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        mistral = {"model_path": self.model_path} if self.model_path else {}
        config = configured(
            config,
            bus={
                "connect_host": self.daemon_host,
                "curve_keys": str(self.keys_dir),
                "local_control": True,
                "transport": "ipc",
                "run_dir": str(self.run_directory.path),
            },
            database={"path": str(self.data_dir / Path(config.database.path).name)},
            mistral={**msgspec.to_builtins(config.mistral), **mistral},
        )
        write_run_config(self.run_directory.path, config)
        mine = sorted(name for name, spec in config.actors.items() if spec.host == self.host and spec.enabled)
        log.info(
            "welcomed by the daemon (config %s…, run %d): this host runs %s",
            welcome.sha256[:12],
            welcome.run_id,
            ", ".join(mine) or "no actor",
        )
        return config

    async def _serve(self, upstream: zmq.asyncio.Socket, config: PeperConfig, run_id: int) -> None:
        """Start and stop actors as the daemon says, report them, until it stops us or falls silent."""
        settings = config.supervisor
        silence = settings.agent_silence_s
        heard = time.monotonic()
        next_report = 0.0
        while not self.stopping.is_set():
            now = time.monotonic()
            if now >= next_report:
                for actor in self.actors.values():
                    actor.check_heartbeat(now)
                upstream.send(CONTROL_ENCODER.encode(AgentReport(host=self.host, actors=self._statuses(now))))
                next_report = now + settings.heartbeat_interval_s
            if now - heard > silence:
                log.error(
                    "the daemon at %s is silent for %.1f s (limit %.1f s): stopping this host's actors",
                    self.connect,
                    now - heard,
                    silence,
                )
                return
            if not await upstream.poll(int(max(0.0, next_report - time.monotonic()) * 1000) + 1):
                continue
            message = CONTROL_DECODER.decode(await upstream.recv())
            heard = time.monotonic()
            match message:
                case AgentStart(actor=name, restarts=restarts):
                    self._start(config, run_id, name, restarts)
                case AgentStop(actor=""):
                    log.info("the daemon says stop (%s)", message.reason)
                    return
                case AgentStop(actor=name):
                    if name in self.actors:
                        await self.actors[name].stop()
                case AgentAck() | AgentWelcome():
                    pass

    def _start(self, config: PeperConfig, run_id: int, name: str, restarts: int) -> None:
        spec = config.actors.get(name)
        if spec is None or spec.host != self.host:
            log.error("the daemon asked for %s, which [actors] does not place on host %s", name, self.host)
            return
        old = self.tasks.get(name)
        if old is not None and not old.done():
            return  # already running this life
        actor = ManagedActor(name, spec, config.supervisor, self.run_directory.path, run_id)
        actor.restarts = restarts
        self.actors[name] = actor
        self.tasks[name] = asyncio.ensure_future(self._supervise(actor))

    async def _supervise(self, actor: ManagedActor) -> None:
        try:
            await actor.supervise()
        except ActorFailed as exc:
            actor.last_error = actor.last_error or str(exc)
            log.error("%s", exc)

    def _statuses(self, now: float):
        return [actor.status(now) for actor in self.actors.values()]

    async def _serve_local(self, local: zmq.asyncio.Socket) -> None:
        """Ready and heartbeats of this host's actors, into the process table."""
        while True:
            frames = await local.recv_multipart()
            if len(frames) != 2:
                continue
            try:
                message = CONTROL_DECODER.decode(frames[1])
            except msgspec.DecodeError:
                continue
            match message:
                case Ready(actor=name, pid=pid) if name in self.actors:
                    self.actors[name].note_ready(pid)
                case Heartbeat(actor=name) if name in self.actors:
                    self.actors[name].note_heartbeat(message)

    async def _stop_actors(self) -> None:
        for actor in reversed(list(self.actors.values())):
            await actor.stop()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.actors.clear()
        self.tasks.clear()
