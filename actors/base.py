"""The actor: one asyncio (uvloop) process on the bus, watched by the supervisor.

Consumes frames on the topics an actor subscribes to and calls its `on_<message_type>` handlers
(`on_kline_batch(topic, message)` for a `KlineBatch`); produces what it publishes, its lifecycle on
`sys.lifecycle`, and `Ready`/`Heartbeat` (with its typed counters) on the supervisor's control
socket. The parts live in `actors.runtime`; this class puts them together:

- Start-up: subscribe, then publish `_hello.<name>` until the own hello comes back through the
  broker — proof that the subscriptions are in place (no sleep against slow joiners) — and only
  then tell the supervisor it is ready and call `on_running`. Stop: SIGTERM or SIGINT ends it in
  order; the death of the supervisor ends it too (PR_SET_PDEATHSIG).
- Bad input: malformed frames are counted, logged (rate-limited) and dropped; duplicates too. An
  exception in a handler is a broken invariant: the actor publishes `faulted` and exits non-zero,
  and the supervisor restarts it.
- Replay without loss (DESIGN.md §3): an actor that publishes data topics keeps those frames in an
  `Outbox` until every acknowledger has them; checkpoints, restores and resyncs are its `recovery`'s
  (`actors.runtime.recovery`), its LMDB environments its `stores`' (`actors.runtime.stores`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Coroutine
from typing import Any, ClassVar

import msgspec
import zmq

from actors.runtime.handlers import handlers_of
from actors.runtime.heartbeat import heartbeat_loop
from actors.runtime.lifecycle import Lifecycle
from actors.runtime.lineage import Lineage
from actors.runtime.outbox import Outbox
from actors.runtime.recovery import Recovery
from actors.runtime.sequence import ACCEPT, GATED, SequenceTracker
from actors.runtime.sockets import BusSockets, prove_route, receive_loop
from actors.runtime.stores import ActorStores
from actors.runtime.tasks import Tasks
from bus.endpoints import Endpoints
from bus.runtime import RUN_ID_ENV, restarts_from_environment
from config.schema import PeperConfig
from config.topology import topology_of
from messages import topics
from messages.codec import BusMessage, Codec
from messages.control import CONTROL_ENCODER, Heartbeat, Ready
from messages.counters import Counters, NoCounters
from messages.errors import MalformedFrame
from messages.market import Clock
from messages.system import Ack, ErrorEvent, Hello, LifecycleState, Resync
from messages.system import Lifecycle as LifecycleEvent

_LOG_EVERY = 1000


class Actor:
    """Base of every actor: set `subscriptions`, write handlers, call `publish`.

    Subclasses may override `on_start`, `on_running`, `on_stop` and `add_arguments`, start
    background work with `spawn`, and end with `finish()` (exit status 0: the job is done).
    """

    subscriptions: ClassVar[tuple[str, ...]] = ()
    side_subscriptions: ClassVar[tuple[str, ...]] = ()  # read by a loop of their own (see runtime.sockets)
    Counters: ClassVar[type[Counters]] = NoCounters
    keeps_outbox: ClassVar[bool] = False  # publishes data topics other actors resync from
    durable_outbox: ClassVar[bool] = True  # ... and saves them with its checkpoints
    acknowledges: ClassVar[bool] = True  # its checkpoints are acknowledged (not the feed's: it is acknowledged)

    def __init__(self, name: str, config: PeperConfig, endpoints: Endpoints, args: argparse.Namespace):
        self.name = name
        self.config = config
        self.endpoints = endpoints
        self.args = args
        self.log = logging.getLogger(name)
        self.topology = topology_of(config)
        self.replay = config.feed.mode == "replay"
        self.lifecycle = Lifecycle()
        self.counters = self.Counters()
        self.tracker = SequenceTracker()
        self.msgs_in = self.msgs_out = self.malformed = self.resent_frames = 0
        self.restarts = restarts_from_environment()
        self.run_id = int(os.environ.get(RUN_ID_ENV, "0"))
        started = time.time_ns()
        self.lineage = Lineage(process_epoch=started, data_epoch=started)
        self.outbox = Outbox(self.topology.ackers, name) if self.keeps_outbox and self.replay else None
        self.stores = ActorStores(config.database)
        self.recovery = Recovery(
            name=name,
            run_id=self.run_id,
            restarts=self.restarts,
            replay=self.replay,
            acknowledges=self.acknowledges,
            stores=self.stores,
            lineage=self.lineage,
            tracker=self.tracker,
            outbox=self.outbox,
            durable_outbox=self.durable_outbox,
            publish=self.publish,
            resend=self.resend,
            spawn=self.spawn,
            log=self.log,
        )
        self._codec = Codec()
        self._handlers = handlers_of(self)
        self._frame_hook = getattr(self, "on_frame", None)  # (topic, message, frame): every frame taken
        self._drained_hook = getattr(self, "on_drained", None)  # (): the socket is empty for now
        self._tasks = Tasks(name)
        self._stopping: asyncio.Event | None = None
        self._hello_seen: asyncio.Event | None = None
        self._route_proven = False  # until the own hello came back, lifecycle events wait
        self._held_events: list[LifecycleEvent] = []

    # ----- hooks for subclasses -------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add the actor's own command-line options."""

    async def on_start(self) -> None:
        """Set up state and open resources; runs before any message is handled."""

    async def on_running(self) -> None:
        """Start producing: the route through the broker is proven and the supervisor told.

        Publish from here (or from tasks spawned here), not from `on_start`: until the actor's
        own hello came back, its PUB socket may not know every subscriber yet and drops frames.
        """

    async def on_stop(self) -> None:
        """Release resources; runs on an orderly stop."""

    # ----- publishing -----------------------------------------------------------------------
    def publish(self, topic: str, message: BusMessage, position: int | None = None) -> bytes:
        """Stamp `seq`, `src`, `epoch`, `ts_sent`, send one frame (PUB never blocks), return it.

        `position`: the feed chunk (its last bar time) a data frame belongs to; with an outbox,
        the frame is kept until every acknowledger has acknowledged that position."""
        seq, epoch = self.lineage.stamp(topic)
        stamped = msgspec.structs.replace(message, seq=seq, src=self.name, ts_sent=time.time_ns(), epoch=epoch)
        frame = self._codec.encode(topic, stamped)
        self._sockets.send(frame)
        self.msgs_out += 1
        if self.outbox is not None and position is not None and topics.is_data(topic):
            self.outbox.keep(position, frame)
        return frame

    def resend(self, frame: bytes) -> None:
        """Send a frame this actor published before, byte for byte (its receivers drop duplicates)."""
        self._sockets.send(frame)
        self.msgs_out += 1
        self.resent_frames += 1

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run background work whose failure fails the actor."""
        return self._tasks.spawn(coroutine, name)

    def finish(self) -> None:
        """The actor's job is done: stop in order and exit 0."""
        self.log.info("finished")
        self._request_stop()

    def sequence_of(self, topic: str) -> int:
        """The seq of the last message this actor published on `topic` (0 if none)."""
        return self.lineage.seqs.get(topic, 0)

    # ----- lifecycle ------------------------------------------------------------------------
    async def run(self) -> int:
        self._stopping = asyncio.Event()
        self._hello_seen = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._request_stop)
        subscriptions = (
            *self.subscriptions,
            topics.hello(self.name),
            *((topics.ACK_PREFIX, topics.RESYNC) if self.outbox is not None else ()),
        )
        self._sockets = BusSockets(
            self.endpoints, self.config.bus, tuple(dict.fromkeys(subscriptions)), self.side_subscriptions
        )
        try:
            self._transition("starting")
            await self.on_start()
            receiver = self.spawn(receive_loop(self._sockets.subscriber, self._dispatch, self._drained_hook), "receive")
            if self._sockets.side is not None:
                self.spawn(receive_loop(self._sockets.side, self._dispatch, None), "receive-side")
            await self._await_own_hello(receiver)
            self.spawn(
                heartbeat_loop(self._sockets.control, self.config.supervisor.heartbeat_interval_s, self._beat),
                "heartbeat",
            )
            await self._sockets.control.send(CONTROL_ENCODER.encode(Ready(actor=self.name, pid=os.getpid())))
            self._transition("running")
            await self.on_running()
            await self._tasks.wait(self._stopping)
            self._transition("stopping")
            await self._tasks.cancel()
            await self.on_stop()
            self._transition("stopped")
            await self._sockets.control.send(CONTROL_ENCODER.encode(self._beat()))  # the final counts
            return 0
        except Exception as exc:
            self._report_fault(exc)
            raise
        finally:
            await self._tasks.cancel()  # before the sockets close: a task still draining one would fail on it
            self._sockets.close()
            self.stores.close()

    def _beat(self) -> Heartbeat:
        return Heartbeat(
            actor=self.name,
            pid=os.getpid(),
            state=self.lifecycle.state,
            msgs_in=self.msgs_in,
            msgs_out=self.msgs_out,
            malformed=self.malformed,
            seq_gaps=self.tracker.gaps,
            duplicates=self.tracker.duplicates,
            counters=self.counters,
        )

    def _request_stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()

    def _transition(self, state: LifecycleState, detail: str = "") -> None:
        self.lifecycle.move(state)
        event = LifecycleEvent(actor=self.name, state=state, pid=os.getpid(), detail=detail)
        if self._route_proven:
            self.publish(topics.LIFECYCLE, event)
        else:
            self._held_events.append(event)

    def _report_fault(self, exc: BaseException) -> None:
        detail = f"{type(exc).__name__}: {exc}"
        try:
            self.lifecycle.state = "faulted"
            self.publish(topics.ERROR, ErrorEvent(actor=self.name, kind="fault", detail=detail))
            self.publish(
                topics.LIFECYCLE, LifecycleEvent(actor=self.name, state="faulted", pid=os.getpid(), detail=detail)
            )
        except (zmq.ZMQError, AttributeError):
            pass

    async def _await_own_hello(self, receiver: asyncio.Task[None]) -> None:
        hello = Hello(actor=self.name)
        await prove_route(
            lambda: self.publish(topics.hello(self.name), hello),
            self._hello_seen,
            receiver,
            self.config.supervisor.startup_timeout_s,
            self.endpoints.subscribe,
        )
        self._route_proven = True
        for event in self._held_events:
            self.publish(topics.LIFECYCLE, event)
        self._held_events.clear()
        self.recovery.resend_kept()  # what a restart's checkpoint kept, before anything new

    # ----- receiving ------------------------------------------------------------------------
    def _dispatch(self, frame: bytes) -> Awaitable[None] | None:
        try:
            topic, message = self._codec.decode(frame)
        except MalformedFrame as exc:
            self._count_malformed(str(exc))
            return None
        kind = type(message)
        if kind is Hello:
            if message.actor == self.name:
                self._hello_seen.set()
            return None
        if kind is Resync and message.acker == self.name and self.tracker.open(message.src):
            self.log.info("%s re-sends %d frames after %d", message.src, message.frames, message.upto)
        verdict = self.tracker.check(message.src, topic, message.epoch, message.seq, topics.is_data(topic))
        if verdict is not ACCEPT or (message.src == self.topology.feed and self.recovery.handled(message.ts_event)):
            if verdict is not GATED and kind is Clock:  # had already (a restarted feed resumes behind us)
                self.recovery.repeat_ack()
            return None
        self.msgs_in += 1
        if kind is Ack and self.outbox is not None and message.src != self.name:
            self.recovery.answer_ack(topic, message)
        if self._frame_hook is not None:
            self._frame_hook(topic, message, frame)
        handler = self._handlers.get(kind)
        if handler is None:
            return None
        return handler(topic, message)

    def _count_malformed(self, reason: str) -> None:
        self.malformed += 1
        if self.malformed <= 10 or self.malformed % _LOG_EVERY == 0:
            self.log.warning("dropped malformed frame #%d: %s", self.malformed, reason)
            self.publish(
                topics.ERROR, ErrorEvent(actor=self.name, kind="malformed", detail=reason, count=self.malformed)
            )
